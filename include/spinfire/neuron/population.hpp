#pragma once
// population_kernel<Model, S>: the multi-step forward and BPTT backward of a population of
// independent neurons over [T][N] (N = every element of one time step, e.g. B*C*H*W).
//
//   forward(p, T, N, x, spikes, saved)   x, spikes: [T][N]; saved: [saved_per_step][T][N]
//                                        or nullptr for inference (nothing is kept)
//   backward(p, T, N, saved, grad_spikes, grad_x, grad_p, mode = grad_mode::accumulate)
//                                        grad_x [T][N] is overwritten; when grad_p is not
//                                        null the parameter gradients, summed over elements
//                                        and steps, are ADDED to *grad_p (grad_mode::assign:
//                                        written, no zeroing needed)
//   forward_broadcast / backward_broadcast: the same for one input x [N] fed at every step
//                                        (direct encoding); grad_x [N] = sum over t
//
// Raw pointers are the unchecked fast path; every entry point also takes std::span (any
// contiguous container), checked against T, N and saved_per_step: a wrong size throws
// parameter_error naming the argument and both sizes.
// Both run TBB over fixed chunks of N and are deterministic whatever the thread count. The
// kernel is the model's hand-written Model::fused_kernel<S> when it has one, else the
// kernel generated from its step function (generated_kernel, always available for tests).
#include <algorithm>
#include <array>
#include <cstddef>
#include <span>

#include "spinfire/core/aligned.hpp"
#include "spinfire/neuron/generated.hpp"
#include "spinfire/neuron/model.hpp"

namespace spinfire::neuron {

namespace detail {
template <class Model, class S>
struct select_kernel {
    using type = generated_kernel<Model, S>;
};
template <class Model, class S>
requires requires { typename Model::template fused_kernel<S>; }
struct select_kernel<Model, S> {
    using type = typename Model::template fused_kernel<S>;
};
} // namespace detail

template <neuron_model Model, class S = float>
struct population_kernel : detail::select_kernel<Model, S>::type {
    using base = typename detail::select_kernel<Model, S>::type;
    using params_type = params_t<Model, S>;
    using base::backward;
    using base::forward;
    using base::saved_per_step;
    /// A generated base has its own checked forward (with options); others get one here.
    static constexpr bool base_has_checked_forward =
        requires(const params_type& p, std::size_t n, std::span<const S> x, std::span<S> y) {
        base::forward(p, n, n, x, y, y);
    };

    /// grad_mode::assign on a fused kernel without it: *grad_p is zeroed, then added to.
    static void backward(const params_type& p, std::size_t T, std::size_t N, const S* saved,
                         const S* grad_spikes, S* grad_x, params_type* grad_p,
                         grad_mode mode = grad_mode::accumulate) {
        if constexpr (requires {
                          base::backward(p, T, N, saved, grad_spikes, grad_x, grad_p, mode);
                      }) {
            base::backward(p, T, N, saved, grad_spikes, grad_x, grad_p, mode);
        } else {
            zero_if_assign(grad_p, mode);
            base::backward(p, T, N, saved, grad_spikes, grad_x, grad_p);
        }
    }

    /// One input x [N] at every step; a fused kernel without this gets a tiled copy.
    static void forward_broadcast(const params_type& p, std::size_t T, std::size_t N, const S* x,
                                  S* spikes, S* saved) {
        if constexpr (requires { base::forward_broadcast(p, T, N, x, spikes, saved); }) {
            base::forward_broadcast(p, T, N, x, spikes, saved);
        } else {
            aligned_vector<S> xt(T * N);
            for (std::size_t t = 0; t < T; ++t) std::copy(x, x + N, xt.data() + t * N);
            base::forward(p, T, N, xt.data(), spikes, saved);
        }
    }
    /// grad_x [N] = sum over t of dL/dx[t] (overwritten).
    static void backward_broadcast(const params_type& p, std::size_t T, std::size_t N,
                                   const S* saved, const S* grad_spikes, S* grad_x,
                                   params_type* grad_p, grad_mode mode = grad_mode::accumulate) {
        if constexpr (requires {
                          base::backward_broadcast(p, T, N, saved, grad_spikes, grad_x, grad_p,
                                                   mode);
                      }) {
            base::backward_broadcast(p, T, N, saved, grad_spikes, grad_x, grad_p, mode);
        } else if constexpr (requires {
                                 base::backward_broadcast(p, T, N, saved, grad_spikes, grad_x,
                                                          grad_p);
                             }) {
            zero_if_assign(grad_p, mode);
            base::backward_broadcast(p, T, N, saved, grad_spikes, grad_x, grad_p);
        } else {
            aligned_vector<S> gt(T * N);
            backward(p, T, N, saved, grad_spikes, gt.data(), grad_p, mode);
            std::fill(grad_x, grad_x + N, S(0));
            for (std::size_t t = T; t-- > 0;)
                for (std::size_t i = 0; i < N; ++i) grad_x[i] += gt[t * N + i];
        }
    }

