#pragma once
// Signed LIF with parameters fitted to an MTJ device (fit/fitted_model.hpp gives these
// equations; fit/fitted_neuron.hpp reads the file: from_fit<T>(fit::load_fitted_neuron(f))):
//   H[t] = beta V[t-1] + gain X[t];  if v_sat > 0: H[t] = v_sat tanh(H[t] / v_sat)
//   S[t] = +1 if H[t] + r z >= theta_pos, -1 if H[t] + r z <= -theta_neg, else 0
//   soft: V[t] = H[t] - theta_pos [S = +1] + theta_neg [S = -1]
//   hard: V[t] = v_reset where S != 0, else H[t]
// r z is read noise (r = read_noise, z ~ N(0, 1) from Philox (seed, element, step); z = 0
// unless population_options::noise is set): it perturbs the read-out that decides a spike,
// not the stored membrane. Device-to-device variability: sample_neurons() draws per-neuron
// parameters once from (seed, neuron index), for population_options::per_neuron.
// hard_reset and v_sat are parameters like the others (1/0 flag; 0 = no saturation); their
// gradients are computed but meaningless, so an optimizer should leave them alone.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "spinfire/core/error.hpp"
#include "spinfire/core/philox.hpp"
#include "spinfire/fit/fitted_model.hpp"
#include "spinfire/neuron/fire.hpp"
#include "spinfire/neuron/model.hpp"
#include "spinfire/neuron/surrogate.hpp"

namespace spinfire::neuron {

template <class Surrogate = triangle, bool DetachReset = false>
struct basic_mtj_signed_lif {
    template <class T>
    struct params {
        BOOST_HANA_DEFINE_STRUCT(params, (T, beta), (T, gain), (T, theta_pos), (T, theta_neg),
                                 (T, v_reset), (T, v_sat), (T, hard_reset), (T, read_noise));
    };
    template <class T>
    struct state {
        BOOST_HANA_DEFINE_STRUCT(state, (T, v));
    };
    /// The ideal neuron (beta 0.5, unit gain and thresholds, soft reset, no saturation/noise).
    template <class T>
    static params<T> defaults() {
        return {T(0.5), T(1), T(1), T(1), T(0), T(0), T(0), T(0)};
    }
    static void validate(const params<double>& p) {
        fit::validate(fit::signed_lif_params{p.beta, p.gain, p.theta_pos, p.theta_neg, p.v_reset,
                                             p.v_sat, p.hard_reset != 0});
        if (!(p.hard_reset == 0 || p.hard_reset == 1))
            throw parameter_error("model.hard_reset", "must be 0 or 1");
        require_non_negative("spread.read_noise", p.read_noise);
    }

    template <class T>
    static SPINFIRE_INLINE T step(const params<T>& p, state<T>& s, const T& x, const T& z) {
        T h = p.beta * s.v + p.gain * x;
        const auto saturate = p.v_sat > T(0);
        if (simd::any(saturate)) { // tanh is costly: skip it when no lane saturates
            const T vs = math::select(saturate, p.v_sat, T(1)); // safe divisor where unused
            h = math::select(saturate, vs * math::tanh(h / vs), h);
        }
        const T read = h + p.read_noise * z;
        const T pos = fire(read, p.theta_pos, Surrogate{});
        const T neg = fire(-read, p.theta_neg, Surrogate{});
        const T rp = reset_spike<DetachReset>(pos), rn = reset_spike<DetachReset>(neg);
        const T soft = h - p.theta_pos * rp + p.theta_neg * rn;
        const T fired = rp + rn;
        const T hard = h * (T(1) - fired) + p.v_reset * fired;
        s.v = math::select(p.hard_reset > T(0.5), hard, soft);
        return pos - neg;
    }
    template <class T>
    static SPINFIRE_INLINE T step(const params<T>& p, state<T>& s, const T& x) {
        return step(p, s, x, T(0));
    }

    /// Parameters of the fitted model (read_noise from the file's spread).
    template <class T>
    static params<T> from_fit(const fit::fitted_model& f) {
        const auto& m = f.model;
        return {T(m.beta),    T(m.gain),  T(m.theta_pos),          T(m.theta_neg),
                T(m.v_reset), T(m.v_sat), T(m.hard_reset ? 1 : 0), T(f.spread.read_noise)};
    }

    /// Per-neuron parameters with device-to-device spread: neuron n multiplies beta, gain and
    /// the thresholds by (1 + rel_sd z) with z ~ N(0, 1) from Philox (seed, stream n), so a
    /// neuron keeps its parameters whatever the batch, thread count or call order. beta is
    /// clipped into (0, 1] and thresholds kept positive (a draw past them is not a device).
    template <class T>
    static std::vector<params<T>> sample_neurons(const fit::fitted_model& f, std::size_t neurons,
                                                 std::uint64_t seed) {
        const auto nominal = from_fit<double>(f);
        const auto& sp = f.spread;
        std::vector<params<T>> out(neurons);
        for (std::size_t n = 0; n < neurons; ++n) {
            const auto z = rng::normal4<double>(seed, n, 0);
            auto q = nominal;
            q.beta = std::min(1.0, std::max(1e-6, q.beta * (1 + sp.beta_rel * z[0])));
            q.gain *= 1 + sp.gain_rel * z[1];
            q.theta_pos =
                std::max(1e-6 * nominal.theta_pos, q.theta_pos * (1 + sp.theta_pos_rel * z[2]));
            q.theta_neg =
                std::max(1e-6 * nominal.theta_neg, q.theta_neg * (1 + sp.theta_neg_rel * z[3]));
            out[n] = {T(q.beta),    T(q.gain),  T(q.theta_pos),  T(q.theta_neg),
                      T(q.v_reset), T(q.v_sat), T(q.hard_reset), T(q.read_noise)};
        }
        return out;
    }
};

using mtj_signed_lif = basic_mtj_signed_lif<>;

} // namespace spinfire::neuron
