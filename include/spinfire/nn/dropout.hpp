#pragma once
// Inverted dropout. The mask is drawn once per sample element and shared by all T steps
// (a neuron is either dropped for the whole presentation or not), from Philox keyed by
// (seed, layer, iteration): identical whatever the thread count.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "spinfire/core/error.hpp"
#include "spinfire/core/philox.hpp"
#include "spinfire/nn/tensor.hpp"

namespace spinfire::nn {

class dropout {
public:
    static constexpr const char* kind = "dropout";
    template <class S>
    static constexpr bool accepts = true;
    template <class S>
    using output_shape = S;
    template <class S>
    static constexpr std::size_t macs = 0;

    explicit dropout(float p = 0.5f) : p_(p) {
        if (!(p >= 0.0f && p < 1.0f)) throw parameter_error("dropout.p", "must be in [0, 1)");
    }
    float probability() const { return p_; }

    void initialize(std::uint64_t, std::uint64_t stream) { stream_ = stream; }
    template <class F>
    void visit_parameters(F&&) {}
    template <class F>
    void visit_buffers(F&&) {}

    void forward(const tensor& x, tensor& y, const context& ctx) {
        ensure_shape_like(y, x);
        if (!ctx.training || p_ == 0.0f) {
            std::copy(x.begin(), x.end(), y.begin());
            return;
        }
        const auto& s = x.shape();
        const std::size_t steps = s[0], n = s[1] * s[2] * s[3] * s[4];
        mask_.resize(n);
        const float keep = 1.0f / (1.0f - p_);
        for (std::size_t i = 0; i < n; i += 4) {
            const auto b = rng::philox4x32(ctx.seed, (std::uint64_t(1) << 40) + stream_,
                                           (ctx.iteration << 32) + i / 4);
            for (std::size_t j = 0; j < 4 && i + j < n; ++j)
                mask_[i + j] = rng::to_uniform<float>(b[j]) < p_ ? 0.0f : keep;
        }
        for (std::size_t t = 0; t < steps; ++t)
            for (std::size_t i = 0; i < n; ++i)
                y.data()[t * n + i] = x.data()[t * n + i] * mask_[i];
    }
    void backward(const tensor& x, const tensor&, const tensor& dy, tensor* dx,
                  const context& ctx) {
        if (!dx) return;
        ensure_shape_like(*dx, x);
        if (!ctx.training || p_ == 0.0f) {
            std::copy(dy.begin(), dy.end(), dx->begin());
            return;
        }
        const auto& s = x.shape();
        const std::size_t steps = s[0], n = s[1] * s[2] * s[3] * s[4];
        for (std::size_t t = 0; t < steps; ++t)
            for (std::size_t i = 0; i < n; ++i)
                dx->data()[t * n + i] = dy.data()[t * n + i] * mask_[i];
    }

private:
    float p_;
    std::uint64_t stream_ = 0;
    std::vector<float> mask_;
};

} // namespace spinfire::nn
