#pragma once
// One thread budget for the whole library: TBB (element-wise kernels, ensembles, loaders)
// and oneDNN's OpenMP team are sized together and never nested.
#include <algorithm>
#include <cstddef>
#include <string>
#include <memory>
#include <omp.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/info.h>

#include "spinfire/core/error.hpp"

namespace spinfire {

/// Sets the number of worker threads for TBB and OpenMP while alive; restores on exit.
class threads {
public:
    explicit threads(std::size_t n) {
        if (n == 0) throw parameter_error("threads", "must be >= 1");
        if (n > limit())
            throw parameter_error("threads", "must be <= " + std::to_string(limit()) +
                                                 " (4 x the " + std::to_string(available()) +
                                                 " hardware threads), got " + std::to_string(n));
        previous_omp_ = omp_get_max_threads();
        omp_set_num_threads(int(n));
        control_ = std::make_unique<oneapi::tbb::global_control>(
            oneapi::tbb::global_control::max_allowed_parallelism, n);
    }
    ~threads() { omp_set_num_threads(previous_omp_); }
    threads(const threads&) = delete;
    threads& operator=(const threads&) = delete;

    /// Threads TBB may use right now.
    static std::size_t current() {
        return oneapi::tbb::global_control::active_value(
            oneapi::tbb::global_control::max_allowed_parallelism);
    }
    /// The most threads a budget may ask for: 4 x the hardware threads (at least 16). More
    /// only adds contention (a thread storm), and OpenMP takes an int.
    static std::size_t limit() { return std::max<std::size_t>(16, 4 * available()); }
    /// Hardware threads available to this process.
    static std::size_t available() { return std::size_t(oneapi::tbb::info::default_concurrency()); }

private:
    std::unique_ptr<oneapi::tbb::global_control> control_;
    int previous_omp_ = 1;
};

} // namespace spinfire
