#pragma once
// The options and results of llg::ensemble: integrate_options (what every integration needs
// beside the stepper, dt and the step count), run_options (ensemble::run: the stepper by
// name, recording and threshold events as flags) and the types the built-in observers fill
// (recorded_trace, event; observers.hpp).
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "spinfire/core/error.hpp"
#include "spinfire/core/vec3.hpp"

namespace spinfire::llg {

/// The library's fixed-step steppers by name (run_options::method); integrate() takes any
/// llg::stepper type instead.
enum class integrator { rk4, heun };

inline const char* enum_name(integrator i) { return i == integrator::rk4 ? "rk4" : "heun"; }
inline integrator parse_enum(const std::string& s, integrator*, const std::string& where) {
    if (s == "rk4") return integrator::rk4;
    if (s == "heun") return integrator::heun;
    throw parameter_error(where, "unknown integrator '" + s + "' (rk4, heun)");
}

/// A threshold on the projection m.axis. A rising event fires when the projection reaches
/// level from below while armed; it re-arms once the projection is below rearm again
/// (rearm < level gives hysteresis; NaN means rearm = level). Falling events mirror this.
struct event_spec {
    vec3<double> axis{1, 0, 0};
    double level = 0;
    int direction = +1; ///< +1 rising, -1 falling
    double rearm = std::numeric_limits<double>::quiet_NaN();
};

struct event {
    std::size_t spec; ///< index into the event specs
    double time;      ///< linearly interpolated crossing time, s
};

/// What an integration needs beside stepper, dt and step count.
struct integrate_options {
    std::uint64_t seed = 0; ///< thermal-noise seed (lane i uses stream first_stream + i)
    std::uint64_t first_stream = 0;
    bool simd = true;             ///< false: scalar path (T = Real, one lane at a time)
    bool parallel = true;         ///< TBB over batches (bounded by spinfire::threads)
    double norm_tolerance = 1e-2; ///< | |m|^2 - 1 | allowed within one step before failing
};

/// ensemble::run: integrate() with the stepper named by method and the observers
/// trace_recorder (record_every) and threshold_events (events, stop_after).
struct run_options : integrate_options {
    double dt = 1e-12;     ///< time step, s
    std::size_t steps = 0; ///< steps to take (ensemble time advances by steps dt)
    integrator method = integrator::rk4;
    std::size_t record_every = 0;   ///< 0: no trace; k: record m every k steps (and at start)
    std::vector<event_spec> events; ///< thresholds to watch (events are always recorded)
    std::size_t stop_after = 0;     ///< > 0: a lane freezes after this many events
};

/// Decimated trajectory: record k is at time t0 + k interval; arrays are [lane][record].
template <class Real>
struct recorded_trace {
    std::size_t lanes = 0, records = 0;
    double t0 = 0, interval = 0;
    std::vector<Real> mx, my, mz;

    double time(std::size_t k) const { return t0 + interval * double(k); }
    vec3<double> m(std::size_t lane, std::size_t k) const {
        const std::size_t i = lane * records + k;
        return {double(mx[i]), double(my[i]), double(mz[i])};
    }
    /// m.axis for every record of one lane (e.g. the read axis m.p).
    std::vector<double> projection(std::size_t lane, const vec3<double>& axis) const {
        std::vector<double> out(records);
        for (std::size_t k = 0; k < records; ++k) out[k] = dot(m(lane, k), axis);
        return out;
    }
};

template <class Real>
struct run_result {
    recorded_trace<Real> trace;
    std::vector<std::vector<event>> events; ///< per lane, in time order
    std::vector<double> stop_time;          ///< per lane; NaN if the lane did not stop early
};

} // namespace spinfire::llg
