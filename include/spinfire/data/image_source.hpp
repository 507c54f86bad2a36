#pragma once
// An image set as a loader source: batches [B, C, H, W] of normalized floats, augmented on
// request with draws keyed by (seed, epoch, image index).
#include <array>
#include <cstddef>
#include <cstdint>

#include "spinfire/data/augment.hpp"
#include "spinfire/data/image_set.hpp"

namespace spinfire::data {

class image_source {
public:
    static constexpr std::size_t batch_rank = 4;

    /// Keeps a reference to set, which must outlive the source.
    image_source(const image_set& set, normalization norm, augment_options aug = {})
        : set_(&set), norm_(norm), aug_(aug) {}

    std::size_t size() const { return set_->size(); }
    std::int32_t label(std::size_t i) const { return set_->labels[i]; }
    std::array<std::size_t, 4> batch_shape(std::size_t b) const {
        return {b, set_->channels(), set_->height(), set_->width()};
    }
    void write(std::size_t i, std::size_t slot, std::size_t /*batch*/, float* x,
               std::uint64_t seed, std::uint64_t epoch, bool augment) const {
        const std::size_t C = set_->channels(), H = set_->height(), W = set_->width();
        float* dst = x + slot * C * H * W;
        if (augment)
            augment_image(set_->image(i), C, H, W, dst, aug_, norm_,
                          draw_augment(aug_, H, W, seed, epoch, i));
        else
            normalize_image(set_->image(i), C, H, W, dst, norm_);
    }

private:
    const image_set* set_;
    normalization norm_;
    augment_options aug_;
};

} // namespace spinfire::data
