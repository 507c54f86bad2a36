#pragma once
// A labelled set of 8-bit images stored channel-planar, [N, C, H, W], the layout of the
// CIFAR-10 binary records, so the binary reader fills it with one copy per record.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "spinfire/core/xtensor.hpp"

#include "spinfire/core/error.hpp"

namespace spinfire::data {

struct image_set {
    xt::xtensor<std::uint8_t, 4> pixels;  ///< [N, C, H, W], 0..255
    std::vector<std::int32_t> labels;     ///< N labels in [0, class_names.size())
    std::vector<std::string> class_names; ///< label -> name

    std::size_t size() const { return labels.size(); }
    std::size_t channels() const { return pixels.shape()[1]; }
    std::size_t height() const { return pixels.shape()[2]; }
    std::size_t width() const { return pixels.shape()[3]; }
    std::size_t image_size() const { return channels() * height() * width(); }
    const std::uint8_t* image(std::size_t i) const { return pixels.data() + i * image_size(); }
    std::uint8_t* image(std::size_t i) { return pixels.data() + i * image_size(); }
};

/// The images at the given positions, in that order (a subset or a reordering).
inline image_set select(const image_set& s, const std::vector<std::size_t>& which) {
    image_set out;
    out.class_names = s.class_names;
    out.pixels = xt::xtensor<std::uint8_t, 4>::from_shape(
        {which.size(), s.channels(), s.height(), s.width()});
    out.labels.reserve(which.size());
    const std::size_t n = s.image_size();
    for (std::size_t k = 0; k < which.size(); ++k) {
        if (which[k] >= s.size())
            throw parameter_error("which", std::string("index ") + std::to_string(which[k]) +
                                               std::string(" >= set size ") +
                                               std::to_string(s.size()));
        const std::uint8_t* src = s.image(which[k]);
        std::copy(src, src + n, out.image(k));
        out.labels.push_back(s.labels[which[k]]);
    }
    return out;
}

} // namespace spinfire::data
