#pragma once
// Multi-step activations: xtensor containers in the layout [T, B, C, H, W], plus the
// compile-time per-sample shape that graphs propagate and check.
#include <cstddef>
#include <cstdint>
#include <string>

#include "spinfire/core/xtensor.hpp"

#include "spinfire/core/error.hpp"

namespace spinfire::nn {

class replica_group; // nn/replicas.hpp

/// Per-sample shape C x H x W, known at compile time (a flat feature vector is shape<F>).
template <std::size_t C, std::size_t H = 1, std::size_t W = 1>
struct shape {
    static constexpr std::size_t channels = C, height = H, width = W, size = C * H * W;
};

template <class S>
concept shape_type = requires {
    { S::channels } -> std::convertible_to<std::size_t>;
    { S::height } -> std::convertible_to<std::size_t>;
    { S::width } -> std::convertible_to<std::size_t>;
};

/// Activations [T, B, C, H, W]. T == 1 with a directly encoded input: the first spiking
/// layer broadcasts over the network's steps (so the first conv runs once for all T).
using tensor = xt::xtensor<float, 5>;

inline tensor make_tensor(std::size_t t, std::size_t b, std::size_t c, std::size_t h = 1,
                          std::size_t w = 1) {
    return tensor(typename tensor::shape_type{t, b, c, h, w});
}

/// Resizes y to the given dims only when they differ (no reallocation in steady state).
inline void ensure_shape(tensor& y, std::size_t t, std::size_t b, std::size_t c, std::size_t h,
                         std::size_t w) {
    const typename tensor::shape_type s{t, b, c, h, w};
    if (y.shape() != s) y.resize(s);
}
inline void ensure_shape_like(tensor& y, const tensor& x) {
    if (y.shape() != x.shape()) y.resize(x.shape());
}

/// Arithmetic precision of the convolution and linear kernels. Master weights, gradients
/// and element-wise work stay f32 in both.
enum class precision { f32, bf16 };

/// What one forward pass is for; passed down the graph by reference.
struct context {
    bool training = true;  ///< batch statistics, dropout, saved state for backward
    std::size_t steps = 4; ///< T, the number of SNN time steps
    precision prec = precision::f32;
    std::uint64_t seed = 0; ///< dropout and other randomness: Philox(seed, layer, iteration)
    std::uint64_t iteration = 0;
    bool collect_metrics = false; ///< spike rates and input densities per layer
    /// Keep 4-D activations in oneDNN's channel-blocked layout (nChw16c on AVX-512, else
    /// nChw8c) between layers: its conv, BN and pooling kernels are several times faster
    /// there than on NCHW.
    bool blocked = true;
    /// Training keeps spiking layers' outputs as int8 until backward (graph.hpp, chain):
    /// 11 % less graph memory for VGG-s, but the f32 tensor is freed and re-allocated every
    /// step, which costs up to 2x the step time where page faults are dear (performance.md,
    /// "Page faults"). Off by default.
    bool int8_spikes = false;
    /// Data-parallel training (nn/replicas.hpp): the graph announces each layer's parameter
    /// gradients to it as backward finishes them. Null in a single process.
    replica_group* replicas = nullptr;
    /// With replicas: batch norm trains on the statistics of the global batch (sums over the
    /// processes) instead of its own shard's.
    bool sync_bn = false;
};

/// Layout rule for every activation inside a graph: blocked (detail::blocked_tag: nChw16c
/// on AVX-512 when C % 16 == 0, else nChw8c) when ctx.blocked and C % 8 == 0,
/// else plain NCHW (for H = W = 1 the two coincide). Element-wise layers (spiking, dropout,
/// residual add, mean over T) do not care: the sample index stays outermost in both, so a
/// [T*B, ...] tensor is still [T][B*C*H*W]. Networks convert their input and output, so
/// users of a network only ever see plain tensors; layers called directly follow the rule.
inline bool blocked_layout(std::size_t channels, const context& ctx) {
    return ctx.blocked && channels % 8 == 0;
}

namespace detail {
inline void require_dims(const tensor& x, std::size_t c, std::size_t h, std::size_t w,
                         const char* layer) {
    const auto& s = x.shape();
    if (s[2] != c || s[3] != h || s[4] != w)
        throw parameter_error(layer, "input is " + std::to_string(s[2]) + "x" +
                                         std::to_string(s[3]) + "x" + std::to_string(s[4]) +
                                         ", expected " + std::to_string(c) + "x" +
                                         std::to_string(h) + "x" + std::to_string(w));
}
} // namespace detail

} // namespace spinfire::nn
