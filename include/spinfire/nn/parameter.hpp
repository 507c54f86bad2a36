#pragma once
// A trainable tensor with its gradient, and the version counter that lets layers cache
// derived forms (oneDNN-blocked or bf16 weights, folded batch norm) until the next update.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "spinfire/core/xtensor.hpp"

namespace spinfire::nn {

struct parameter {
    xt::xarray<float> value;
    xt::xarray<float> grad;
    bool decay = true;         ///< weight decay applies (weights yes; biases and BN no)
    std::uint64_t version = 0; ///< bumped by every in-place update (optimizers, loads)

    parameter() = default;
    parameter(std::vector<std::size_t> shape, bool weight_decay)
        : value(xt::zeros<float>(shape)), grad(xt::zeros<float>(shape)), decay(weight_decay) {}
    std::size_t size() const { return value.size(); }
    void touch() { ++version; }
};

/// Non-trainable state saved with a checkpoint (batch-norm running statistics).
struct buffer {
    xt::xarray<float> value;
};

} // namespace spinfire::nn
