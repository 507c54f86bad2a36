#pragma once
// One thread budget for the whole library: TBB (element-wise kernels, ensembles, loaders)
// and oneDNN's OpenMP team are sized together and never nested.
//
// OpenMP is oneDNN's runtime (libdnnl loads libgomp), not ours: the budget looks the OpenMP
// entry points up in the running process instead of linking them, so a program without
// nn/ (llg, neuron) needs no OpenMP, and one definition of this class serves every
// translation unit whatever its flags.
#include <algorithm>
#include <cstddef>
#include <string>
#include <memory>
#include <dlfcn.h>
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
        if (const auto omp = openmp::find()) {
            previous_omp_ = omp.get_max_threads();
            omp.set_num_threads(int(n));
        }
        control_ = std::make_unique<oneapi::tbb::global_control>(
            oneapi::tbb::global_control::max_allowed_parallelism, n);
    }
    ~threads() {
        if (const auto omp = openmp::find(); omp && previous_omp_ > 0)
            omp.set_num_threads(previous_omp_);
    }
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
    /// The OpenMP runtime loaded in this process, if any (null entry points otherwise).
    struct openmp {
        int (*get_max_threads)() = nullptr;
        void (*set_num_threads)(int) = nullptr;
        explicit operator bool() const { return get_max_threads && set_num_threads; }
        static openmp find() {
            return {reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "omp_get_max_threads")),
                    reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"))};
        }
    };

    std::unique_ptr<oneapi::tbb::global_control> control_;
    int previous_omp_ = 0; // 0: no OpenMP runtime was sized
};

} // namespace spinfire
