#pragma once
// The kernel generated from a model's step function alone: multi-step forward over [T][N]
// and BPTT backward. Each SIMD batch of elements keeps its state in registers across all T
// steps (one pass forward, one reverse pass backward). The backward re-runs every step on
// dual numbers seeded with one tangent per state variable, the input and (when parameter
// gradients are wanted) each parameter, which yields the step's local Jacobian, and
// accumulates the adjoints from t = T-1 down to 0.
#include <algorithm>
#include <array>
#include <cstddef>
#include <vector>

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/partitioner.h>

#include "spinfire/config.hpp"
#include "spinfire/core/dual.hpp"
#include "spinfire/core/simd.hpp"
#include "spinfire/neuron/model.hpp"

namespace spinfire::neuron {

namespace detail {

/// Elements per TBB task. Fixed (not derived from the thread count) so that every reduction
/// is summed in the same order whatever the number of threads.
inline constexpr std::size_t chunk_elements = SPINFIRE_GRAIN;

inline std::size_t chunk_count(std::size_t n) { return (n + chunk_elements - 1) / chunk_elements; }

/// Runs f(begin, end, chunk) over fixed chunks of [0, n), in parallel when there are several.
template <class F>
void for_chunks(std::size_t n, F&& f) {
    const std::size_t chunks = chunk_count(n);
    if (chunks <= 1) {
        if (n) f(std::size_t(0), n, std::size_t(0));
        return;
    }
    oneapi::tbb::parallel_for(
        oneapi::tbb::blocked_range<std::size_t>(0, chunks, 1),
        [&](const oneapi::tbb::blocked_range<std::size_t>& r) {
            for (std::size_t c = r.begin(); c != r.end(); ++c)
                f(c * chunk_elements, std::min(n, (c + 1) * chunk_elements), c);
        },
        oneapi::tbb::simple_partitioner());
}

/// Runs body.template run<V>(i) over [begin, end): SIMD batches, then a scalar tail.
template <class S, class Body>
SPINFIRE_INLINE void for_lanes(std::size_t begin, std::size_t end, Body& body) {
    using B = simd::batch<S>;
    constexpr std::size_t L = B::size;
    std::size_t i = begin;
    for (; i + L <= end; i += L) body.template run<B>(i);
    for (; i < end; ++i) body.template run<S>(i);
}

/// Per-chunk partial sums of the parameter gradients, added in chunk order at the end.
template <std::size_t P>
struct param_partials {
    std::vector<std::array<double, P>> sums;
    explicit param_partials(std::size_t chunks) : sums(chunks) {
        for (auto& s : sums) s.fill(0.0);
    }
    template <class V>
    SPINFIRE_INLINE void add(std::size_t chunk, std::size_t j, const V& v) {
        if constexpr (simd::is_batch_v<V>)
            sums[chunk][j] += double(xsimd::hadd(v));
        else
            sums[chunk][j] += double(v);
    }
    std::array<double, P> total() const {
        std::array<double, P> t{};
        for (const auto& s : sums)
            for (std::size_t j = 0; j < P; ++j) t[j] += s[j];
        return t;
    }
};

} // namespace detail

template <neuron_model Model, class S = float>
struct generated_kernel {
    using params_type = params_t<Model, S>;
    static constexpr std::size_t n_state = state_count<Model>;
    static constexpr std::size_t n_params = param_count<Model>;
    /// Saved per element and step: the state before the step, then the input.
    static constexpr std::size_t saved_per_step = n_state + 1;

    static void forward(const params_type& p, std::size_t T, std::size_t N, const S* x,
                        S* spikes, S* saved) {
        validate_params<Model, S>(p);
        if (saved)
            run_forward<true>(p, T, N, x, spikes, saved);
        else
            run_forward<false>(p, T, N, x, spikes, saved);
    }

    static void backward(const params_type& p, std::size_t T, std::size_t N, const S* saved,
                         const S* grad_spikes, S* grad_x, params_type* grad_p) {
        if (grad_p)
            run_backward<true>(p, T, N, saved, grad_spikes, grad_x, grad_p);
        else
            run_backward<false>(p, T, N, saved, grad_spikes, grad_x, grad_p);
    }

private:
    using B = simd::batch<S>;

    template <bool Save>
    struct forward_body {
        const params_t<Model, B>& pb;
        const params_type& ps;
        std::size_t T, N;
        const S* x;
        S* spikes;
        S* saved;

