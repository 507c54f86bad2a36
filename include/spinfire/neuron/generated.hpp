#pragma once
// The kernel generated from a model's step function alone: multi-step forward over [T][N]
// and BPTT backward. Each SIMD batch of elements keeps its state in registers across all T
// steps (one pass forward, one reverse pass backward). The backward re-runs every step on
// dual numbers seeded with one tangent per state variable, the input and (when parameter
// gradients are wanted) each parameter, which yields the step's local Jacobian, and
// accumulates the adjoints from t = T-1 down to 0.
//
// Raw-pointer entry points are the unchecked fast path; the std::span overloads check every
// size against T, N and saved_per_step and throw parameter_error naming the argument.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "spinfire/core/intrinsics.hpp" // first: TBB includes <immintrin.h> as well
#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/partitioner.h>

#include "spinfire/config.hpp"
#include "spinfire/core/aligned.hpp"
#include "spinfire/core/dual.hpp"
#include "spinfire/core/error.hpp"
#include "spinfire/core/philox.hpp"
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

/// Runs body.template run<V>(i) over [begin, end): SIMD batches, then a scalar tail. One call
/// per chunk, flattened so that the model's step is inlined into the per-lane loop however
/// it is declared.
template <class S, class Body>
SPINFIRE_FLATTEN void for_lanes(std::size_t begin, std::size_t end, Body& body) {
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

/// Stores spikes as S or, for compact storage, as int8 (-1/0/+1 are exact).
template <class Out, class V>
SPINFIRE_INLINE void store_spikes(Out* p, const V& s) {
    using S = simd::scalar_of_t<V>;
    if constexpr (std::is_same_v<Out, S>) {
        simd::store(p, s);
#if defined(__AVX2__)
    } else if constexpr (std::is_same_v<Out, std::int8_t> && std::is_same_v<S, float> &&
                         simd::lanes_v<V> == 8) {
        // 8 floats -> 8 int8 with two saturating packs (xsimd 8 has no narrowing store).
        const __m256i i32 = _mm256_cvtps_epi32(s);
        const __m128i i16 =
            _mm_packs_epi32(_mm256_castsi256_si128(i32), _mm256_extracti128_si256(i32, 1));
        _mm_storel_epi64(reinterpret_cast<__m128i*>(p), _mm_packs_epi16(i16, i16));
#endif
    } else {
        alignas(SPINFIRE_ALIGNMENT) S buf[simd::lanes_v<V>];
        simd::store(buf, s);
        for (std::size_t l = 0; l < simd::lanes_v<V>; ++l) p[l] = Out(buf[l]);
    }
}

/// Throws parameter_error unless the span argument `name` has `want` elements (`what` says
/// how want is made of T and N).
inline void check_size(const char* name, std::size_t got, std::size_t want,
                       const std::string& what) {
    if (got != want)
        throw parameter_error(name, "has " + std::to_string(got) + " elements, expected " +
                                        std::to_string(want) + " (" + what + ")");
}

/// Sizes of the span overloads: x, spikes, grad_spikes, grad_x [T][N] (x and grad_x [N] for
/// a broadcast input), saved [per_step][T][N] (or empty: an inference forward).
inline void check_saved_size(std::size_t T, std::size_t N, std::size_t per_step,
                             std::size_t saved) {
    check_size("saved", saved, per_step * T * N,
               "saved_per_step*T*N, saved_per_step = " + std::to_string(per_step));
}
inline void check_forward_sizes(std::size_t T, std::size_t N, std::size_t per_step, std::size_t x,
                                bool broadcast, std::size_t spikes, std::size_t saved) {
    check_size("x", x, broadcast ? N : T * N, broadcast ? "N" : "T*N");
    check_size("spikes", spikes, T * N, "T*N");
    if (saved != 0) check_saved_size(T, N, per_step, saved);
}
inline void check_backward_sizes(std::size_t T, std::size_t N, std::size_t per_step,
                                 std::size_t saved, std::size_t grad_spikes, std::size_t grad_x,
                                 bool broadcast) {
    check_saved_size(T, N, per_step, saved);
    check_size("grad_spikes", grad_spikes, T * N, "T*N");
    check_size("grad_x", grad_x, broadcast ? N : T * N, broadcast ? "N" : "T*N");
}

/// Standard-normal read noise of element i at step t: Philox keyed by (seed, stream = element,
/// counter = batch counter * T + t). Drawn per lane with the scalar generator, so SIMD lanes,
/// the scalar tail and every thread count see the same numbers.
template <class V>
SPINFIRE_INLINE V read_noise(std::uint64_t seed, std::uint64_t counter, std::size_t T,
                             std::size_t t, std::size_t i) {
    using S = simd::scalar_of_t<V>;
    alignas(SPINFIRE_ALIGNMENT) S z[simd::lanes_v<V>];
    for (std::size_t l = 0; l < simd::lanes_v<V>; ++l)
        z[l] = rng::normal4<S>(seed, i + l, counter * T + t)[0];
    if constexpr (simd::is_batch_v<V>)
        return V::load_aligned(z);
    else
        return z[0];
}
} // namespace detail

