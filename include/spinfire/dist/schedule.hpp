#pragma once
// Which rank runs which of n independent work items (sweep chunks, groups of devices):
//   blocks   rank r takes the contiguous items [r n / size, (r + 1) n / size)
//   cyclic   item k goes to rank k mod size (spreads slow regions of a grid)
//   dynamic  each rank takes the next unclaimed item from a counter held by rank 0
//            (MPI one-sided fetch-and-add), so fast ranks take more
// Results never depend on the schedule: an item computes the same bits wherever it runs.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "spinfire/core/error.hpp"
#include "spinfire/dist/mpi.hpp"

namespace spinfire::dist {

enum class schedule { blocks, cyclic, dynamic };

inline const char* enum_name(schedule s) {
    switch (s) {
    case schedule::blocks:
        return "blocks";
    case schedule::cyclic:
        return "cyclic";
    case schedule::dynamic:
        return "dynamic";
    }
    return "?";
}
inline schedule parse_enum(const std::string& s, schedule*, const std::string& where) {
    if (s == "blocks") return schedule::blocks;
    if (s == "cyclic") return schedule::cyclic;
    if (s == "dynamic") return schedule::dynamic;
    throw parameter_error(where, "unknown schedule '" + s + "' (blocks, cyclic, dynamic)");
}

namespace detail {
/// A shared counter at rank 0; next() returns 0, 1, 2, ... across all ranks, each once.
class work_counter {
public:
    explicit work_counter(const communicator& comm) {
        const MPI_Aint bytes = comm.root() ? sizeof(std::int64_t) : 0;
        check(MPI_Win_allocate(bytes, sizeof(std::int64_t), MPI_INFO_NULL, comm.native(), &base_,
                               &win_),
              "MPI_Win_allocate");
        if (comm.root()) *static_cast<std::int64_t*>(base_) = 0;
        comm.barrier(); // the counter is zero before anyone takes from it
    }
    work_counter(const work_counter&) = delete;
    work_counter& operator=(const work_counter&) = delete;
    ~work_counter() { MPI_Win_free(&win_); }
    std::int64_t next() {
        const std::int64_t one = 1;
        std::int64_t got = 0;
        check(MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, win_), "MPI_Win_lock");
        check(MPI_Fetch_and_op(&one, &got, MPI_INT64_T, 0, 0, MPI_SUM, win_), "MPI_Fetch_and_op");
        check(MPI_Win_unlock(0, win_), "MPI_Win_unlock");
        return got;
    }

private:
    void* base_ = nullptr;
    MPI_Win win_ = MPI_WIN_NULL;
};
} // namespace detail

/// Runs run(k) for the items this rank owns under s; returns them in the order run.
/// Collective: every rank of comm must call it with the same n and s.
template <class Run>
std::vector<std::size_t> for_my_items(const communicator& comm, std::size_t n, schedule s,
                                      Run&& run) {
    std::vector<std::size_t> mine;
    const auto r = std::size_t(comm.rank()), p = std::size_t(comm.size());
    if (s == schedule::dynamic) {
        detail::work_counter counter(comm);
        for (auto k = counter.next(); std::size_t(k) < n; k = counter.next()) {
            run(std::size_t(k));
            mine.push_back(std::size_t(k));
        }
        comm.barrier(); // nobody frees the window while others still take from it
        return mine;
    }
    for (std::size_t k = 0; k < n; ++k) {
        const bool owned = s == schedule::blocks ? k * p / n == r : k % p == r;
        if (owned) {
            run(k);
            mine.push_back(k);
        }
    }
    return mine;
}

} // namespace spinfire::dist
