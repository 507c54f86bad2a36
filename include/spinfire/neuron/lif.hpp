#pragma once
// Leaky integrate-and-fire with 0/1 spikes:
//   H[t] = beta V[t-1] + X[t],  S[t] = [H[t] >= theta],
//   soft reset V[t] = H[t] - theta S[t]   or   hard reset V[t] = H[t] (1 - S[t])  (to 0).
#include "spinfire/core/error.hpp"
#include "spinfire/neuron/fire.hpp"
#include "spinfire/neuron/model.hpp"
#include "spinfire/neuron/surrogate.hpp"

namespace spinfire::neuron {

enum class reset_mode { soft, hard };

template <class Surrogate = triangle, reset_mode Reset = reset_mode::soft, bool DetachReset = false>
struct basic_lif {
    template <class T>
    struct params {
        BOOST_HANA_DEFINE_STRUCT(params, (T, beta), (T, theta));
    };
    template <class T>
    struct state {
        BOOST_HANA_DEFINE_STRUCT(state, (T, v));
    };
    template <class T>
    static params<T> defaults() {
        return {T(0.5), T(1)};
    }
    static void validate(const params<double>& p) {
        require_finite("lif.beta", p.beta);
        if (!(p.beta >= 0 && p.beta <= 1)) throw parameter_error("lif.beta", "must be in [0, 1]");
        require_positive("lif.theta", p.theta);
    }
    template <class T>
    static SPINFIRE_INLINE T step(const params<T>& p, state<T>& s, const T& x) {
        const T h = p.beta * s.v + x;
        const T spike = fire(h, p.theta, Surrogate{});
        const T r = reset_spike<DetachReset>(spike);
        if constexpr (Reset == reset_mode::soft)
            s.v = h - p.theta * r;
        else
            s.v = h * (T(1) - r);
        return spike;
    }
};

using lif = basic_lif<>;

} // namespace spinfire::neuron
