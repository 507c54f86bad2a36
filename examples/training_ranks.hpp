#pragma once
// The MPI side of the two training programs (train_cifar10, train_cifar10_dvs) in one place.
// Built with -DSPINFIRE_WITH_MPI=ON and started by mpirun, every rank trains on its shard of
// each global batch and only rank 0 prints and writes; otherwise there is one process and
// every member here is trivial, so the programs read the same either way.
#include <cstdio>

#include <CLI/CLI.hpp>

#include <spinfire/core/error.hpp>
#include <spinfire/train/cli.hpp>
#ifdef SPINFIRE_WITH_MPI
#include <spinfire/dist.hpp>
#endif

namespace spinfire::examples {

class training_ranks {
public:
    /// Starts MPI (when built with it) before the command line is parsed, and sends the other
    /// ranks' standard output to /dev/null.
    training_ranks(int& argc, char**& argv, train::parallel_options& parallel)
#ifdef SPINFIRE_WITH_MPI
        : env_(argc, argv), replicas_(comm_) {
        if (!comm_.root() && !std::freopen("/dev/null", "w", stdout))
            throw error("cannot send a non-root rank's output to /dev/null");
        if (comm_.size() > 1) parallel.replicas = &replicas_;
    }
#else
    {
        (void)argc, (void)argv, (void)parallel;
    }
#endif

    /// --sync-bn, which only means something under mpirun.
    static void add_options([[maybe_unused]] CLI::App& app,
                            [[maybe_unused]] train::parallel_options& parallel) {
#ifdef SPINFIRE_WITH_MPI
        train::add_parallel_options(app, parallel);
#endif
    }

    bool root() const {
#ifdef SPINFIRE_WITH_MPI
        return comm_.root();
#else
        return true;
#endif
    }

    /// Runs load() on rank 0 first, the others after it: rank 0 fills a decode cache that the
    /// others then read instead of decoding the same files at once.
    template <class Load>
    void root_first(Load&& load) const {
#ifdef SPINFIRE_WITH_MPI
        if (!comm_.root()) comm_.barrier();
        load();
        if (comm_.root()) comm_.barrier();
#else
        load();
#endif
    }

    /// After an error on one rank: the others may wait in a collective, so end them all.
    void abort_on_error() const {
#ifdef SPINFIRE_WITH_MPI
        if (comm_.size() > 1) dist::environment::abort(1);
#endif
    }

private:
#ifdef SPINFIRE_WITH_MPI
    dist::environment env_;
    dist::communicator comm_;
    dist::data_parallel replicas_;
#endif
};

} // namespace spinfire::examples
