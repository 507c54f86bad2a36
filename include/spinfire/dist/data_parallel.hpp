#pragma once
// Data-parallel training over MPI: nn::replica_group for the trainer and the graph.
//
// Gradients are averaged in buckets of about bucket_bytes, filled with the parameters in
// reverse forward order (the order backward finishes them). A bucket's MPI_Iallreduce starts
// as soon as its last parameter's gradient is ready, so it runs while backward computes the
// layers in front of it; every announcement also tests the pending requests, because MPI
// progresses non-blocking collectives only inside MPI calls. average_gradients waits for all
// of them and writes grad = sum / P back. Buckets are copies (the parameters' gradients are
// separate arrays): two copies of the gradient per step, small beside backward.
//
// Collectives run on a duplicate of the communicator, so the sweeps' or a program's own
// collectives never interleave with them. Every process announces the same parameters in
// the same order (same network, same backward), so the buckets start in the same order
// everywhere, as MPI requires of collectives on one communicator.
#include <mpi.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "spinfire/core/error.hpp"
#include "spinfire/dist/mpi.hpp"
#include "spinfire/nn/replicas.hpp"

namespace spinfire::dist {

class data_parallel final : public nn::replica_group {
public:
    explicit data_parallel(const communicator& comm, std::size_t bucket_bytes = std::size_t(1)
                                                                                << 20)
        : bucket_floats_(std::max<std::size_t>(bucket_bytes / sizeof(float), 1)) {
        detail::check(MPI_Comm_dup(comm.native(), &comm_), "MPI_Comm_dup");
        rank_ = std::size_t(comm.rank());
        size_ = std::size_t(comm.size());
    }
    data_parallel(const data_parallel&) = delete;
    data_parallel& operator=(const data_parallel&) = delete;
    ~data_parallel() { MPI_Comm_free(&comm_); }

    std::size_t rank() const override { return rank_; }
    std::size_t size() const override { return size_; }
    /// Buckets of the last share() (for reports and tests).
    std::size_t buckets() const { return buckets_.size(); }

    void sum(double* v, std::size_t n) override {
        detail::check(MPI_Allreduce(MPI_IN_PLACE, v, int(n), MPI_DOUBLE, MPI_SUM, comm_),
                      "MPI_Allreduce");
    }

    void share(std::span<nn::parameter* const> params,
               std::span<nn::buffer* const> buffers) override {
        for (auto* p : params) {
            broadcast(p->value.data(), p->size());
            p->touch(); // layers rebuild their cached (blocked, bf16, folded) weights
        }
        for (auto* b : buffers) broadcast(b->value.data(), b->value.size());
        buckets_.clear();
        where_.clear();
        for (auto it = params.rbegin(); it != params.rend(); ++it) {
            nn::parameter* p = *it;
            if (buckets_.empty() || buckets_.back().data.size() >= bucket_floats_)
                buckets_.emplace_back();
            bucket& b = buckets_.back();
            if (b.data.size() + p->size() > std::size_t(INT32_MAX))
                throw error("dist::data_parallel: a parameter of more than 2^31 floats");
            where_[p] = {buckets_.size() - 1, b.data.size()};
            b.members.push_back({p, b.data.size()});
            b.data.resize(b.data.size() + p->size());
        }
        for (auto& b : buckets_) b.pending = b.members.size();
        requests_.assign(buckets_.size(), MPI_REQUEST_NULL);
    }

    void gradient_ready(nn::parameter& p) override {
        const auto it = where_.find(&p);
        if (it == where_.end())
            throw error("dist::data_parallel: a gradient of a parameter share() was not given");
        const auto [k, offset] = it->second;
        bucket& b = buckets_[k];
        if (b.pending == 0)
            throw error("dist::data_parallel: a gradient announced twice in one step");
        std::copy(p.grad.begin(), p.grad.end(), b.data.begin() + std::ptrdiff_t(offset));
        if (--b.pending == 0) start(k);
        int done = 0; // progress the buckets in flight
        detail::check(
            MPI_Testall(int(requests_.size()), requests_.data(), &done, MPI_STATUSES_IGNORE),
            "MPI_Testall");
    }

    void average_gradients() override {
        // a parameter no layer announced (none does today) is reduced here, unoverlapped
        for (std::size_t k = 0; k < buckets_.size(); ++k) {
            bucket& b = buckets_[k];
            if (b.pending == 0) continue;
            for (const auto& m : b.members)
                std::copy(m.p->grad.begin(), m.p->grad.end(),
                          b.data.begin() + std::ptrdiff_t(m.offset));
            b.pending = 0;
            start(k);
        }
        detail::check(MPI_Waitall(int(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE),
                      "MPI_Waitall");
        const float scale = 1.0f / float(size_);
        for (auto& b : buckets_) {
            for (const auto& m : b.members) {
                const float* src = b.data.data() + m.offset;
                float* g = m.p->grad.data();
                for (std::size_t i = 0, n = m.p->size(); i < n; ++i) g[i] = src[i] * scale;
            }
            b.pending = b.members.size();
        }
    }

private:
    struct member {
        nn::parameter* p;
        std::size_t offset; ///< in the bucket's data
    };
    struct bucket {
        std::vector<float> data;
        std::vector<member> members;
        std::size_t pending = 0; ///< gradients not yet announced this step
    };

    void start(std::size_t k) {
        auto& d = buckets_[k].data;
        detail::check(MPI_Iallreduce(MPI_IN_PLACE, d.data(), int(d.size()), MPI_FLOAT, MPI_SUM,
                                     comm_, &requests_[k]),
                      "MPI_Iallreduce");
    }
    void broadcast(float* v, std::size_t n) {
        if (n > std::size_t(INT32_MAX)) throw error("dist::data_parallel: a tensor of 2^31 floats");
        detail::check(MPI_Bcast(v, int(n), MPI_FLOAT, 0, comm_), "MPI_Bcast");
    }

    MPI_Comm comm_ = MPI_COMM_NULL;
    std::size_t rank_ = 0, size_ = 1, bucket_floats_;
    std::vector<bucket> buckets_;
    std::unordered_map<const nn::parameter*, std::pair<std::size_t, std::size_t>> where_;
    std::vector<MPI_Request> requests_;
};

} // namespace spinfire::dist
