#pragma once
// The ideal signed LIF neuron (docs: snn.md section 1), soft reset:
//   H[t] = beta V[t-1] + X[t]
//   S[t] = +1 if H[t] >= theta, -1 if H[t] <= -theta, else 0
//   V[t] = H[t] - theta S[t]
// Defaults (the benchmark neuron of VGG-s): beta 0.5, theta 1, triangle surrogate of width
// theta around both thresholds, gradient kept through the reset (as the torch reference);
// DetachReset = true stops it. A hand-written fused kernel (saving only H[t]) replaces the
// generated one; the tests check the two agree.
#include <cstddef>
#include <cstdint>

#include "spinfire/core/error.hpp"
#include "spinfire/neuron/fire.hpp"
#include "spinfire/neuron/generated.hpp"
#include "spinfire/neuron/model.hpp"
#include "spinfire/neuron/surrogate.hpp"

namespace spinfire::neuron {

template <class Surrogate = triangle, bool DetachReset = false>
struct basic_signed_lif {
    using surrogate = Surrogate;
    static constexpr bool detach_reset = DetachReset;

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
        require_finite("signed_lif.beta", p.beta);
        if (!(p.beta >= 0 && p.beta <= 1))
            throw parameter_error("signed_lif.beta", "must be in [0, 1], got " + spinfire::detail::num(p.beta));
        require_positive("signed_lif.theta", p.theta);
    }

    template <class T>
    static SPINFIRE_INLINE T step(const params<T>& p, state<T>& s, const T& x) {
        const T h = p.beta * s.v + x;
        const T spike = signed_fire(h, p.theta, p.theta, Surrogate{});
        s.v = h - p.theta * reset_spike<DetachReset>(spike);
        return spike;
    }

    template <class S>
    struct fused_kernel;
};

/// Hand-written kernel: saves H[t] only and recomputes V[t-1] and S[t] from it.
template <class Surrogate, bool DetachReset>
template <class S>
struct basic_signed_lif<Surrogate, DetachReset>::fused_kernel {
    using model = basic_signed_lif<Surrogate, DetachReset>;
    using params_type = params<S>;
    static constexpr std::size_t saved_per_step = 1;

    static void forward(const params_type& p, std::size_t T, std::size_t N, const S* x,
                        S* spikes, S* saved) {
        forward_as(p, T, N, x, N, spikes, saved);
    }
    /// Spikes stored as int8 (a quarter of the memory traffic; exact).
    static void forward(const params_type& p, std::size_t T, std::size_t N, const S* x,
                        std::int8_t* spikes, S* saved) {
        forward_as(p, T, N, x, N, spikes, saved);
    }
    /// Direct encoding: the same input x [N] at every step, without T copies of it.
    static void forward_broadcast(const params_type& p, std::size_t T, std::size_t N,
                                  const S* x, S* spikes, S* saved) {
        forward_as(p, T, N, x, 0, spikes, saved);
    }

    static void backward(const params_type& p, std::size_t T, std::size_t N, const S* saved,
                         const S* grad_spikes, S* grad_x, params_type* grad_p) {
        backward_as<false>(p, T, N, saved, grad_spikes, grad_x, grad_p);
    }
    /// Backward of forward_broadcast: grad_x [N] (overwritten) = sum over t of dL/dx[t].
    static void backward_broadcast(const params_type& p, std::size_t T, std::size_t N,
                                   const S* saved, const S* grad_spikes, S* grad_x,
                                   params_type* grad_p) {
        backward_as<true>(p, T, N, saved, grad_spikes, grad_x, grad_p);
    }

private:
    template <bool Sum>
    static void backward_as(const params_type& p, std::size_t T, std::size_t N, const S* saved,
                            const S* grad_spikes, S* grad_x, params_type* grad_p) {
        if (grad_p) {
            detail::param_partials<2> partials(detail::chunk_count(N));
            detail::for_chunks(N, [&](std::size_t b, std::size_t e, std::size_t c) {
                backward_body<true, Sum> body{p, T, N, saved, grad_spikes, grad_x, &partials, c};
                detail::for_lanes<S>(b, e, body);
            });
            const auto tot = partials.total();
            grad_p->beta = S(double(grad_p->beta) + tot[0]);
            grad_p->theta = S(double(grad_p->theta) + tot[1]);
        } else {
            detail::for_chunks(N, [&](std::size_t b, std::size_t e, std::size_t) {
                backward_body<false, Sum> body{p, T, N, saved, grad_spikes, grad_x, nullptr, 0};
                detail::for_lanes<S>(b, e, body);
            });
        }
    }

