#pragma once
// The MPI layer of spinfire: every MPI call of the library is in dist/. Only built with
// -DSPINFIRE_WITH_MPI=ON (target spinfire::dist); the rest of the library never includes it.
//
// environment: MPI_Init_thread / MPI_Finalize for a program's lifetime (FUNNELED: TBB and
// oneDNN threads never call MPI). communicator: rank, size, and the byte-level collectives
// the distributed sweeps and training use. Failures throw spinfire::error naming the call.
#include <mpi.h>

#include <cstddef>
#include <cstdlib>
#include <cstdint>
#include <string>
#include <vector>

#include "spinfire/core/error.hpp"

namespace spinfire::dist {

namespace detail {
inline void check(int rc, const char* call) {
    if (rc == MPI_SUCCESS) return;
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    throw error(std::string(call) + ": " + std::string(msg, std::size_t(len)));
}
} // namespace detail

class environment {
public:
    environment(int& argc, char**& argv) {
        int provided = 0;
        detail::check(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided),
                      "MPI_Init_thread");
        if (provided < MPI_THREAD_FUNNELED)
            throw error("MPI_Init_thread: the MPI library does not provide MPI_THREAD_FUNNELED");
    }
    environment(const environment&) = delete;
    environment& operator=(const environment&) = delete;
    ~environment() { MPI_Finalize(); }
    /// Ends every rank: for an error on one rank while the others wait in a collective.
    [[noreturn]] static void abort(int code) {
        MPI_Abort(MPI_COMM_WORLD, code);
        std::abort();
    }
};

class communicator {
public:
    explicit communicator(MPI_Comm c = MPI_COMM_WORLD) : comm_(c) {
        detail::check(MPI_Comm_rank(c, &rank_), "MPI_Comm_rank");
        detail::check(MPI_Comm_size(c, &size_), "MPI_Comm_size");
    }
    int rank() const { return rank_; }
    int size() const { return size_; }
    bool root() const { return rank_ == 0; }
    MPI_Comm native() const { return comm_; }

    void barrier() const { detail::check(MPI_Barrier(comm_), "MPI_Barrier"); }

    /// Every rank's bytes, in rank order, at rank 0 (empty elsewhere).
    std::vector<std::string> gather(const std::string& mine) const {
        const auto n = static_cast<std::uint64_t>(mine.size());
        std::vector<std::uint64_t> sizes(root() ? std::size_t(size_) : 0);
        detail::check(MPI_Gather(&n, 1, MPI_UINT64_T, sizes.data(), 1, MPI_UINT64_T, 0, comm_),
                      "MPI_Gather");
        std::vector<int> counts, offsets;
        std::string all;
        if (root()) {
            std::uint64_t total = 0;
            for (auto s : sizes) {
                if (total + s > std::uint64_t(INT32_MAX))
                    throw error("dist::gather: more than 2 GiB gathered at rank 0");
                counts.push_back(int(s));
                offsets.push_back(int(total));
                total += s;
            }
            all.resize(total);
        }
        detail::check(MPI_Gatherv(mine.data(), int(n), MPI_BYTE, all.data(), counts.data(),
                                  offsets.data(), MPI_BYTE, 0, comm_),
                      "MPI_Gatherv");
        std::vector<std::string> out;
        for (std::size_t r = 0; root() && r < sizes.size(); ++r)
            out.push_back(all.substr(std::size_t(offsets[r]), std::size_t(counts[r])));
        return out;
    }

    /// Sum of v over ranks, in place, on every rank.
    void allreduce_sum(float* v, std::size_t n) const {
        detail::check(MPI_Allreduce(MPI_IN_PLACE, v, int(n), MPI_FLOAT, MPI_SUM, comm_),
                      "MPI_Allreduce");
    }

private:
    MPI_Comm comm_;
    int rank_ = 0, size_ = 1;
};

} // namespace spinfire::dist
