#pragma once
// Ensembles: N independent devices of one System type, each lane with its own parameters,
// initial state, drive and random stream, in structure-of-arrays storage.
//
// integrate(stepper, dt, steps, observer, options) is the odeint-style entry point: the
// stepper is a type (rk4, heun, dopri5 or a user's, llg::stepper in stepper.hpp) and what is
// recorded or watched is an observer (observer.hpp; trace_recorder and threshold_events in
// observers.hpp). run(run_options) is integrate() with the stepper chosen by name and those
// two observers configured by flags.
//
// Loop order (the point of this header): TBB over groups of lanes; per group, load state and
// per-lane parameters into registers ONCE, run every step with everything in registers,
// store at the end. A group is one value of the SIMD scalar type detail::wide<batch> (two
// AVX2 batches in lockstep: 8 doubles or 16 floats) or one lane on the scalar path. The lane
// count is padded to a multiple of the group width with copies of the last lane, so there
// is no scalar tail and a lane's result does not depend on chunking or thread count. Thermal noise
// is counter-based: lane i draws rng::normal4(seed, first_stream + i, step), identical in the
// scalar and SIMD paths. Every step is checked: NaN or a drift of |m| (an unstable time
// step) stops the integration with numeric_error naming time and lane.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <string>
#include <utility>
#include <vector>

#include "spinfire/core/aligned.hpp"
#include "spinfire/core/error.hpp"
#include "spinfire/core/philox.hpp"
#include "spinfire/core/simd.hpp"
#include "spinfire/core/vec3.hpp"
#include "spinfire/llg/detail/batch_state.hpp"
#include "spinfire/llg/detail/masks.hpp"
#include "spinfire/llg/detail/philox_lanes.hpp"
#include "spinfire/llg/detail/wide.hpp"
#include "spinfire/llg/drive.hpp"
#include "spinfire/llg/observer.hpp"
#include "spinfire/llg/observers.hpp"
#include "spinfire/llg/run_options.hpp"
#include "spinfire/llg/stepper.hpp"
#include "spinfire/llg/steppers.hpp"

namespace spinfire::llg {

template <class System, class Real = double>
class ensemble {
    static_assert(std::is_same_v<Real, double> || std::is_same_v<Real, float>);

public:
    using lane_params = typename System::template params<double>;
    using batch = simd::batch<Real>;
    /// The SIMD path's scalar type: two batches stepped in lockstep (see detail/wide.hpp).
    using simd_type = detail::wide<batch>;
    static constexpr std::size_t width = simd::lanes_v<simd_type>;

    /// n lanes, all with parameters p, initial unit vector m0 and drive u.
    ensemble(std::size_t n, const lane_params& p, const vec3<double>& m0,
             const llg::drive& u = llg::drive::dc(0))
        : n_(n), params_(n, p), drives_(n, u), mx_(n, m0.x), my_(n, m0.y), mz_(n, m0.z) {
        if (n == 0) throw parameter_error("lanes", "an ensemble needs at least one lane");
    }

    std::size_t size() const { return n_; }
    double time() const { return t_; }
    std::uint64_t steps_taken() const { return step_; }

    lane_params& params(std::size_t i) { return params_.at(i); }
    const lane_params& params(std::size_t i) const { return params_.at(i); }
    void set_params(std::size_t i, const lane_params& p) { params_.at(i) = p; }
    void set_drive(std::size_t i, const llg::drive& u) { drives_.at(i) = u; }
    const llg::drive& drive(std::size_t i) const { return drives_.at(i); }
    void set_m(std::size_t i, const vec3<double>& m) {
        mx_.at(i) = Real(m.x), my_.at(i) = Real(m.y), mz_.at(i) = Real(m.z);
    }
    vec3<double> m(std::size_t i) const {
        return {double(mx_.at(i)), double(my_.at(i)), double(mz_.at(i))};
    }
    /// Resets the clock (and the noise counter) to t.
    void set_time(double t) { t_ = t, step_ = 0; }

