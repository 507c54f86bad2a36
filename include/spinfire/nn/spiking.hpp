#pragma once
// A population of spiking neurons of any neuron::neuron_model, one per element of a
// sample. The whole [T, B, ...] batch goes through the fused multi-step kernel in one call:
// the membrane state lives only inside that call, so it cannot leak from one batch into
// the next (there is no reset to forget).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "spinfire/core/aligned.hpp"
#include "spinfire/neuron/model.hpp"
#include "spinfire/neuron/population.hpp"
#include "spinfire/nn/parameter.hpp"
#include "spinfire/nn/tensor.hpp"

namespace spinfire::nn {

template <neuron::neuron_model Model>
class spiking {
public:
    using model = Model;
    using kernel = neuron::population_kernel<Model, float>;
    using params_type = typename kernel::params_type;
    static constexpr const char* kind = "spiking";
    template <class S>
    static constexpr bool accepts = true;
    template <class S>
    using output_shape = S;
    template <class S>
    static constexpr std::size_t macs = 0;

    /// Neuron parameters (fixed during training; beta 0.5, theta 1 for signed_lif).
    params_type params = neuron::default_params<Model, float>();

    spiking() = default;
    explicit spiking(const params_type& p) : params(p) {}

    void initialize(std::uint64_t, std::uint64_t) {}
    template <class F>
    void visit_parameters(F&&) {}
    template <class F>
    void visit_buffers(F&&) {}

    /// x: [T, B, ...] or [1, B, ...] (direct encoding: the same input at every step).
    void forward(const tensor& x, tensor& y, const context& ctx) {
        const auto& s = x.shape();
        const std::size_t steps = ctx.steps, n = s[1] * s[2] * s[3] * s[4];
        if (steps == 0) throw parameter_error("context.steps", "must be >= 1");
        if (s[0] != steps && s[0] != 1)
            throw parameter_error("spiking input", "has " + std::to_string(s[0]) +
                                                       " time steps, the context " +
                                                       std::to_string(steps));
        broadcast_ = s[0] == 1 && steps > 1;
        const float* xin = x.data();
        if (broadcast_) {
            xb_.resize(steps * n);
            for (std::size_t t = 0; t < steps; ++t)
                std::copy(x.data(), x.data() + n, xb_.data() + t * n);
            xin = xb_.data();
        }
        ensure_shape(y, steps, s[1], s[2], s[3], s[4]);
        float* sv = nullptr;
        if (ctx.training) {
            saved_.resize(kernel::saved_per_step * steps * n);
            sv = saved_.data();
        }
        kernel::forward(params, steps, n, xin, y.data(), sv);
    }

    void backward(const tensor& x, const tensor& y, const tensor& dy, tensor* dx,
                  const context&) {
        if (!dx) return;
        const auto& s = y.shape();
        const std::size_t steps = s[0], n = s[1] * s[2] * s[3] * s[4];
        ensure_shape_like(*dx, x);
        if (!broadcast_) {
            kernel::backward(params, steps, n, saved_.data(), dy.data(), dx->data(), nullptr);
            return;
        }
        gx_.resize(steps * n);
        kernel::backward(params, steps, n, saved_.data(), dy.data(), gx_.data(), nullptr);
        float* d = dx->data();
        std::copy(gx_.data(), gx_.data() + n, d);
        for (std::size_t t = 1; t < steps; ++t) {
            const float* g = gx_.data() + t * n;
            for (std::size_t i = 0; i < n; ++i) d[i] += g[i];
        }
    }

private:
    aligned_vector<float> saved_, xb_, gx_;
    bool broadcast_ = false;
};

} // namespace spinfire::nn
