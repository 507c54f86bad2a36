#pragma once
// Ensembles: N independent devices of one System type, each lane with its own parameters,
// initial state, drive and random stream, in structure-of-arrays storage.
//
// Loop order (the point of this header): TBB over chunks of SIMD batches; per batch, load
// state and per-lane parameters into registers ONCE, run every step with everything in
// registers, store at the end. The lane count is padded to a multiple of the batch width
// with copies of the last lane, so there is no scalar tail and a lane's result does not
// depend on chunking or thread count. Thermal noise is counter-based: lane i draws
// rng::normal4(seed, first_stream + i, step), identical in the scalar and SIMD paths.
//
// Per run: fixed dt, rk4 or heun, decimated trace recording, threshold events with linear
// time interpolation and optional early exit, and a check that stops with numeric_error
// (time and lane) when m becomes NaN or |m| drifts (an unstable time step).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <string>
#include <vector>

#include "spinfire/core/aligned.hpp"
#include "spinfire/core/error.hpp"
#include "spinfire/core/philox.hpp"
#include "spinfire/core/simd.hpp"
#include "spinfire/core/vec3.hpp"
#include "spinfire/llg/drive.hpp"
#include "spinfire/llg/steppers.hpp"

namespace spinfire::llg {

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
    std::size_t spec; ///< index into run_options::events
    double time;      ///< linearly interpolated crossing time, s
};

struct run_options {
    double dt = 1e-12;               ///< time step, s
    std::size_t steps = 0;           ///< steps to take (ensemble time advances by steps dt)
    integrator method = integrator::rk4;
    std::uint64_t seed = 0;          ///< thermal-noise seed (lane i uses stream first_stream + i)
    std::uint64_t first_stream = 0;
    std::size_t record_every = 0;    ///< 0: no trace; k: record m every k steps (and at start)
    std::vector<event_spec> events;  ///< thresholds to watch (events are always recorded)
    std::size_t stop_after = 0;      ///< > 0: a lane freezes after this many events
    bool simd = true;                ///< false: scalar path (T = Real, one lane at a time)
    bool parallel = true;            ///< TBB over batches (bounded by spinfire::threads)
    double norm_tolerance = 1e-2;    ///< | |m|^2 - 1 | allowed within one step before failing
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

template <class System, class Real = double>
class ensemble {
    static_assert(std::is_same_v<Real, double> || std::is_same_v<Real, float>);

public:
    using lane_params = typename System::template params<double>;
    using batch = simd::batch<Real>;
    static constexpr std::size_t width = batch::size;

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
    vec3<double> m(std::size_t i) const { return {double(mx_.at(i)), double(my_.at(i)), double(mz_.at(i))}; }
    /// Resets the clock (and the noise counter) to t.
    void set_time(double t) { t_ = t, step_ = 0; }

    /// Advances every lane by opt.steps steps of opt.dt.
    run_result<Real> run(const run_options& opt) {
        validate(opt);
        run_result<Real> res;
        res.events.assign(n_, {});
        res.stop_time.assign(n_, std::numeric_limits<double>::quiet_NaN());
        auto& tr = res.trace;
        tr.lanes = n_;
        tr.t0 = t_;
        tr.interval = double(opt.record_every) * opt.dt;
        tr.records = opt.record_every ? opt.steps / opt.record_every + 1 : 0;
        tr.mx.resize(n_ * tr.records), tr.my.resize(n_ * tr.records), tr.mz.resize(n_ * tr.records);

        if (opt.simd)
            dispatch<batch>(opt, res);
        else
            dispatch<Real>(opt, res);
        t_ += double(opt.steps) * opt.dt;
        step_ += opt.steps;
        return res;
    }

private:
    void validate(const run_options& opt) const {
        require_positive("dt", opt.dt);
        require_positive("norm_tolerance", opt.norm_tolerance);
        for (std::size_t i = 0; i < opt.events.size(); ++i) {
            const auto& e = opt.events[i];
            const std::string name = "events[" + std::to_string(i) + "]";
            require_finite((name + ".level").c_str(), e.level);
            if (e.direction != 1 && e.direction != -1)
                throw parameter_error(name + ".direction", "must be +1 (rising) or -1 (falling)");
            if (!std::isfinite(e.axis.x) || !std::isfinite(e.axis.y) || !std::isfinite(e.axis.z))
                throw parameter_error(name + ".axis", "must be finite");
            if (!std::isnan(e.rearm) && (e.direction > 0 ? e.rearm > e.level : e.rearm < e.level))
                throw parameter_error(name + ".rearm", "must be on the far side of level");
        }
        for (std::size_t i = 0; i < n_; ++i) {
            try {
                System::validate(params_[i]);
            } catch (const parameter_error& e) {
                throw parameter_error(e.name(), std::string(e.what()) + " (lane " +
                                                    std::to_string(i) + ")");
            }
            const double n2 = double(mx_[i]) * mx_[i] + double(my_[i]) * my_[i] +
                              double(mz_[i]) * mz_[i];
            if (!(std::abs(n2 - 1) < 1e-6))
                throw parameter_error("m", "lane " + std::to_string(i) +
                                               ": initial m must be a unit vector");
            if (opt.method == integrator::rk4 && System::sigma_rate(params_[i]) > 0)
                throw parameter_error("integrator",
                                      "rk4 cannot integrate thermal noise (lane " +
                                          std::to_string(i) +
                                          " has temperature > 0): use integrator::heun");
        }
    }