    /// Advances every lane by `steps` steps of dt with stepper (llg::stepper), calling the
    /// observer's hooks (observer.hpp); returns the ensemble time after them.
    template <class Stepper, class Observer = no_observer>
    double integrate(const Stepper& stepper, double dt, std::size_t steps, Observer&& observer = {},
                     const integrate_options& opt = {}) {
        static_assert(detail::check_stepper<Stepper, System, Real>::value);
        validate(dt, opt, Stepper::name(), Stepper::stochastic);
        detail::observer_begin(observer, run_info{n_, steps, t_, dt});
        if (opt.simd)
            dispatch<simd_type>(stepper, dt, steps, observer, opt);
        else
            dispatch<Real>(stepper, dt, steps, observer, opt);
        t_ += double(steps) * dt;
        step_ += steps;
        return t_;
    }

    /// Advances every lane by opt.steps steps of opt.dt with rk4 or heun, recording and
    /// watching events as opt asks.
    run_result<Real> run(const run_options& opt) {
        require_positive("dt", opt.dt);
        require_positive("norm_tolerance", opt.norm_tolerance);
        threshold_events events(opt.events, opt.stop_after);
        trace_recorder<Real> recorder(opt.record_every);
        if (opt.method == integrator::rk4)
            integrate(rk4{}, opt.dt, opt.steps, observers(events, recorder), opt);
        else
            integrate(heun{}, opt.dt, opt.steps, observers(events, recorder), opt);
        run_result<Real> res;
        res.trace = std::move(recorder).trace();
        res.stop_time = events.stop_time();
        res.events = std::move(events).events();
        return res;
    }

private:
    void validate(double dt, const integrate_options& opt, const char* stepper,
                  bool stochastic) const {
        require_positive("dt", dt);
        require_positive("norm_tolerance", opt.norm_tolerance);
        for (std::size_t i = 0; i < n_; ++i) {
            try {
                System::validate(params_[i]);
            } catch (const parameter_error& e) {
                throw parameter_error(e.name(), e.reason() + " (lane " + std::to_string(i) + ")");
            }
            const double n2 =
                double(mx_[i]) * mx_[i] + double(my_[i]) * my_[i] + double(mz_[i]) * mz_[i];
            if (!(std::abs(n2 - 1) < 1e-6))
                throw parameter_error("m", "lane " + std::to_string(i) +
                                               ": initial m must be a unit vector");
            if (!stochastic && System::sigma_rate(params_[i]) > 0)
                throw parameter_error(
                    "integrator", std::string(stepper) + " cannot integrate thermal noise (lane " +
                                      std::to_string(i) +
                                      " has temperature > 0): use a stochastic stepper, "
                                      "llg::heun (integrator::heun)");
        }
    }

    template <class T, class Stepper, class Observer>
    void dispatch(const Stepper& stepper, double dt, std::size_t steps, Observer& observer,
                  const integrate_options& opt) {
        constexpr std::size_t g = simd::lanes_v<T>;
        const std::size_t groups = (n_ + g - 1) / g;
        auto body = [&](std::size_t b0, std::size_t b1) {
            for (std::size_t b = b0; b < b1; ++b)
                run_group<T>(b * g, stepper, dt, steps, observer, opt);
        };
        if (opt.parallel && groups > 1)
            oneapi::tbb::parallel_for(oneapi::tbb::blocked_range<std::size_t>(0, groups, 1),
                                      [&](const auto& r) { body(r.begin(), r.end()); });
        else
            body(0, groups);
    }

    /// The drive at the stepper's nodes for the step [t, t_end]: one-sided limits at its
    /// ends, so an edge at a step boundary ends one step and starts the next whatever the
    /// rounding of t (drive::limit).
    template <class Stepper, class T, std::size_t... I>
    static SPINFIRE_INLINE void drive_at_nodes(const detail::batch_state<System, T>& b,
                                               drive_values<Stepper, T>& u, double t, double t_end,
                                               double dt, std::index_sequence<I...>) {
        const double eps = 1e-6 * dt;
        ((u[I] = Stepper::nodes[I] == 0.0   ? b.drive_at(t, +1, eps)
                 : Stepper::nodes[I] == 1.0 ? b.drive_at(t_end, -1, eps)
                                            : b.drive_at(t + Stepper::nodes[I] * dt)),
         ...);
    }