        template <class V>
        SPINFIRE_INLINE void run(std::size_t i) const {
            const params_t<Model, V>& p = [&]() -> const params_t<Model, V>& {
                if constexpr (simd::is_batch_v<V>)
                    return pb;
                else
                    return ps;
            }();
            auto st = zero_state<Model, V>();
            for (std::size_t t = 0; t < T; ++t) {
                const V xv = simd::load<V>(x + t * N + i);
                if constexpr (Save) {
                    detail::for_each_field_indexed(st, [&](std::size_t k, const V& f) {
                        simd::store(saved + (k * T + t) * N + i, f);
                    });
                    simd::store(saved + (n_state * T + t) * N + i, xv);
                }
                simd::store(spikes + t * N + i, V(Model::step(p, st, xv)));
            }
        }
    };

    template <bool Save>
    static void run_forward(const params_type& p, std::size_t T, std::size_t N, const S* x,
                            S* spikes, S* saved) {
        params_t<Model, B> pb;
        const auto pa = to_array<S>(p);
        fill_fields(pb, [&](std::size_t j) { return B(pa[j]); });
        const forward_body<Save> body{pb, p, T, N, x, spikes, saved};
        detail::for_chunks(N, [&](std::size_t b, std::size_t e, std::size_t) {
            detail::for_lanes<S>(b, e, body);
        });
    }

    template <bool WithP>
    struct backward_body {
        static constexpr std::size_t n_tangents = n_state + 1 + (WithP ? n_params : 0);
        std::array<S, n_params> pa;
        std::size_t T, N;
        const S* saved;
        const S* grad_spikes;
        S* grad_x;
        detail::param_partials<n_params>* partials;
        std::size_t chunk;

        template <class V>
        SPINFIRE_INLINE void run(std::size_t i) {
            using D = dual<V, n_tangents>;
            params_t<Model, D> pd;
            fill_fields(pd, [&](std::size_t j) {
                if constexpr (WithP)
                    return D::variable(V(pa[j]), n_state + 1 + j);
                else
                    return D(V(pa[j]));
            });
            std::array<V, n_state> adj;   // adjoint of the state after step t
            adj.fill(V(0));
            std::array<V, n_params> gp;   // this element's parameter gradients
            gp.fill(V(0));
            for (std::size_t t = T; t-- > 0;) {
                state_t<Model, D> sd;
                fill_fields(sd, [&](std::size_t k) {
                    return D::variable(simd::load<V>(saved + (k * T + t) * N + i), k);
                });
                const D xd = D::variable(simd::load<V>(saved + (n_state * T + t) * N + i), n_state);
                const D spk = Model::step(pd, sd, xd);
                const V g = simd::load<V>(grad_spikes + t * N + i);
                // c = d(g * S_t + adj . state_t) / d(state_{t-1}, x_t, params)
                std::array<V, n_tangents> c;
                for (std::size_t m = 0; m < n_tangents; ++m) c[m] = g * spk.d[m];
                detail::for_each_field_indexed(sd, [&](std::size_t k, const D& f) {
                    for (std::size_t m = 0; m < n_tangents; ++m) c[m] = c[m] + adj[k] * f.d[m];
                });
                for (std::size_t k = 0; k < n_state; ++k) adj[k] = c[k];
                simd::store(grad_x + t * N + i, c[n_state]);
                if constexpr (WithP)
                    for (std::size_t j = 0; j < n_params; ++j) gp[j] = gp[j] + c[n_state + 1 + j];
            }
            if constexpr (WithP)
                for (std::size_t j = 0; j < n_params; ++j) partials->add(chunk, j, gp[j]);
        }
    };

    template <bool WithP>
    static void run_backward(const params_type& p, std::size_t T, std::size_t N, const S* saved,
                             const S* grad_spikes, S* grad_x, params_type* grad_p) {
        detail::param_partials<n_params> partials(WithP ? detail::chunk_count(N) : 0);
        const auto pa = to_array<S>(p);
        detail::for_chunks(N, [&](std::size_t b, std::size_t e, std::size_t c) {
            backward_body<WithP> body{pa, T, N, saved, grad_spikes, grad_x, &partials, c};
            detail::for_lanes<S>(b, e, body);
        });
        if constexpr (WithP) {
            const auto tot = partials.total();
            fill_fields(*grad_p, [&, old = to_array<double>(*grad_p)](std::size_t j) {
                return S(old[j] + tot[j]);
            });
        }
    }
};

} // namespace spinfire::neuron
