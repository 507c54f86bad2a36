#pragma once
// Adaptive integration of one device (scalar path, T = double) with error control, for
// deterministic runs where accuracy per unit of work matters (switching times, small-signal
// ringing). The error stepper is a type parameter (llg::error_stepper, stepper.hpp):
// Dormand-Prince 5(4) by default, or a user's embedded pair. Refused for thermal systems with
// T > 0: an adaptive step size correlates with the noise it draws and biases the result; use
// heun at a fixed dt.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "spinfire/core/error.hpp"
#include "spinfire/llg/drive.hpp"
#include "spinfire/llg/stepper.hpp"
#include "spinfire/llg/steppers.hpp"

namespace spinfire::llg {

struct adaptive_options {
    double tolerance = 1e-9;   ///< max-norm error per step, in units of |m| = 1
    double initial_dt = 1e-13; ///< first trial step, s
    double max_dt = 1e-11;     ///< upper bound on the step, s (keeps drive edges resolved)
    double min_dt = 1e-19;     ///< below this the integration is declared stiff and fails
    std::size_t max_steps = 50'000'000;
};

struct adaptive_result {
    std::vector<double> t;       ///< the requested output times
    std::vector<vec3<double>> m; ///< m at those times
    std::size_t accepted = 0, rejected = 0;
};

/// Integrates from (t_start, m0) and reports m at each of the ascending output times
/// (each >= t_start); steps are shortened to land exactly on output times.
template <class System, class ErrorStepper = dopri5>
adaptive_result solve_adaptive(const typename System::template params<double>& p, vec3<double> m0,
                               const drive& u, double t_start, const std::vector<double>& outputs,
                               adaptive_options opt = {}, const ErrorStepper& stepper = {}) {
    static_assert(error_stepper<ErrorStepper, System>,
                  "solve_adaptive: the stepper needs `nodes`, `error_order`, `name()` and "
                  "`error_step<T> try_step(f, m, u, b_th, dt) const` (see llg/stepper.hpp)");
    constexpr auto nodes = ErrorStepper::nodes;
    const std::string name = ErrorStepper::name();
    System::validate(p);
    if constexpr (System::stochastic) {
        if (System::sigma_rate(p) > 0)
            throw parameter_error("temperature",
                                  name + " (adaptive steps) is refused when temperature > 0: "
                                         "integrate thermal noise with heun at a fixed dt");
    }
    require_positive("tolerance", opt.tolerance);
    require_positive("initial_dt", opt.initial_dt);
    require_positive("max_dt", opt.max_dt);
    if (std::abs(norm(m0) - 1) > 1e-9) throw parameter_error("m0", "must be a unit vector");
    for (std::size_t i = 0; i < outputs.size(); ++i)
        if (!(outputs[i] >= (i ? outputs[i - 1] : t_start)))
            throw parameter_error("outputs", "must be ascending and >= t_start");

    adaptive_result r;
    const double gp = System::reduced_gamma(p);
    double t = t_start, h = std::min(opt.initial_dt, opt.max_dt);
    vec3<double> m = m0;
    drive_values<ErrorStepper, double> uv;
    const vec3<double> no_noise(0, 0, 0);
    for (double target : outputs) {
        while (t < target) {
            const bool last = t + h >= target;
            const double hs = last ? target - t : h;
            // one-sided limits at the step's ends: an edge on an output time (where steps
            // land exactly) is the end of one step and the start of the next
            for (std::size_t i = 0; i < nodes.size(); ++i)
                uv[i] = nodes[i] == 0.0   ? u.limit(t, +1, 1e-6 * hs)
                        : nodes[i] == 1.0 ? u.limit(t + hs, -1, 1e-6 * hs)
                                          : u(t + nodes[i] * hs);
            const auto trial = stepper.try_step(rhs<System, double>{p, gp}, m, uv, no_noise, hs);
            const double err = trial.error / opt.tolerance;
            if (!std::isfinite(err))
                throw numeric_error(name + ": non-finite state at t = " + spinfire::detail::num(t) +
                                    " s");
            if (err <= 1) {
                m = normalized(trial.m);
                t = last ? target : t + hs;
                ++r.accepted;
            } else {
                ++r.rejected;
            }
            // Standard controller: safety 0.9, growth limited to [0.2, 5].
            const double f =
                err > 0 ? 0.9 * std::pow(err, -1.0 / double(ErrorStepper::error_order)) : 5.0;
            const double proposed = std::min(opt.max_dt, hs * std::clamp(f, 0.2, 5.0));
            // A step shortened to land on an output time says little about the next one:
            // keep the longer of the proposal and the step size before shortening.
            h = (last && err <= 1) ? std::max(proposed, std::min(h, opt.max_dt)) : proposed;
            if (h < opt.min_dt)
                throw numeric_error(name + ": step size underflow at t = " +
                                    spinfire::detail::num(t) + " s (stiff or singular system)");
            if (r.accepted + r.rejected > opt.max_steps)
                throw numeric_error(name + ": more than max_steps steps before t = " +
                                    spinfire::detail::num(target) + " s");
        }
        r.t.push_back(target);
        r.m.push_back(m);
    }
    return r;
}

} // namespace spinfire::llg