    template <class Out>
    static void forward_as(const params_type& p, std::size_t T, std::size_t N, const S* x,
                           std::size_t x_stride, Out* spikes, S* saved) {
        validate_params<model, S>(p);
        if (saved)
            detail::for_chunks(N, [&](std::size_t b, std::size_t e, std::size_t) {
                const forward_body<true, Out> body{p, T, N, x, x_stride, spikes, saved};
                detail::for_lanes<S>(b, e, body);
            });
        else
            detail::for_chunks(N, [&](std::size_t b, std::size_t e, std::size_t) {
                const forward_body<false, Out> body{p, T, N, x, x_stride, spikes, saved};
                detail::for_lanes<S>(b, e, body);
            });
    }

    template <class V>
    static SPINFIRE_INLINE V spike_of(const V& h, const V& theta) {
        return signed_fire(h, theta, theta, Surrogate{});
    }

    template <bool Save, class Out>
    struct forward_body {
        const params_type& p;
        std::size_t T, N;
        const S* x;
        std::size_t x_stride; // N, or 0 for one input repeated at every step
        Out* spikes;
        S* saved;
        template <class V>
        SPINFIRE_INLINE void run(std::size_t i) const {
            const V beta(p.beta), theta(p.theta);
            V v(S(0));
            for (std::size_t t = 0; t < T; ++t) {
                const V h = beta * v + simd::load<V>(x + t * x_stride + i);
                const V s = spike_of(h, theta);
                v = h - theta * s;
                detail::store_spikes(spikes + t * N + i, s);
                if constexpr (Save) simd::store(saved + t * N + i, h);
            }
        }
    };

    template <bool WithP, bool Sum>
    struct backward_body {
        const params_type& p;
        std::size_t T, N;
        const S* saved;
        const S* grad_spikes;
        S* grad_x;
        detail::param_partials<2>* partials;
        std::size_t chunk;
        template <class V>
        SPINFIRE_INLINE void run(std::size_t i) {
            const V beta(p.beta), theta(p.theta);
            const V iw = detail::surrogate_inv_width<Surrogate>(theta);
            V adj(S(0));                 // adjoint of V[t]
            V g_beta(S(0)), g_theta(S(0));
            // H[t] and S[t] of the current step; with parameter gradients H[t-1] is loaded
            // one step ahead (V[t-1] feeds dL/dbeta) and handed down, so each H is read once.
            V h = simd::load<V>(saved + (T - 1) * N + i);
            V s = WithP ? spike_of(h, theta) : V(S(0));
            V sum_x(S(0)); // sum over t of dL/dx[t] (broadcast input)
            for (std::size_t t = T; t-- > 0;) {
                const V g = simd::load<V>(grad_spikes + t * N + i);
                const V g_pos = Surrogate::grad(h - theta, iw);
                const V g_neg = Surrogate::grad(-h - theta, iw);
                const V ds_dh = g_pos + g_neg;
                const V dv_dh = DetachReset ? V(S(1)) : V(S(1)) - theta * ds_dh;
                const V adj_h = g * ds_dh + adj * dv_dh;
                if constexpr (Sum)
                    sum_x = sum_x + adj_h;
                else
                    simd::store(grad_x + t * N + i, adj_h);
                if constexpr (WithP) {
                    V h_prev(S(0)), s_prev(S(0));
                    if (t > 0) {
                        h_prev = simd::load<V>(saved + (t - 1) * N + i);
                        s_prev = spike_of(h_prev, theta);
                    }
                    g_beta = g_beta + adj_h * (h_prev - theta * s_prev);
                    const V ds_dth = g_neg - g_pos;
                    V dv_dth = -s;
                    if constexpr (!DetachReset) dv_dth = dv_dth - theta * ds_dth;
                    g_theta = g_theta + g * ds_dth + adj * dv_dth;
                    h = h_prev;
                    s = s_prev;
                } else if (t > 0) {
                    h = simd::load<V>(saved + (t - 1) * N + i);
                }
                adj = adj_h * beta;
            }
            if constexpr (Sum) simd::store(grad_x + i, sum_x);
            if constexpr (WithP) {
                partials->add(chunk, 0, g_beta);
                partials->add(chunk, 1, g_theta);
            }
        }
    };
};

/// The benchmark neuron: triangle surrogate, gradient through the reset kept.
using signed_lif = basic_signed_lif<>;
/// The same with the reset detached from the gradient.
using signed_lif_detached = basic_signed_lif<triangle, true>;

} // namespace spinfire::neuron