    // Checked overloads for any kernel (sizes as in the header comment, saved empty for
    // inference). A generated base has its own checked forward, with options.
    static void forward(const params_type& p, std::size_t T, std::size_t N, std::span<const S> x,
                        std::span<S> spikes,
                        std::span<S> saved) requires(!base_has_checked_forward) {
        detail::check_forward_sizes(T, N, saved_per_step, x.size(), false, spikes.size(),
                                    saved.size());
        base::forward(p, T, N, x.data(), spikes.data(), saved.empty() ? nullptr : saved.data());
    }
    static void forward_broadcast(const params_type& p, std::size_t T, std::size_t N,
                                  std::span<const S> x, std::span<S> spikes, std::span<S> saved) {
        detail::check_forward_sizes(T, N, saved_per_step, x.size(), true, spikes.size(),
                                    saved.size());
        forward_broadcast(p, T, N, x.data(), spikes.data(), saved.empty() ? nullptr : saved.data());
    }
    static void backward(const params_type& p, std::size_t T, std::size_t N,
                         std::span<const S> saved, std::span<const S> grad_spikes,
                         std::span<S> grad_x, params_type* grad_p,
                         grad_mode mode = grad_mode::accumulate) {
        detail::check_backward_sizes(T, N, saved_per_step, saved.size(), grad_spikes.size(),
                                     grad_x.size(), false);
        backward(p, T, N, saved.data(), grad_spikes.data(), grad_x.data(), grad_p, mode);
    }
    static void backward_broadcast(const params_type& p, std::size_t T, std::size_t N,
                                   std::span<const S> saved, std::span<const S> grad_spikes,
                                   std::span<S> grad_x, params_type* grad_p,
                                   grad_mode mode = grad_mode::accumulate) {
        detail::check_backward_sizes(T, N, saved_per_step, saved.size(), grad_spikes.size(),
                                     grad_x.size(), true);
        backward_broadcast(p, T, N, saved.data(), grad_spikes.data(), grad_x.data(), grad_p, mode);
    }

private:
    static void zero_if_assign(params_type* grad_p, grad_mode mode) {
        if (grad_p && mode == grad_mode::assign)
            fill_fields(*grad_p, [](std::size_t) { return S(0); });
    }
};

/// A stateful population stepped one time step at a time (streaming inference, simulation):
/// one aligned array per state variable (structure of arrays), updated in SIMD batches with
/// a scalar tail, TBB over chunks. Stepping it T times equals population_kernel::forward.
template <neuron_model Model, class S = float>
class population {
public:
    using params_type = params_t<Model, S>;
    static constexpr std::size_t n_state = state_count<Model>;

    population(std::size_t n, const params_type& p) : n_(n), p_(p) {
        validate_params<Model, S>(p);
        for (auto& a : state_) a.assign(n, S(0));
    }
    std::size_t size() const { return n_; }
    const params_type& params() const { return p_; }
    /// State variable k (field order of Model::state) of every neuron.
    const S* state(std::size_t k) const { return state_[k].data(); }
    /// Back to the rest state (all zero): call between independent samples.
    void reset() {
        for (auto& a : state_) std::fill(a.begin(), a.end(), S(0));
    }
    /// One step: x[n] -> spikes[n].
    void step(const S* x, S* spikes) {
        body b{this, x, spikes};
        detail::for_chunks(n_, [&](std::size_t lo, std::size_t hi, std::size_t) {
            detail::for_lanes<S>(lo, hi, b);
        });
    }

private:
    struct body {
        population* self;
        const S* x;
        S* spikes;
        template <class V>
        SPINFIRE_INLINE void run(std::size_t i) {
            const auto pa = to_array<S>(self->p_);
            params_t<Model, V> p;
            fill_fields(p, [&](std::size_t j) { return V(pa[j]); });
            state_t<Model, V> st;
            fill_fields(st,
                        [&](std::size_t k) { return simd::load<V>(self->state_[k].data() + i); });
            simd::store(spikes + i, V(Model::step(p, st, simd::load<V>(x + i))));
            detail::for_each_field_indexed(
                st, [&](std::size_t k, const V& f) { simd::store(self->state_[k].data() + i, f); });
        }
    };

    std::size_t n_;
    params_type p_;
    std::array<aligned_vector<S>, n_state> state_;
};

} // namespace spinfire::neuron