    template <class T>
    void dispatch(const run_options& opt, run_result<Real>& res) {
        constexpr std::size_t w = simd::lanes_v<T>;
        const std::size_t blocks = (n_ + w - 1) / w;
        auto body = [&](std::size_t b0, std::size_t b1) {
            for (std::size_t b = b0; b < b1; ++b) {
                if (opt.method == integrator::rk4)
                    run_block<T, integrator::rk4>(b * w, opt, res);
                else
                    run_block<T, integrator::heun>(b * w, opt, res);
            }
        };
        if (opt.parallel && blocks > 1)
            oneapi::tbb::parallel_for(oneapi::tbb::blocked_range<std::size_t>(0, blocks, 1),
                                      [&](const auto& r) { body(r.begin(), r.end()); });
        else
            body(0, blocks);
    }

    // Mask helpers: bool for scalars, batch_bool for batches.
    template <class M>
    static M mask_and(const M& a, const M& b) {
        if constexpr (std::is_same_v<M, bool>) return a && b;
        else return a & b;
    }
    template <class M>
    static M mask_or(const M& a, const M& b) {
        if constexpr (std::is_same_v<M, bool>) return a || b;
        else return a | b;
    }
    template <class M>
    static M mask_not(const M& a) {
        if constexpr (std::is_same_v<M, bool>) return !a;
        else return !a;
    }
    template <class T, class M>
    static bool mask_lane(const M& m, std::size_t i) {
        if constexpr (std::is_same_v<M, bool>) return (void)i, m;
        else return simd::lane(math::select(m, T(1), T(0)), i) != 0;
    }

    template <class T>
    T load_lanes(const aligned_vector<Real>& v, std::size_t first) const {
        constexpr std::size_t w = simd::lanes_v<T>;
        alignas(SPINFIRE_ALIGNMENT) Real buf[w];
        for (std::size_t i = 0; i < w; ++i) buf[i] = v[std::min(first + i, n_ - 1)];
        return simd::load<T>(buf);
    }