/// How a backward pass writes the parameter gradients: added to *grad_p (the caller zeroes
/// it once and may sum several calls) or assigned (no zeroing needed).
enum class grad_mode { accumulate, assign };

/// What a generated training forward keeps for the backward pass:
///   save       every state variable before each step and the input (n_state + 1 per
///              element and step); backward reads them.
///   recompute  the input only (1 per element and step); backward first re-runs the T steps
///              of each SIMD batch on plain values into a small per-chunk buffer. One cheap
///              forward step more per element-step, n_state fewer floats written and read.
enum class state_storage { save, recompute };

/// recompute for models with two or more state variables (less memory traffic: see
/// docs/neuron-dsl.md, "Cost of a generated kernel"), save otherwise (nothing to gain).
template <class M>
inline constexpr state_storage default_state_storage =
    state_count<M> >= 2 ? state_storage::recompute : state_storage::save;

/// A model whose step also takes a standard-normal draw z (read noise):
///   template <class T> static T step(const params<T>&, state<T>&, const T& x, const T& z);
template <class M>
concept noisy_model = neuron_model<M> &&
    requires(const params_t<M, float>& p, state_t<M, float>& s, const float& x) {
    { M::step(p, s, x, x) } -> std::same_as<float>;
};

/// Optional inputs of a population kernel beyond the shared parameters.
template <neuron_model Model, class S = float>
struct population_options {
    /// Per-neuron parameters (device-to-device variability): element i of a step uses
    /// per_neuron[i % neurons]; neurons = elements of one sample (C*H*W). Null: shared params.
    const params_t<Model, S>* per_neuron = nullptr;
    std::size_t neurons = 0;
    /// Read noise for noisy models: z = N(0, 1) from Philox (seed, element, counter * T + t);
    /// without it z = 0. Backward redraws the same z from the same options.
    bool noise = false;
    std::uint64_t seed = 0;
    std::uint64_t counter = 0;
};

template <neuron_model Model, class S = float, state_storage Storage = default_state_storage<Model>>
struct generated_kernel {
    using params_type = params_t<Model, S>;
    using options_type = population_options<Model, S>;
    static constexpr std::size_t n_state = state_count<Model>;
    static constexpr std::size_t n_params = param_count<Model>;
    static constexpr state_storage storage = Storage;
    static constexpr bool recompute = Storage == state_storage::recompute;
    /// Saved per element and step, layout [saved_per_step][T][N]: save keeps the state before
    /// the step, then the input; recompute the input only.
    static constexpr std::size_t saved_per_step = recompute ? 1 : n_state + 1;

