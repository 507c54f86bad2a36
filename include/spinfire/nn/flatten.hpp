#pragma once
// Flatten C x H x W into a feature vector (shape<C*H*W>); the memory order is unchanged.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "spinfire/nn/tensor.hpp"

namespace spinfire::nn {

struct flatten {
    static constexpr const char* kind = "flatten";
    template <class S>
    static constexpr bool accepts = true;
    template <class S>
    using output_shape = shape<S::size>;
    template <class S>
    static constexpr std::size_t macs = 0;

    void initialize(std::uint64_t, std::uint64_t) {}
    template <class F>
    void visit_parameters(F&&) {}
    template <class F>
    void visit_buffers(F&&) {}

    void forward(const tensor& x, tensor& y, const context&) {
        const auto& s = x.shape();
        ensure_shape(y, s[0], s[1], s[2] * s[3] * s[4], 1, 1);
        std::copy(x.begin(), x.end(), y.begin());
    }
    void backward(const tensor& x, const tensor&, const tensor& dy, tensor* dx, const context&) {
        if (!dx) return;
        ensure_shape_like(*dx, x);
        std::copy(dy.begin(), dy.end(), dx->begin());
    }
};

} // namespace spinfire::nn
