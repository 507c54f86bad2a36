#pragma once
// Mean over the T time steps: [T, B, ...] -> [1, B, ...] (the rate-coded network output).
#include <cstddef>
#include <cstdint>

#include "spinfire/nn/tensor.hpp"

namespace spinfire::nn {

struct mean_over_time {
    static constexpr const char* kind = "mean_over_time";
    template <class S>
    static constexpr bool accepts = true;
    template <class S>
    using output_shape = S;
    template <class S>
    static constexpr std::size_t macs = 0;

    void initialize(std::uint64_t, std::uint64_t) {}
    template <class F>
    void visit_parameters(F&&) {}
    template <class F>
    void visit_buffers(F&&) {}

    void forward(const tensor& x, tensor& y, const context&) {
        const auto& s = x.shape();
        const std::size_t steps = s[0], n = s[1] * s[2] * s[3] * s[4];
        ensure_shape(y, 1, s[1], s[2], s[3], s[4]);
        const float inv = 1.0f / float(steps);
        const float* p = x.data();
        float* q = y.data();
        for (std::size_t i = 0; i < n; ++i) {
            float acc = 0;
            for (std::size_t t = 0; t < steps; ++t) acc += p[t * n + i];
            q[i] = acc * inv;
        }
    }
    void backward(const tensor& x, const tensor&, const tensor& dy, tensor* dx, const context&) {
        if (!dx) return;
        const auto& s = x.shape();
        const std::size_t steps = s[0], n = s[1] * s[2] * s[3] * s[4];
        ensure_shape_like(*dx, x);
        const float inv = 1.0f / float(steps);
        for (std::size_t t = 0; t < steps; ++t)
            for (std::size_t i = 0; i < n; ++i) dx->data()[t * n + i] = dy.data()[i] * inv;
    }
};

} // namespace spinfire::nn