    static void forward(const params_type& p, std::size_t T, std::size_t N, const S* x, S* spikes,
                        S* saved) {
        forward(p, T, N, x, spikes, saved, options_type{});
    }
    static void forward(const params_type& p, std::size_t T, std::size_t N, const S* x, S* spikes,
                        S* saved, const options_type& opt) {
        forward_as(p, T, N, x, N, spikes, saved, opt);
    }
    /// Spikes stored as int8 (a quarter of the memory traffic; exact).
    static void forward(const params_type& p, std::size_t T, std::size_t N, const S* x,
                        std::int8_t* spikes, S* saved, const options_type& opt = {}) {
        forward_as(p, T, N, x, N, spikes, saved, opt);
    }
    /// Direct encoding: the same input x [N] at every step, without T copies of it.
    static void forward_broadcast(const params_type& p, std::size_t T, std::size_t N, const S* x,
                                  S* spikes, S* saved, const options_type& opt = {}) {
        forward_as(p, T, N, x, 0, spikes, saved, opt);
    }

    /// grad_x [T][N] is overwritten; the parameter gradients (summed over elements and steps)
    /// are added to *grad_p, or assigned with grad_mode::assign; grad_p null: none computed.
    static void backward(const params_type& p, std::size_t T, std::size_t N, const S* saved,
                         const S* grad_spikes, S* grad_x, params_type* grad_p,
                         grad_mode mode = grad_mode::accumulate) {
        backward(p, T, N, saved, grad_spikes, grad_x, grad_p, options_type{}, mode);
    }
    /// With per-neuron parameters, *grad_p receives the gradient summed over all neurons.
    static void backward(const params_type& p, std::size_t T, std::size_t N, const S* saved,
                         const S* grad_spikes, S* grad_x, params_type* grad_p,
                         const options_type& opt, grad_mode mode = grad_mode::accumulate) {
        if (grad_p)
            run_backward<true, false>(p, T, N, saved, grad_spikes, grad_x, grad_p, opt, mode);
        else
            run_backward<false, false>(p, T, N, saved, grad_spikes, grad_x, grad_p, opt, mode);
    }
    /// Backward of forward_broadcast: grad_x [N] (overwritten) = sum over t of dL/dx[t].
    static void backward_broadcast(const params_type& p, std::size_t T, std::size_t N,
                                   const S* saved, const S* grad_spikes, S* grad_x,
                                   params_type* grad_p, grad_mode mode = grad_mode::accumulate) {
        backward_broadcast(p, T, N, saved, grad_spikes, grad_x, grad_p, options_type{}, mode);
    }
    static void backward_broadcast(const params_type& p, std::size_t T, std::size_t N,
                                   const S* saved, const S* grad_spikes, S* grad_x,
                                   params_type* grad_p, const options_type& opt,
                                   grad_mode mode = grad_mode::accumulate) {
        if (grad_p)
            run_backward<true, true>(p, T, N, saved, grad_spikes, grad_x, grad_p, opt, mode);
        else
            run_backward<false, true>(p, T, N, saved, grad_spikes, grad_x, grad_p, opt, mode);
    }

