#pragma once
// The trainable part shared by the synaptic layers (conv2d, linear): a weight with weight
// decay and an optional bias without, PyTorch's default initialisation
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)) drawn from Philox (seed, 2 stream) and (seed, 2 stream + 1).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "spinfire/nn/detail/init.hpp"
#include "spinfire/nn/parameter.hpp"

namespace spinfire::nn::detail {

template <bool Bias>
class synaptic_parameters {
public:
    template <class F>
    void visit_parameters(F&& f) {
        f("weight", weight_);
        if constexpr (Bias) f("bias", bias_);
    }
    template <class F>
    void visit_buffers(F&&) {}

    parameter& weight() { return weight_; }
    parameter& bias() requires Bias { return bias_; }

    void initialize(std::uint64_t seed, std::uint64_t stream) {
        const float bound = 1.0f / std::sqrt(float(fan_in_));
        uniform_fill(weight_.value.data(), weight_.size(), bound, seed, 2 * stream);
        weight_.touch();
        if constexpr (Bias) {
            uniform_fill(bias_.value.data(), bias_.size(), bound, seed, 2 * stream + 1);
            bias_.touch();
        }
    }

protected:
    /// shape: the weight's, its first extent the number of outputs (the bias length).
    synaptic_parameters(std::vector<std::size_t> shape, std::size_t fan_in)
        : weight_(shape, true), fan_in_(fan_in) {
        if constexpr (Bias) bias_ = parameter({shape[0]}, false);
        initialize(0, 0);
    }

    parameter weight_, bias_;

private:
    std::size_t fan_in_;
};

} // namespace spinfire::nn::detail
