#pragma once
// Parametric LIF (Fang et al., ICCV 2021): the time constant is learned through
// k = 1 / tau = sigmoid(a), so it stays in (0, 1) whatever gradient step a takes:
//   H[t] = V[t-1] + k (X[t] - V[t-1]),  S[t] = [H[t] >= theta],  V[t] = H[t] (1 - S[t]).
// Default a = 0 (tau = 2), theta = 1, hard reset to 0 as in SpikingJelly.
#include "spinfire/core/error.hpp"
#include "spinfire/neuron/fire.hpp"
#include "spinfire/neuron/model.hpp"
#include "spinfire/neuron/surrogate.hpp"

namespace spinfire::neuron {

template <class Surrogate = atan, bool DetachReset = false>
struct basic_plif {
    template <class T>
    struct params {
        BOOST_HANA_DEFINE_STRUCT(params, (T, a), (T, theta)); // a: logit of 1/tau
    };
    template <class T>
    struct state {
        BOOST_HANA_DEFINE_STRUCT(state, (T, v));
    };
    template <class T>
    static params<T> defaults() {
        return {T(0), T(1)};
    }
    static void validate(const params<double>& p) {
        require_finite("plif.a", p.a);
        require_positive("plif.theta", p.theta);
    }
    template <class T>
    static SPINFIRE_INLINE T step(const params<T>& p, state<T>& s, const T& x) {
        const T k = T(1) / (T(1) + math::exp(-p.a));
        const T h = s.v + k * (x - s.v);
        const T spike = fire(h, p.theta, Surrogate{});
        s.v = h * (T(1) - reset_spike<DetachReset>(spike));
        return spike;
    }
};

using plif = basic_plif<>;

} // namespace spinfire::neuron