    // Checked overloads: every span must have exactly the size the pointer version assumes
    // (x, spikes, grad_spikes, grad_x [T][N], or [N] for the broadcast input and its
    // gradient; saved [saved_per_step][T][N], or empty for an inference forward).
    static void forward(const params_type& p, std::size_t T, std::size_t N, std::span<const S> x,
                        std::span<S> spikes, std::span<S> saved, const options_type& opt = {}) {
        detail::check_forward_sizes(T, N, saved_per_step, x.size(), false, spikes.size(),
                                    saved.size());
        forward(p, T, N, x.data(), spikes.data(), data_or_null(saved), opt);
    }
    static void forward(const params_type& p, std::size_t T, std::size_t N, std::span<const S> x,
                        std::span<std::int8_t> spikes, std::span<S> saved,
                        const options_type& opt = {}) {
        detail::check_forward_sizes(T, N, saved_per_step, x.size(), false, spikes.size(),
                                    saved.size());
        forward(p, T, N, x.data(), spikes.data(), data_or_null(saved), opt);
    }
    static void forward_broadcast(const params_type& p, std::size_t T, std::size_t N,
                                  std::span<const S> x, std::span<S> spikes, std::span<S> saved,
                                  const options_type& opt = {}) {
        detail::check_forward_sizes(T, N, saved_per_step, x.size(), true, spikes.size(),
                                    saved.size());
        forward_broadcast(p, T, N, x.data(), spikes.data(), data_or_null(saved), opt);
    }
    static void backward(const params_type& p, std::size_t T, std::size_t N,
                         std::span<const S> saved, std::span<const S> grad_spikes,
                         std::span<S> grad_x, params_type* grad_p,
                         grad_mode mode = grad_mode::accumulate) {
        backward(p, T, N, saved, grad_spikes, grad_x, grad_p, options_type{}, mode);
    }
    static void backward(const params_type& p, std::size_t T, std::size_t N,
                         std::span<const S> saved, std::span<const S> grad_spikes,
                         std::span<S> grad_x, params_type* grad_p, const options_type& opt,
                         grad_mode mode = grad_mode::accumulate) {
        detail::check_backward_sizes(T, N, saved_per_step, saved.size(), grad_spikes.size(),
                                     grad_x.size(), false);
        backward(p, T, N, saved.data(), grad_spikes.data(), grad_x.data(), grad_p, opt, mode);
    }
    static void backward_broadcast(const params_type& p, std::size_t T, std::size_t N,
                                   std::span<const S> saved, std::span<const S> grad_spikes,
                                   std::span<S> grad_x, params_type* grad_p,
                                   grad_mode mode = grad_mode::accumulate) {
        backward_broadcast(p, T, N, saved, grad_spikes, grad_x, grad_p, options_type{}, mode);
    }
    static void backward_broadcast(const params_type& p, std::size_t T, std::size_t N,
                                   std::span<const S> saved, std::span<const S> grad_spikes,
                                   std::span<S> grad_x, params_type* grad_p,
                                   const options_type& opt,
                                   grad_mode mode = grad_mode::accumulate) {
        detail::check_backward_sizes(T, N, saved_per_step, saved.size(), grad_spikes.size(),
                                     grad_x.size(), true);
        backward_broadcast(p, T, N, saved.data(), grad_spikes.data(), grad_x.data(), grad_p, opt,
                           mode);
    }

private:
    using B = simd::batch<S>;
    /// Slot of the input in saved (after the states, or alone).
    static constexpr std::size_t x_slot = saved_per_step - 1;
    /// Per recomputed step of one batch: the state before the step and, for a noisy model,
    /// its draw z (Philox per lane is dear: drawn once, used by both passes).
    static constexpr std::size_t recompute_slots = n_state + (noisy_model<Model> ? 1 : 0);

    static S* data_or_null(std::span<S> s) { return s.empty() ? nullptr : s.data(); }

    template <class Out>
    static void forward_as(const params_type& p, std::size_t T, std::size_t N, const S* x,
                           std::size_t x_stride, Out* spikes, S* saved, const options_type& opt) {
        check(p, N, opt);
        if (saved)
            run_forward<true>(p, T, N, x, x_stride, spikes, saved, opt);
        else
            run_forward<false>(p, T, N, x, x_stride, spikes, saved, opt);
    }

    static void check(const params_type& p, std::size_t N, const options_type& opt) {
        if (!opt.per_neuron) {
            validate_params<Model, S>(p);
            return;
        }
        if (opt.neurons == 0 || N % opt.neurons != 0)
            throw parameter_error("population_options.neurons",
                                  "must divide the elements per step N = " + std::to_string(N));
        for (std::size_t n = 0; n < opt.neurons; ++n) validate_params<Model, S>(opt.per_neuron[n]);
    }

    /// Parameters of the lanes starting at element i, as V (shared or gathered per neuron).
    struct param_source {
        std::array<S, n_params> shared;
        const params_type* per_neuron;
        std::size_t neurons;