    template <class T, integrator Method>
    void run_block(std::size_t first, const run_options& opt, run_result<Real>& res) {
        constexpr std::size_t w = simd::lanes_v<T>;
        using M = decltype(T() < T());
        using params_t = typename System::template params<T>;
        // Lane i of the batch is device min(first + i, n - 1): pad lanes copy the last one.
        const lane_params* lp[w];
        const llg::drive* dr[w];
        std::size_t real = 0;
        bool const_drive = true;
        for (std::size_t i = 0; i < w; ++i) {
            const std::size_t k = std::min(first + i, n_ - 1);
            lp[i] = &params_[k];
            dr[i] = &drives_[k];
            const_drive = const_drive && dr[i]->is_constant();
            real += first + i < n_;
        }
        const params_t p = System::template pack<T>(lp);
        const T gp = System::reduced_gamma(p);
        const T dt = T(Real(opt.dt));
        vec3<T> m(load_lanes<T>(mx_, first), load_lanes<T>(my_, first), load_lanes<T>(mz_, first));

        alignas(SPINFIRE_ALIGNMENT) Real ubuf[3][w];
        auto drive_at = [&](double t, int slot) {
            for (std::size_t i = 0; i < w; ++i) ubuf[slot][i] = Real((*dr[i])(t));
            return simd::load<T>(ubuf[slot]);
        };
        T u0 = drive_at(t_, 0), uh = u0, u1 = u0;

        T sigma = T(0);
        bool noisy = false;
        if constexpr (System::stochastic) {
            alignas(SPINFIRE_ALIGNMENT) Real s[w];
            for (std::size_t i = 0; i < w; ++i) {
                s[i] = Real(System::sigma_rate(*lp[i]) / std::sqrt(opt.dt));
                noisy = noisy || s[i] > 0;
            }
            sigma = simd::load<T>(s);
        }

        // Events: projections, armed masks, active lanes.
        const std::size_t ne = opt.events.size();
        std::vector<vec3<T>> axes;
        std::vector<T> level, rearm, proj;
        struct mask_box {
            M v;
        };
        std::vector<mask_box> armed; // (not vector<M>: M is bool on the scalar path)
        for (const auto& e : opt.events) {
            const vec3<T> a(T(Real(e.axis.x)), T(Real(e.axis.y)), T(Real(e.axis.z)));
            axes.push_back(a);
            level.push_back(T(Real(e.level)));
            rearm.push_back(T(Real(std::isnan(e.rearm) ? e.level : e.rearm)));
            proj.push_back(dot(m, a));
            armed.push_back({e.direction > 0 ? proj.back() < rearm.back()
                                             : proj.back() > rearm.back()});
        }
        M active = T(0) == T(0);
        std::size_t n_active = real;
        std::vector<std::size_t> counts(w, 0);

        auto& tr = res.trace;
        auto record = [&](std::size_t k) {
            alignas(SPINFIRE_ALIGNMENT) Real bx[w], by[w], bz[w];
            simd::store(bx, m.x), simd::store(by, m.y), simd::store(bz, m.z);
            for (std::size_t i = 0; i < real; ++i) {
                const std::size_t at = (first + i) * tr.records + k;
                tr.mx[at] = bx[i], tr.my[at] = by[i], tr.mz[at] = bz[i];
            }
        };
        if (tr.records) record(0);

        const T tol = T(Real(opt.norm_tolerance));
        const bool freeze = opt.stop_after > 0;
        std::size_t s = 0;
        for (; s < opt.steps; ++s) {
            const std::uint64_t step = step_ + s;
            const double t = t_ + double(s) * opt.dt;
            if (!const_drive) {
                u0 = drive_at(t, 0);
                u1 = drive_at(t + opt.dt, 2);
                if constexpr (Method == integrator::rk4) uh = drive_at(t + 0.5 * opt.dt, 1);
            }
            step_result<T> r;
            if constexpr (Method == integrator::rk4) {
                r = rk4_step<System>(p, gp, m, u0, uh, u1, dt);
            } else {
                vec3<T> bth(T(0), T(0), T(0));
                if constexpr (System::stochastic) {
                    if (noisy) {
                        const auto z = rng::normal4<T>(opt.seed, opt.first_stream + first, step);
                        bth = vec3<T>(sigma * z[0], sigma * z[1], sigma * z[2]);
                    }
                }
                r = heun_step<System>(p, gp, m, u0, u1, bth, dt);
            }
            const M bad = !(math::abs(r.norm2 - T(1)) <= tol);
            if (simd::any(bad)) fail<T>(bad, r.norm2, t + opt.dt, first);
            if (freeze) {
                m.x = math::select(active, r.m.x, m.x);
                m.y = math::select(active, r.m.y, m.y);
                m.z = math::select(active, r.m.z, m.z);
            } else {
                m = r.m;
            }
            for (std::size_t e = 0; e < ne; ++e) {
                const T pn = dot(m, axes[e]);
                const bool up = opt.events[e].direction > 0;
                const M fire = mask_and(mask_and(armed[e].v, active), up ? pn >= level[e] : pn <= level[e]);
                if (simd::any(fire)) {
                    for (std::size_t i = 0; i < real; ++i) {
                        if (!mask_lane<T>(fire, i)) continue;
                        const double po = double(simd::lane(proj[e], i));
                        const double pnew = double(simd::lane(pn, i));
                        const double lv = double(simd::lane(level[e], i));
                        const double f = pnew != po ? std::clamp((lv - po) / (pnew - po), 0.0, 1.0) : 1.0;
                        const double te = t + f * opt.dt;
                        res.events[first + i].push_back({e, te});
                        if (freeze && ++counts[i] >= opt.stop_after) {
                            res.stop_time[first + i] = te;
                            --n_active;
                        }
                    }
                    if (freeze) active = mask_and(active, compute_active<T, M>(counts, opt.stop_after));
                }
                armed[e].v = mask_or(mask_and(armed[e].v, mask_not(fire)),
                                   up ? pn < rearm[e] : pn > rearm[e]);
                proj[e] = pn;
            }
            if (tr.records && (s + 1) % opt.record_every == 0) record((s + 1) / opt.record_every);
            if (freeze && n_active == 0) {
                ++s;
                break;
            }
        }
        // Lanes frozen early: fill the remaining records with their final state.
        if (tr.records)
            for (std::size_t k = s / opt.record_every + 1; k < tr.records; ++k) record(k);
        alignas(SPINFIRE_ALIGNMENT) Real bx[w], by[w], bz[w];
        simd::store(bx, m.x), simd::store(by, m.y), simd::store(bz, m.z);
        for (std::size_t i = 0; i < real; ++i)
            mx_[first + i] = bx[i], my_[first + i] = by[i], mz_[first + i] = bz[i];
    }

    template <class T, class M>
    static M compute_active(const std::vector<std::size_t>& counts, std::size_t stop_after) {
        constexpr std::size_t w = simd::lanes_v<T>;
        alignas(SPINFIRE_ALIGNMENT) Real a[w];
        for (std::size_t i = 0; i < w; ++i) a[i] = counts[i] < stop_after ? Real(1) : Real(0);
        return simd::load<T>(a) > T(0);
    }

    template <class T, class M>
    [[noreturn]] void fail(const M& bad, const T& n2, double t, std::size_t first) const {
        for (std::size_t i = 0; i < simd::lanes_v<T>; ++i) {
            if (!mask_lane<T>(bad, i)) continue;
            const std::size_t lane = std::min(first + i, n_ - 1);
            throw numeric_error("llg: |m| lost at t = " + spinfire::detail::num(t) + " s in lane " +
                                std::to_string(lane) + " (|m|^2 = " +
                                spinfire::detail::num(double(simd::lane(n2, i))) +
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

} // namespace spinfire::llg
