#pragma once
// Event-frame sets and their loader source: samples [T, 2, H, W] batched time-major as
// [T, B, 2, H, W], with flip and shift augmentation keyed by (seed, epoch, sample index).
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "spinfire/core/xtensor.hpp"

#include "spinfire/config.hpp"
#include "spinfire/core/philox.hpp"
#include "spinfire/data/augment.hpp"

namespace spinfire::data {

/// N samples of T frames: frames [N, T, 2, H, W], labels N.
struct frame_set {
    xt::xtensor<float, 5> frames;
    std::vector<std::int32_t> labels;
    std::vector<std::string> class_names;
    std::size_t size() const { return labels.size(); }
    std::size_t steps() const { return frames.shape()[1]; }
    std::size_t height() const { return frames.shape()[3]; }
    std::size_t width() const { return frames.shape()[4]; }
    std::size_t sample_size() const { return steps() * 2 * height() * width(); }
    const float* sample(std::size_t i) const { return frames.data() + i * sample_size(); }
};

struct frame_augment_options {
    bool flip = true;            ///< horizontal flip with probability 1/2
    std::size_t max_shift = 5;   ///< shift each axis by a uniform integer in [-max, max], zero fill
    bool alternate_flip = false; ///< flip in every other epoch instead (as augment_options)
};

struct frame_draw {
    bool flip = false;
    std::ptrdiff_t dy = 0, dx = 0;
};

inline frame_draw draw_frame_augment(const frame_augment_options& o, std::uint64_t seed,
                                     std::uint64_t epoch, std::uint64_t index) {
    rng::stream s = detail::sample_stream(seed, detail::augment_domain, epoch, index);
    frame_draw d;
    d.flip = detail::draw_flip(o.flip, o.alternate_flip, s, seed, epoch, index);
    const auto span = std::uint32_t(2 * o.max_shift + 1);
    d.dy = std::ptrdiff_t(s.below(span)) - std::ptrdiff_t(o.max_shift);
    d.dx = std::ptrdiff_t(s.below(span)) - std::ptrdiff_t(o.max_shift);
    return d;
}

/// dst(y, x) = flipped src(y - dy, x - dx) for each of `planes` H x W planes, zero outside.
inline void augment_planes(const float* SPINFIRE_RESTRICT src, std::size_t planes,
                           std::size_t height, std::size_t width, float* SPINFIRE_RESTRICT dst,
                           const frame_draw& d) {
    const auto H = std::ptrdiff_t(height), W = std::ptrdiff_t(width);
    for (std::size_t p = 0; p < planes; ++p) {
        const float* in = src + p * height * width;
        float* out = dst + p * height * width;
        for (std::ptrdiff_t y = 0; y < H; ++y) {
            const std::ptrdiff_t sy = y - d.dy;
            for (std::ptrdiff_t x = 0; x < W; ++x) {
                const std::ptrdiff_t sx0 = x - d.dx;
                const std::ptrdiff_t sx = d.flip ? W - 1 - sx0 : sx0;
                out[y * W + x] =
                    (sy < 0 || sy >= H || sx0 < 0 || sx0 >= W) ? 0.0f : in[sy * W + sx];
            }
        }
    }
}

class frame_source {
public:
    static constexpr std::size_t batch_rank = 5;

    /// Keeps a reference to set, which must outlive the source.
    explicit frame_source(const frame_set& set, frame_augment_options aug = {})
        : set_(&set), aug_(aug) {}

    std::size_t size() const { return set_->size(); }
    std::int32_t label(std::size_t i) const { return set_->labels[i]; }
    std::array<std::size_t, 5> batch_shape(std::size_t b) const {
        return {set_->steps(), b, 2, set_->height(), set_->width()};
    }
    void write(std::size_t i, std::size_t slot, std::size_t batch, float* x, std::uint64_t seed,
               std::uint64_t epoch, bool augment) const {
        const std::size_t T = set_->steps(), frame = 2 * set_->height() * set_->width();
        const frame_draw d = augment ? draw_frame_augment(aug_, seed, epoch, i) : frame_draw{};
        for (std::size_t t = 0; t < T; ++t) {
            const float* src = set_->sample(i) + t * frame;
            float* dst = x + (t * batch + slot) * frame;
            if (augment)
                augment_planes(src, 2, set_->height(), set_->width(), dst, d);
            else
                std::copy(src, src + frame, dst);
        }
    }

private:
    const frame_set* set_;
    frame_augment_options aug_;
};

} // namespace spinfire::data