        template <class V>
        SPINFIRE_INLINE std::array<V, n_params> at(std::size_t i) const {
            std::array<V, n_params> r;
            if (!per_neuron) {
                for (std::size_t j = 0; j < n_params; ++j) r[j] = V(shared[j]);
                return r;
            }
            alignas(SPINFIRE_ALIGNMENT) S buf[n_params][simd::lanes_v<V>];
            for (std::size_t l = 0; l < simd::lanes_v<V>; ++l) {
                const auto a = to_array<S>(per_neuron[(i + l) % neurons]);
                for (std::size_t j = 0; j < n_params; ++j) buf[j][l] = a[j];
            }
            for (std::size_t j = 0; j < n_params; ++j) r[j] = simd::load<V>(buf[j]);
            return r;
        }
    };

    template <class P, class St, class V>
    static SPINFIRE_INLINE V call_step(const P& p, St& st, const V& x, const V& z) {
        if constexpr (noisy_model<Model>)
            return Model::step(p, st, x, z);
        else
            return (void)z, Model::step(p, st, x);
    }

    template <class V>
    static SPINFIRE_INLINE auto noise(const options_type& opt, std::size_t T, std::size_t t,
                                      std::size_t i) {
        using Sc = simd::scalar_of_t<V>;
        if (noisy_model<Model> && opt.noise)
            return detail::read_noise<V>(opt.seed, opt.counter, T, t, i);
        return V(Sc(0));
    }

    template <bool Save, class Out>
    struct forward_body {
        param_source ps;
        const options_type& opt;
        std::size_t T, N;
        const S* x;
        std::size_t x_stride; // N, or 0 for one input repeated at every step
        Out* spikes;
        S* saved;

        template <class V>
        SPINFIRE_INLINE void run(std::size_t i) const {
            const auto pa = ps.template at<V>(i);
            params_t<Model, V> p;
            fill_fields(p, [&](std::size_t j) { return pa[j]; });
            auto st = zero_state<Model, V>();
            for (std::size_t t = 0; t < T; ++t) {
                const V xv = simd::load<V>(x + t * x_stride + i);
                if constexpr (Save) {
                    if constexpr (!recompute)
                        detail::for_each_field_indexed(st, [&](std::size_t k, const V& f) {
                            simd::store(saved + (k * T + t) * N + i, f);
                        });
                    simd::store(saved + (x_slot * T + t) * N + i, xv);
                }
                const V z = noise<V>(opt, T, t, i);
                detail::store_spikes(spikes + t * N + i, V(call_step(p, st, xv, z)));
            }
        }
    };

    template <bool Save, class Out>
    static void run_forward(const params_type& p, std::size_t T, std::size_t N, const S* x,
                            std::size_t x_stride, Out* spikes, S* saved, const options_type& opt) {
        const forward_body<Save, Out> body{
            {to_array<S>(p), opt.per_neuron, opt.neurons}, opt, T, N, x, x_stride, spikes, saved};
        detail::for_chunks(N, [&](std::size_t b, std::size_t e, std::size_t) {
            detail::for_lanes<S>(b, e, body);
        });
    }

    template <bool WithP, bool Sum>
    struct backward_body {
        static constexpr std::size_t n_tangents = n_state + 1 + (WithP ? n_params : 0);
        param_source ps;
        const options_type& opt;
        std::size_t T, N;
        const S* saved;
        const S* grad_spikes;
        S* grad_x;
        detail::param_partials<n_params>* partials;
        std::size_t chunk;
        S* replay; // recompute: [T][recompute_slots][lanes of a batch]

