#pragma once
// Image augmentation (random crop with padding, horizontal flip, cutout) and per-channel
// normalization. Every random choice is drawn from Philox keyed by (seed, epoch, image index),
// so an augmented image never depends on thread count, batch composition or order.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "spinfire/config.hpp"
#include "spinfire/core/error.hpp"
#include "spinfire/core/philox.hpp"
#include "spinfire/data/image_set.hpp"

namespace spinfire::data {

enum class padding_mode { zero, reflect };

struct augment_options {
    std::size_t crop_padding = 4; ///< random crop of the original size from the padded image
    padding_mode padding =
        padding_mode::zero; ///< zero = black pixels before normalization (torchvision's default)
    bool flip = true;       ///< horizontal flip with probability 1/2
    std::size_t cutout = 0; ///< side of a square set to 0 after normalization; 0: off
    /// With flip: each image is flipped in every other epoch, from a random phase per image
    /// (airbench's alternating flip: any two consecutive epochs show both orientations).
    bool alternate_flip = false;
};

/// Per-channel mean and standard deviation of pixel/255.
struct normalization {
    std::array<float, 4> mean{0, 0, 0, 0};
    std::array<float, 4> stddev{1, 1, 1, 1};
};

/// The usual CIFAR-10 training-set statistics (official binary release).
inline normalization cifar10_normalization() {
    return {{0.4914f, 0.4822f, 0.4465f, 0.0f}, {0.2470f, 0.2435f, 0.2616f, 1.0f}};
}

/// Statistics of a set, accumulated in double (for data other than CIFAR-10).
inline normalization compute_normalization(const image_set& s) {
    if (s.size() == 0) throw parameter_error("set", "is empty");
    if (s.channels() > 4) throw parameter_error("set", "more than 4 channels");
    normalization n;
    const std::size_t plane = s.height() * s.width();
    for (std::size_t c = 0; c < s.channels(); ++c) {
        double sum = 0, sum2 = 0;
        for (std::size_t i = 0; i < s.size(); ++i) {
            const std::uint8_t* p = s.image(i) + c * plane;
            for (std::size_t k = 0; k < plane; ++k) {
                const double v = p[k] / 255.0;
                sum += v;
                sum2 += v * v;
            }
        }
        const double count = double(s.size() * plane), mean = sum / count;
        n.mean[c] = float(mean);
        n.stddev[c] = float(std::sqrt(std::max(sum2 / count - mean * mean, 0.0)));
        if (!(n.stddev[c] > 0)) n.stddev[c] = 1; // a constant channel: only centre it
    }
    return n;
}

/// The random choices for one image in one epoch.
struct augment_draw {
    std::size_t dy = 0, dx = 0; ///< crop offset into the padded image, 0..2*padding
    bool flip = false;
    std::ptrdiff_t cut_y = 0, cut_x = 0; ///< cutout centre (used when cutout > 0)
};

namespace detail {
// Domain tags keep the streams of different uses of one seed apart.
inline constexpr std::uint64_t augment_domain = 0x61756720'00000000ull; // "aug "
inline constexpr std::uint64_t shuffle_domain = 0x73687566'00000000ull; // "shuf"
inline constexpr std::uint64_t flip_domain = 0x666c6970'00000000ull;    // "flip"

inline rng::stream sample_stream(std::uint64_t seed, std::uint64_t domain, std::uint64_t epoch,
                                 std::uint64_t index) {
    return rng::stream(seed ^ domain, index, epoch << 32);
}

/// With flip, a random flip (one draw from s, taken also when alternating so that the later
/// draws do not move), or with alternate the flip of every other epoch from a per-image
/// random phase.
inline bool draw_flip(bool flip, bool alternate, rng::stream& s, std::uint64_t seed,
                      std::uint64_t epoch, std::uint64_t index) {
    if (!flip) return false;
    const bool random = (s.next_u32() & 1u) != 0;
    if (!alternate) return random;
    const std::uint64_t phase = sample_stream(seed, flip_domain, 0, index).next_u32() & 1u;
    return ((phase + epoch) & 1u) != 0;
}

/// numpy 'reflect' (edge not repeated) for an index at most one size outside [0, n).
inline std::ptrdiff_t reflect_index(std::ptrdiff_t i, std::ptrdiff_t n) {
    if (n == 1) return 0;
    if (i < 0) i = -i;
    if (i >= n) i = 2 * (n - 1) - i;
    return i;
}
} // namespace detail

inline augment_draw draw_augment(const augment_options& o, std::size_t height, std::size_t width,
                                 std::uint64_t seed, std::uint64_t epoch, std::uint64_t index) {
    rng::stream s = detail::sample_stream(seed, detail::augment_domain, epoch, index);
    augment_draw d;
    const auto span = std::uint32_t(2 * o.crop_padding + 1);
    d.dy = s.below(span);
    d.dx = s.below(span);
    d.flip = detail::draw_flip(o.flip, o.alternate_flip, s, seed, epoch, index);
    d.cut_y = std::ptrdiff_t(s.below(std::uint32_t(height)));
    d.cut_x = std::ptrdiff_t(s.below(std::uint32_t(width)));
    return d;
}

/// Writes normalized float [C, H, W] at dst from 8-bit planar src, with the crop/flip/cutout
/// of draw d (a default draw with crop_padding 0 is plain normalization).
inline void augment_image(const std::uint8_t* SPINFIRE_RESTRICT src, std::size_t channels,
                          std::size_t height, std::size_t width, float* SPINFIRE_RESTRICT dst,
                          const augment_options& o, const normalization& n, const augment_draw& d) {
    if (channels > 4) throw parameter_error("channels", "at most 4 supported");
    if (o.padding == padding_mode::reflect && (o.crop_padding >= height || o.crop_padding >= width))
        throw parameter_error("crop_padding", "reflect padding must be smaller than the image");
    const auto H = std::ptrdiff_t(height), W = std::ptrdiff_t(width);
    const auto pad = std::ptrdiff_t(o.crop_padding);
    for (std::size_t c = 0; c < channels; ++c) {
        // A 256-entry table turns normalization into one load per pixel.
        std::array<float, 256> lut;
        for (int v = 0; v < 256; ++v) lut[v] = (float(v) / 255.0f - n.mean[c]) / n.stddev[c];
        const std::uint8_t* plane = src + c * height * width;
        float* out = dst + c * height * width;
        for (std::ptrdiff_t y = 0; y < H; ++y) {
            std::ptrdiff_t sy = y + std::ptrdiff_t(d.dy) - pad;
            const bool row_outside = sy < 0 || sy >= H;
            if (row_outside && o.padding == padding_mode::reflect)
                sy = detail::reflect_index(sy, H);
            for (std::ptrdiff_t x = 0; x < W; ++x) {
                const std::ptrdiff_t xc = d.flip ? W - 1 - x : x; // flip after the crop
                std::ptrdiff_t sx = xc + std::ptrdiff_t(d.dx) - pad;
                const bool outside = row_outside || sx < 0 || sx >= W;
                float v;
                if (outside && o.padding == padding_mode::zero) {
                    v = lut[0];
                } else {
                    if (sx < 0 || sx >= W) sx = detail::reflect_index(sx, W);
                    v = lut[plane[sy * W + sx]];
                }
                out[y * W + x] = v;
            }
        }
    }
    if (o.cutout > 0) {
        const auto s = std::ptrdiff_t(o.cutout);
        const std::ptrdiff_t y0 = std::max<std::ptrdiff_t>(d.cut_y - s / 2, 0),
                             y1 = std::min<std::ptrdiff_t>(d.cut_y - s / 2 + s, H),
                             x0 = std::max<std::ptrdiff_t>(d.cut_x - s / 2, 0),
                             x1 = std::min<std::ptrdiff_t>(d.cut_x - s / 2 + s, W);
        for (std::size_t c = 0; c < channels; ++c)
            for (std::ptrdiff_t y = y0; y < y1; ++y)
                for (std::ptrdiff_t x = x0; x < x1; ++x)
                    dst[(c * height + std::size_t(y)) * width + std::size_t(x)] = 0.0f;
    }
}

/// Normalization only (evaluation).
inline void normalize_image(const std::uint8_t* src, std::size_t channels, std::size_t height,
                            std::size_t width, float* dst, const normalization& n) {
    augment_image(src, channels, height, width, dst,
                  augment_options{.crop_padding = 0, .flip = false}, n, augment_draw{});
}

} // namespace spinfire::data
