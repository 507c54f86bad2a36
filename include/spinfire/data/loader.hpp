#pragma once
// Mini-batch loader: shuffles per epoch and prepares the next batch on a background thread
// (per-sample work spread with TBB) while the caller trains on the current one.
//
//     data::loader L(source, 128, /*shuffle*/ true, /*augment*/ true, seed);
//     for (auto& b : L.epoch(e)) train(b.x, b.labels);
//
// The order of epoch e and every sample's augmentation are functions of (seed, epoch, sample
// index) only, so a run is reproducible whatever the thread count.
#include <algorithm>
#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <future>
#include <numeric>
#include <vector>

#include <oneapi/tbb/parallel_for.h>
#include "spinfire/core/xtensor.hpp"

#include "spinfire/core/error.hpp"
#include "spinfire/core/philox.hpp"
#include "spinfire/data/augment.hpp"

namespace spinfire::data {

/// One mini-batch: x is [B, C, H, W] for images or [T, B, 2, H, W] for event frames.
template <std::size_t Rank>
struct batch {
    xt::xtensor<float, Rank> x;
    std::vector<std::int32_t> labels; ///< B labels
    std::vector<std::size_t> indices; ///< B positions in the source (for inspection)
    std::size_t size() const { return labels.size(); }
};

/// What a loader needs from a dataset: its size, labels, the batch tensor shape for b samples,
/// and a writer that fills slot `slot` of a batch of size b with sample i (augmented or not).
template <class S>
concept sample_source = requires(const S& s, std::size_t i, float* x, std::uint64_t k, bool a) {
    { S::batch_rank } -> std::convertible_to<std::size_t>;
    { s.size() } -> std::convertible_to<std::size_t>;
    { s.label(i) } -> std::convertible_to<std::int32_t>;
    { s.batch_shape(i) } -> std::same_as<std::array<std::size_t, S::batch_rank>>;
    s.write(i, i, i, x, k, k, a); // (sample, slot, batch size, x, seed, epoch, augment)
};

template <sample_source Source>
class loader {
public:
    using batch_type = batch<Source::batch_rank>;

    /// The loader keeps a reference to source, which must outlive it.
    loader(const Source& source, std::size_t batch_size, bool shuffle, bool augment,
           std::uint64_t seed, bool drop_last = false)
        : source_(&source), batch_(batch_size), shuffle_(shuffle), augment_(augment), seed_(seed),
          drop_last_(drop_last) {
        if (batch_size == 0) throw parameter_error("batch", "must be >= 1");
        if (source.size() == 0) throw parameter_error("dataset", "is empty");
    }

    std::size_t batches_per_epoch() const {
        const std::size_t n = source_->size();
        return drop_last_ ? n / batch_ : (n + batch_ - 1) / batch_;
    }

    /// The sample order of an epoch: identity without shuffling, else a Philox permutation.
    std::vector<std::size_t> order(std::uint64_t epoch) const {
        std::vector<std::size_t> idx(source_->size());
        std::iota(idx.begin(), idx.end(), std::size_t(0));
        if (shuffle_) {
            rng::stream s(seed_ ^ detail::shuffle_domain, epoch, 0);
            rng::shuffle(idx.begin(), idx.end(), s);
        }
        return idx;
    }

    /// Assembles batch k of an epoch given its order (also what the background thread runs).
    batch_type make_batch(const std::vector<std::size_t>& order, std::uint64_t epoch,
                          std::size_t k) const {
        const std::size_t first = k * batch_;
        const std::size_t b = std::min(batch_, order.size() - first);
        batch_type out;
        out.x = xt::xtensor<float, Source::batch_rank>::from_shape(source_->batch_shape(b));
        out.indices.assign(order.begin() + std::ptrdiff_t(first),
                           order.begin() + std::ptrdiff_t(first + b));
        out.labels.resize(b);
        float* x = out.x.data();
        oneapi::tbb::parallel_for(std::size_t(0), b, [&](std::size_t slot) {
            source_->write(out.indices[slot], slot, b, x, seed_, epoch, augment_);
            out.labels[slot] = source_->label(out.indices[slot]);
        });
        return out;
    }

    class epoch_range {
    public:
        epoch_range(const loader& l, std::uint64_t e)
            : loader_(&l), epoch_(e), order_(l.order(e)), count_(l.batches_per_epoch()) {
            if (count_ > 0) launch(0);
        }
        epoch_range(const epoch_range&) = delete;
        epoch_range& operator=(const epoch_range&) = delete;
        ~epoch_range() {
            if (next_.valid()) next_.wait(); // never leave a thread writing into freed memory
        }

        struct sentinel {};
        class iterator {
        public:
            explicit iterator(epoch_range* r) : r_(r) {}
            batch_type& operator*() const { return r_->current_; }
            batch_type* operator->() const { return &r_->current_; }
            iterator& operator++() {
                r_->advance();
                return *this;
            }
            bool operator!=(sentinel) const { return r_->k_ < r_->count_; }
            bool operator==(sentinel s) const { return !(*this != s); }

        private:
            epoch_range* r_;
        };
        iterator begin() {
            if (started_) throw parameter_error("epoch", "an epoch range can be iterated once");
            started_ = true;
            k_ = 0;
            if (count_ > 0) take();
            return iterator(this);
        }
        sentinel end() const { return {}; }
        std::size_t size() const { return count_; }

    private:
        void launch(std::size_t k) {
            next_ = std::async(std::launch::async,
                               [this, k] { return loader_->make_batch(order_, epoch_, k); });
        }
        // Takes the prepared batch k_ and starts preparing k_ + 1.
        void take() {
            current_ = next_.get();
            if (k_ + 1 < count_) launch(k_ + 1);
        }
        void advance() {
            ++k_;
            if (k_ < count_) take();
        }

        const loader* loader_;
        std::uint64_t epoch_;
        std::vector<std::size_t> order_;
        std::size_t count_;
        std::size_t k_ = 0;
        bool started_ = false;
        batch_type current_;
        std::future<batch_type> next_;
    };

    /// The batches of one epoch; iterate it once with a range-for.
    epoch_range epoch(std::uint64_t e) const { return epoch_range(*this, e); }

private:
    const Source* source_;
    std::size_t batch_;
    bool shuffle_, augment_;
    std::uint64_t seed_;
    bool drop_last_;
};

} // namespace spinfire::data