    template <class T, class Stepper, class Observer>
    void run_group(std::size_t first, const Stepper& stepper, double dt_s, std::size_t steps,
                   Observer& observer, const integrate_options& opt) {
        using M = detail::mask_t<T>;
        detail::batch_state<System, T> b(first, params_, drives_, mx_, my_, mz_, dt_s);
        lane_group<T>& g = b.lanes;
        auto&& obs = detail::observer_group(observer, g);
        // Hot state in locals (registers/L1), cold bookkeeping in b.
        const typename System::template params<T> p = b.p;
        const T gp = b.gp, sigma = b.sigma;
        vec3<T> m = g.m;
        drive_values<Stepper, T> u;
        u.fill(b.drive_at(t_));
        const bool const_drive = b.const_drive, noisy = b.noisy;
        const T dt = T(Real(dt_s));
        const T tol = T(Real(opt.norm_tolerance));
        detail::observer_start(obs, g);
        std::size_t s = 0;
        for (; s < steps; ++s) {
            const double t = t_ + double(s) * dt_s;
            if (!const_drive)
                drive_at_nodes<Stepper>(b, u, t, t_ + double(s + 1) * dt_s, dt_s,
                                        std::make_index_sequence<Stepper::nodes.size()>{});
            vec3<T> bth(T(0), T(0), T(0));
            if constexpr (Stepper::stochastic && System::stochastic) {
                if (noisy) {
                    const std::uint64_t stream = opt.first_stream + first, counter = step_ + s;
                    std::array<T, 4> z;
                    if constexpr (simd::is_batch_v<T>)
                        z = detail::normal4_lanes<T>(opt.seed, stream, counter);
                    else
                        z = rng::normal4<T>(opt.seed, stream, counter);
                    bth = vec3<T>(sigma * z[0], sigma * z[1], sigma * z[2]);
                }
            }
            // Initialized from an always-inline call: assigning or storing a result struct
            // makes GCC copy it with memmove, and a lambda is not inlined.
            const step_result<T> r = stepper.step(rhs<System, T>{p, gp}, m, u, bth, dt);
            const M bad = !(math::abs(r.norm2 - T(1)) <= tol);
            if (simd::any(bad)) fail<T>(bad, r.norm2, t + dt_s, first);
            if (g.any_frozen) {
                m.x = math::select(g.active, r.m.x, m.x);
                m.y = math::select(g.active, r.m.y, m.y);
                m.z = math::select(g.active, r.m.z, m.z);
            } else {
                m = r.m;
            }
            if (detail::observer_due<T>(obs, s + 1)) {
                g.m = m;
                detail::observer_observe(obs, g, s + 1, t);
                if (g.any_frozen && g.n_active == 0) {
                    ++s;
                    break;
                }
            }
        }
        g.m = m;
        detail::observer_finish(obs, g, s);
        b.store(mx_, my_, mz_);
    }

    template <class T, class M>
    [[noreturn]] void fail(const M& bad, const T& n2, double t, std::size_t first) const {
        for (std::size_t i = 0; i < simd::lanes_v<T>; ++i) {
            if (!detail::mask_lane<T>(bad, i)) continue;
            const std::size_t lane = std::min(first + i, n_ - 1);
            throw numeric_error("llg: |m| lost at t = " + spinfire::detail::num(t) + " s in lane " +
                                std::to_string(lane) +
                                " (|m|^2 = " + spinfire::detail::num(double(simd::lane(n2, i))) +
                                " before renormalization): NaN or an unstable time step; "
                                "reduce dt or check the parameters");
        }
        throw numeric_error("llg: |m| lost");
    }

    std::size_t n_;
    std::vector<lane_params> params_;
    std::vector<llg::drive> drives_;
    aligned_vector<Real> mx_, my_, mz_;
    double t_ = 0;
    std::uint64_t step_ = 0;
};

/// odeint's name for ens.integrate(stepper, dt, steps, observer, opt).
template <class System, class Real, class Stepper, class Observer = no_observer>
double integrate_n_steps(ensemble<System, Real>& ens, const Stepper& stepper, double dt,
                         std::size_t steps, Observer&& observer = {},
                         const integrate_options& opt = {}) {
    return ens.integrate(stepper, dt, steps, std::forward<Observer>(observer), opt);
}

} // namespace spinfire::llg
