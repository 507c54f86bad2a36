#pragma once
// Device sweeps over MPI ranks: the sweep's chunks (fit::plan_sweep) or the Monte Carlo
// devices (fit::plan_variability) are handed out by a schedule, each rank runs its share
// with its own threads, and rank 0 gathers the rows in grid order. Every item computes the
// same bits wherever it runs, so rank 0's result, and every file written from it, equals a
// single-process run with the same seeds byte for byte (tests/mpi checks this).
#include <algorithm>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "spinfire/dist/mpi.hpp"
#include "spinfire/dist/pack.hpp"
#include "spinfire/dist/schedule.hpp"
#include "spinfire/fit/sweep.hpp"
#include "spinfire/fit/variability.hpp"

namespace spinfire::dist {

namespace detail {
inline void pack_spikes(packer& p, const fit::spike_comparison& c) {
    p << c.agreement << c.device_pos << c.device_neg << c.model_pos << c.model_neg << c.missed
      << c.extra << c.sign_errors;
}
inline void unpack_spikes(unpacker& u, fit::spike_comparison& c) {
    u >> c.agreement >> c.device_pos >> c.device_neg >> c.model_pos >> c.model_neg >> c.missed >>
        c.extra >> c.sign_errors;
}
inline void pack_row(packer& p, const fit::sweep_row& r) {
    p << r.index << r.point << r.model << r.quality;
    pack_spikes(p, r.spikes);
    p << r.one_step_r2 << r.energy_per_step << r.energy_per_spike << r.step_ns << r.cls
      << r.failure;
}
inline void unpack_row(unpacker& u, fit::sweep_row& r) {
    u >> r.index >> r.point >> r.model >> r.quality;
    unpack_spikes(u, r.spikes);
    u >> r.one_step_r2 >> r.energy_per_step >> r.energy_per_spike >> r.step_ns >> r.cls >>
        r.failure;
}
inline void pack_outcome(packer& p, const fit::device_outcome& o) {
    p << o.failure << o.model << o.nrmse << o.read_noise;
    pack_spikes(p, o.spikes);
}
inline void unpack_outcome(unpacker& u, fit::device_outcome& o) {
    u >> o.failure >> o.model >> o.nrmse >> o.read_noise;
    unpack_spikes(u, o.spikes);
}
} // namespace detail

/// fit::run_sweep over the ranks of comm (collective). Returns every row at rank 0 and
/// nothing elsewhere; progress(done, total) reports this rank's chunks.
inline std::vector<fit::sweep_row>
run_sweep(const communicator& comm, const fit::sweep_config& c, const fit::sweep_grid& g,
          schedule s = schedule::dynamic,
          const std::function<void(std::size_t, std::size_t)>& progress = {}) {
    auto plan = fit::plan_sweep(c, g);
    const std::size_t n = plan.rows.size();
    packer out;
    for_my_items(comm, plan.chunks.size(), s, [&](std::size_t k) {
        fit::run_sweep_chunk(c, plan, k);
        const auto [begin, end] = plan.chunks[k];
        for (std::size_t i = begin; i < end; ++i) detail::pack_row(out, plan.rows[i]);
        if (progress) progress(end, n);
    });
    const auto parts = comm.gather(out.bytes());
    if (!comm.root()) return {};
    for (const auto& part : parts) {
        unpacker in(part);
        while (!in.done()) {
            fit::sweep_row r;
            detail::unpack_row(in, r);
            if (r.index >= n) throw error("dist::run_sweep: row index out of range");
            plan.rows[r.index] = std::move(r);
        }
    }
    return std::move(plan.rows);
}

/// fit::run_variability over the ranks of comm (collective), in items of `group` devices
/// (one ensemble run each). The result is complete at rank 0; elsewhere it holds only the
/// nominal fit and the drawn devices.
inline fit::variability_result
run_variability(const communicator& comm, const device::mtj& nominal, const fit::protocol& p,
                const fit::variability_spec& spec, std::span<const double> x,
                const fit::sot_line& line = {}, const fit::fit_options& fo = {},
                schedule s = schedule::dynamic, std::size_t group = 16) {
    if (group == 0) throw parameter_error("group", "must be >= 1");
    auto plan = fit::plan_variability(nominal, p, spec, x, line, fo);
    const std::size_t n = plan.lanes.size(), items = (n + group - 1) / group;
    packer out;
    for_my_items(comm, items, s, [&](std::size_t k) {
        const std::size_t begin = k * group, end = std::min(n, begin + group);
        out << std::uint64_t(begin) << std::uint64_t(end);
        for (const auto& o : fit::run_devices(plan, spec, x, begin, end, fo))
            detail::pack_outcome(out, o);
    });
    const auto parts = comm.gather(out.bytes());
    std::vector<fit::device_outcome> outcomes(n);
    if (comm.root()) {
        for (const auto& part : parts) {
            unpacker in(part);
            while (!in.done()) {
                std::uint64_t begin = 0, end = 0;
                in >> begin >> end;
                if (begin > end || end > n)
                    throw error("dist::run_variability: device range out of bounds");
                for (auto i = begin; i < end; ++i) detail::unpack_outcome(in, outcomes[i]);
            }
        }
        return fit::summarize_variability(std::move(plan), outcomes);
    }
    fit::variability_result partial;
    partial.nominal = std::move(plan.nominal);
    partial.devices = std::move(plan.devices);
    return partial;
}

} // namespace spinfire::dist