        template <class V>
        SPINFIRE_INLINE void run(std::size_t i) {
            using D = dual<V, n_tangents>;
            constexpr std::size_t L = B::size;
            const auto pa = ps.template at<V>(i);
            if constexpr (recompute) {
                params_t<Model, V> pv;
                fill_fields(pv, [&](std::size_t j) { return pa[j]; });
                auto st = zero_state<Model, V>();
                for (std::size_t t = 0; t < T; ++t) {
                    S* r = replay + t * recompute_slots * L;
                    detail::for_each_field_indexed(
                        st, [&](std::size_t k, const V& f) { simd::store(r + k * L, f); });
                    const V z = noise<V>(opt, T, t, i);
                    if constexpr (noisy_model<Model>) simd::store(r + n_state * L, z);
                    // The last step's result is not needed: its state after is never read.
                    if (t + 1 < T)
                        call_step(pv, st, simd::load<V>(saved + (x_slot * T + t) * N + i), z);
                }
            }
            params_t<Model, D> pd;
            fill_fields(pd, [&](std::size_t j) {
                if constexpr (WithP)
                    return D::variable(pa[j], n_state + 1 + j);
                else
                    return D(pa[j]);
            });
            std::array<V, n_state> adj; // adjoint of the state after step t
            adj.fill(V(S(0)));
            std::array<V, n_params> gp; // this element's parameter gradients
            gp.fill(V(S(0)));
            V sum_x(S(0)); // sum over t of dL/dx[t] (broadcast input)
            for (std::size_t t = T; t-- > 0;) {
                // Where the state before step t (and a replayed z) lives.
                const auto at = [&](std::size_t k) {
                    if constexpr (recompute)
                        return replay + (t * recompute_slots + k) * L;
                    else
                        return saved + (k * T + t) * N + i;
                };
                state_t<Model, D> sd;
                fill_fields(sd,
                            [&](std::size_t k) { return D::variable(simd::load<V>(at(k)), k); });
                const D xd = D::variable(simd::load<V>(saved + (x_slot * T + t) * N + i), n_state);
                V z;
                if constexpr (recompute && noisy_model<Model>)
                    z = simd::load<V>(at(n_state));
                else
                    z = noise<V>(opt, T, t, i);
                const D spk = call_step(pd, sd, xd, D(z));
                const V g = simd::load<V>(grad_spikes + t * N + i);
                // c = d(g S[t] + adj . state[t]) / d(state[t-1], x[t], params)
                std::array<V, n_tangents> c;
                for (std::size_t m = 0; m < n_tangents; ++m) c[m] = g * spk.d[m];
                detail::for_each_field_indexed(sd, [&](std::size_t k, const D& f) {
                    for (std::size_t m = 0; m < n_tangents; ++m) c[m] = c[m] + adj[k] * f.d[m];
                });
                for (std::size_t k = 0; k < n_state; ++k) adj[k] = c[k];
                if constexpr (Sum)
                    sum_x = sum_x + c[n_state];
                else
                    simd::store(grad_x + t * N + i, c[n_state]);
                if constexpr (WithP)
                    for (std::size_t j = 0; j < n_params; ++j) gp[j] = gp[j] + c[n_state + 1 + j];
            }
            if constexpr (Sum) simd::store(grad_x + i, sum_x);
            if constexpr (WithP)
                for (std::size_t j = 0; j < n_params; ++j) partials->add(chunk, j, gp[j]);
        }
    };

    template <bool WithP, bool Sum>
    static void run_backward(const params_type& p, std::size_t T, std::size_t N, const S* saved,
                             const S* grad_spikes, S* grad_x, params_type* grad_p,
                             const options_type& opt, grad_mode mode) {
        detail::param_partials<n_params> partials(WithP ? detail::chunk_count(N) : 0);
        const param_source ps{to_array<S>(p), opt.per_neuron, opt.neurons};
        detail::for_chunks(N, [&](std::size_t b, std::size_t e, std::size_t c) {
            aligned_vector<S> replay(recompute ? T * recompute_slots * B::size : 0);
            backward_body<WithP, Sum> body{ps,          opt,    T,         N, saved,
                                           grad_spikes, grad_x, &partials, c, replay.data()};
            detail::for_lanes<S>(b, e, body);
        });
        if constexpr (WithP) {
            auto tot = partials.total();
            // assign never reads the old values (they may be uninitialized or NaN).
            if (mode == grad_mode::accumulate) {
                const auto old = to_array<double>(*grad_p);
                for (std::size_t j = 0; j < n_params; ++j) tot[j] += old[j];
            }
            fill_fields(*grad_p, [&](std::size_t j) { return S(tot[j]); });
        }
    }
};

} // namespace spinfire::neuron
