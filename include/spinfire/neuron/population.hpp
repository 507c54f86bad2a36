#pragma once
// population_kernel<Model, S>: the multi-step forward and BPTT backward of a population of
// independent neurons over [T][N] (N = every element of one time step, e.g. B*C*H*W).
//
//   forward(p, T, N, x, spikes, saved)   x, spikes: [T][N]; saved: [saved_per_step][T][N]
//                                        or nullptr for inference (nothing is kept)
//   backward(p, T, N, saved, grad_spikes, grad_x, grad_p)
//                                        grad_x [T][N] is overwritten; when grad_p is not
//                                        null the parameter gradients, summed over elements
//                                        and steps, are ADDED to *grad_p
//
// Both run TBB over fixed chunks of N and are deterministic whatever the thread count. The
// kernel is the model's hand-written Model::fused_kernel<S> when it has one, else the
// kernel generated from its step function (generated_kernel, always available for tests).
#include <cstddef>

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
    using base::saved_per_step;
    using base::forward;
    using base::backward;
};

} // namespace spinfire::neuron
