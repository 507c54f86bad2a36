#pragma once
// Flatten C x H x W into a feature vector (shape<C*H*W>) in plain C, H, W order (the order
// linear weights use), converting from the graph's blocked layout where needed.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "spinfire/nn/detail/dnnl.hpp"
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

    void forward(const tensor& x, tensor& y, const context& ctx) {
        const auto& s = x.shape();
        if (blocked_layout(s[2], ctx) && s[3] * s[4] > 1) {
            detail::convert_layout(x, plain_, false);
            ensure_shape(y, s[0], s[1], s[2] * s[3] * s[4], 1, 1);
            std::copy(plain_.begin(), plain_.end(), y.begin());
            return;
        }
        ensure_shape(y, s[0], s[1], s[2] * s[3] * s[4], 1, 1);
        std::copy(x.begin(), x.end(), y.begin());
    }
    void backward(const tensor& x, const tensor&, const tensor& dy, tensor* dx,
                  const context& ctx) {
        if (!dx) return;
        ensure_shape_like(*dx, x);
        const auto& s = x.shape();
        if (blocked_layout(s[2], ctx) && s[3] * s[4] > 1) {
            ensure_shape_like(plain_, x);
            std::copy(dy.begin(), dy.end(), plain_.begin());
            detail::convert_layout(plain_, *dx, true);
            return;
        }
        std::copy(dy.begin(), dy.end(), dx->begin());
    }

private:
    tensor plain_;
};

} // namespace spinfire::nn
