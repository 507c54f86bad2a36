#pragma once
// Ensembles: N independent devices of one System type, each lane with its own parameters,
// initial state, drive and random stream, in structure-of-arrays storage.
//
// Loop order (the point of this header): TBB over groups of lanes; per group, load state and
// per-lane parameters into registers ONCE, run every step with everything in registers,
// store at the end. A group is one value of the SIMD scalar type detail::wide<batch> (two
// AVX2 batches in lockstep: 8 doubles or 16 floats) or one lane on the scalar path. The lane
// count is padded to a multiple of the group width with copies of the last lane, so there
// is no scalar tail and a lane's result does not depend on chunking or thread count. Thermal noise
// is counter-based: lane i draws rng::normal4(seed, first_stream + i, step), identical in the
// scalar and SIMD paths.
//
// Per run: fixed dt, rk4 or heun, decimated trace recording, threshold events with linear
// time interpolation and optional early exit, and a check that stops with numeric_error
// (time and lane) when m becomes NaN or |m| drifts (an unstable time step).
#include <algorithm>
#include <array>
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
#include "spinfire/llg/detail/philox_lanes.hpp"
#include "spinfire/llg/detail/wide.hpp"
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
    double dt = 1e-12;     ///< time step, s
    std::size_t steps = 0; ///< steps to take (ensemble time advances by steps dt)
    integrator method = integrator::rk4;
    std::uint64_t seed = 0; ///< thermal-noise seed (lane i uses stream first_stream + i)
    std::uint64_t first_stream = 0;
    std::size_t record_every = 0;   ///< 0: no trace; k: record m every k steps (and at start)
    std::vector<event_spec> events; ///< thresholds to watch (events are always recorded)
    std::size_t stop_after = 0;     ///< > 0: a lane freezes after this many events
    bool simd = true;               ///< false: scalar path (T = Real, one lane at a time)
    bool parallel = true;           ///< TBB over batches (bounded by spinfire::threads)
    double norm_tolerance = 1e-2;   ///< | |m|^2 - 1 | allowed within one step before failing
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
            dispatch<simd_type>(opt, res);
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
                throw parameter_error(e.name(), e.reason() + " (lane " + std::to_string(i) + ")");
            }
            const double n2 =
                double(mx_[i]) * mx_[i] + double(my_[i]) * my_[i] + double(mz_[i]) * mz_[i];
            if (!(std::abs(n2 - 1) < 1e-6))
                throw parameter_error("m", "lane " + std::to_string(i) +
                                               ": initial m must be a unit vector");
            if (opt.method == integrator::rk4 && System::sigma_rate(params_[i]) > 0)
                throw parameter_error(
                    "integrator", "rk4 cannot integrate thermal noise (lane " + std::to_string(i) +
                                      " has temperature > 0): use integrator::heun");
        }
    }

    template <class T>
    void dispatch(const run_options& opt, run_result<Real>& res) {
        constexpr std::size_t k = 1; // batches per group (wide<> already pairs two)
        constexpr std::size_t g = k * simd::lanes_v<T>;
        const std::size_t groups = (n_ + g - 1) / g;
        auto body = [&](std::size_t b0, std::size_t b1) {
            for (std::size_t b = b0; b < b1; ++b) {
                if (opt.method == integrator::rk4)
                    run_group<T, k, integrator::rk4>(b * g, opt, res);
                else
                    run_group<T, k, integrator::heun>(b * g, opt, res);
            }
        };
        if (opt.parallel && groups > 1)
            oneapi::tbb::parallel_for(oneapi::tbb::blocked_range<std::size_t>(0, groups, 1),
                                      [&](const auto& r) { body(r.begin(), r.end()); });
        else
            body(0, groups);
    }

    // Mask helpers: bool for scalars, batch_bool for batches.
    template <class M>
    static M mask_and(const M& a, const M& b) {
        if constexpr (std::is_same_v<M, bool>)
            return a && b;
        else
            return a & b;
    }
    template <class M>
    static M mask_or(const M& a, const M& b) {
        if constexpr (std::is_same_v<M, bool>)
            return a || b;
        else
            return a | b;
    }
    template <class M>
    static M mask_not(const M& a) {
        return !a;
    }
    template <class T, class M>
    static bool mask_lane(const M& m, std::size_t i) {
        if constexpr (std::is_same_v<M, bool>)
            return (void)i, m;
        else
            return simd::lane(math::select(m, T(1), T(0)), i) != 0;
    }

    /// Everything one batch of lanes needs in registers (or L1) during a run.
    template <class T>
    struct batch_state {
        using M = decltype(T() < T());
        struct mask_box {
            M v;
        };
        typename System::template params<T> p;
        T gp, sigma, u0, uh, u1;
        vec3<T> m;
        std::size_t first = 0, real = 0; // first lane, number of real (non-pad) lanes
        bool const_drive = true, noisy = false;
        bool shared_drive = true; // every lane has the same drive: evaluate it once
        const llg::drive* dr[simd::lanes_v<T>];
        std::vector<T> proj;
        std::vector<mask_box> armed; // (not vector<M>: M is bool on the scalar path)
        M active;
        std::size_t n_active = 0;
        std::size_t counts[simd::lanes_v<T>] = {};
    };

    /// The lanes' drives at t; with side != 0 their one-sided limits there (drive::limit).
    template <class T>
    T drive_at(const batch_state<T>& b, double t, int side = 0, double eps = 0) const {
        constexpr std::size_t w = simd::lanes_v<T>;
        auto at = [&](const auto& d) { return side == 0 ? d(t) : d.limit(t, side, eps); };
        if (b.shared_drive) return T(Real(at(*b.dr[0])));
        alignas(SPINFIRE_ALIGNMENT) Real buf[w];
        for (std::size_t i = 0; i < w; ++i) buf[i] = Real(at(*b.dr[i]));
        return simd::load<T>(buf);
    }

    template <class T>
    void load_state(batch_state<T>& b, std::size_t first, const run_options& opt) const {
        constexpr std::size_t w = simd::lanes_v<T>;
        // Lane i of the batch is device min(first + i, n - 1): pad lanes copy the last one.
        const lane_params* lp[w];
        alignas(SPINFIRE_ALIGNMENT) Real x[w], y[w], z[w], sg[w];
        b.first = first;
        b.real = 0;
        for (std::size_t i = 0; i < w; ++i) {
            const std::size_t k = std::min(first + i, n_ - 1);
            lp[i] = &params_[k];
            b.dr[i] = &drives_[k];
            b.const_drive = b.const_drive && b.dr[i]->is_constant();
            b.shared_drive = b.shared_drive && (b.dr[i] == b.dr[0] || *b.dr[i] == *b.dr[0]);
            b.real += first + i < n_;
            x[i] = mx_[k], y[i] = my_[k], z[i] = mz_[k];
            sg[i] = Real(System::sigma_rate(*lp[i]) / std::sqrt(opt.dt));
            b.noisy = b.noisy || sg[i] > 0;
        }
        b.p = System::template pack<T>(lp);
        b.gp = System::reduced_gamma(b.p);
        b.sigma = simd::load<T>(sg);
        b.m = vec3<T>(simd::load<T>(x), simd::load<T>(y), simd::load<T>(z));
        b.u0 = b.uh = b.u1 = drive_at(b, t_);
        for (const auto& e : opt.events) {
            const vec3<T> a(T(Real(e.axis.x)), T(Real(e.axis.y)), T(Real(e.axis.z)));
            const T pr = dot(b.m, a);
            const T re = T(Real(std::isnan(e.rearm) ? e.level : e.rearm));
            b.proj.push_back(pr);
            b.armed.push_back({e.direction > 0 ? pr < re : pr > re});
        }
        b.active = T(0) == T(0);
        b.n_active = b.real;
    }

    template <class T>
    void record(const batch_state<T>& b, recorded_trace<Real>& tr, std::size_t k) const {
        constexpr std::size_t w = simd::lanes_v<T>;
        alignas(SPINFIRE_ALIGNMENT) Real bx[w], by[w], bz[w];
        simd::store(bx, b.m.x), simd::store(by, b.m.y), simd::store(bz, b.m.z);
        for (std::size_t i = 0; i < b.real; ++i) {
            const std::size_t at = (b.first + i) * tr.records + k;
            tr.mx[at] = bx[i], tr.my[at] = by[i], tr.mz[at] = bz[i];
        }
    }

    /// Threshold events after a step from time t to t + dt.
    template <class T>
    void check_events(batch_state<T>& b, const run_options& opt, double t,
                      run_result<Real>& res) const {
        using M = typename batch_state<T>::M;
        const bool freeze = opt.stop_after > 0;
        for (std::size_t e = 0; e < opt.events.size(); ++e) {
            const auto& spec = opt.events[e];
            const vec3<T> a(T(Real(spec.axis.x)), T(Real(spec.axis.y)), T(Real(spec.axis.z)));
            const T level = T(Real(spec.level));
            const T rearm = T(Real(std::isnan(spec.rearm) ? spec.level : spec.rearm));
            const T pn = dot(b.m, a);
            const bool up = spec.direction > 0;
            const M fire =
                mask_and(mask_and(b.armed[e].v, b.active), up ? pn >= level : pn <= level);
            if (simd::any(fire)) {
                for (std::size_t i = 0; i < b.real; ++i) {
                    if (!mask_lane<T>(fire, i)) continue;
                    const double po = double(simd::lane(b.proj[e], i));
                    const double pnew = double(simd::lane(pn, i));
                    const double f =
                        pnew != po ? std::clamp((spec.level - po) / (pnew - po), 0.0, 1.0) : 1.0;
                    const double te = t + f * opt.dt;
                    res.events[b.first + i].push_back({e, te});
                    if (freeze && ++b.counts[i] >= opt.stop_after) {
                        res.stop_time[b.first + i] = te;
                        --b.n_active;
                    }
                }
                if (freeze) {
                    constexpr std::size_t w = simd::lanes_v<T>;
                    alignas(SPINFIRE_ALIGNMENT) Real act[w];
                    for (std::size_t i = 0; i < w; ++i)
                        act[i] = b.counts[i] < opt.stop_after ? Real(1) : Real(0);
                    b.active = mask_and(b.active, simd::load<T>(act) > T(0));
                }
            }
            b.armed[e].v =
                mask_or(mask_and(b.armed[e].v, mask_not(fire)), up ? pn < rearm : pn > rearm);
            b.proj[e] = pn;
        }
    }

    template <class T, integrator Method>
    static SPINFIRE_INLINE step_result<T>
    step_once(const typename System::template params<T>& p, const T& gp, const vec3<T>& m,
              const T& u0, const T& uh, const T& u1, const T& sigma, bool noisy, std::uint64_t seed,
              std::uint64_t stream, std::uint64_t step, const T& dt) {
        if constexpr (Method == integrator::rk4) {
            (void)sigma, (void)noisy, (void)seed, (void)stream, (void)step;
            return rk4_step<System>(p, gp, m, u0, uh, u1, dt);
        } else {
            (void)uh;
            vec3<T> bth(T(0), T(0), T(0));
            if constexpr (System::stochastic) {
                if (noisy) {
                    std::array<T, 4> z;
                    if constexpr (simd::is_batch_v<T>)
                        z = detail::normal4_lanes<T>(seed, stream, step);
                    else
                        z = rng::normal4<T>(seed, stream, step);
                    bth = vec3<T>(sigma * z[0], sigma * z[1], sigma * z[2]);
                }
            } else {
                (void)sigma, (void)noisy, (void)seed, (void)stream, (void)step;
            }
            return heun_step<System>(p, gp, m, u0, u1, bth, dt);
        }
    }

    template <class T, std::size_t K, integrator Method>
    void run_group(std::size_t first, const run_options& opt, run_result<Real>& res) {
        constexpr std::size_t w = simd::lanes_v<T>;
        using M = typename batch_state<T>::M;
        batch_state<T> bs[K];
        for (std::size_t j = 0; j < K; ++j) load_state(bs[j], first + j * w, opt);
        // Hot state in locals (registers/L1), cold bookkeeping in bs.
        typename System::template params<T> p[K];
        T gp[K], sigma[K], u0[K], uh[K], u1[K];
        vec3<T> m[K];
        bool const_drive = true, noisy = false;
        for (std::size_t j = 0; j < K; ++j) {
            p[j] = bs[j].p, gp[j] = bs[j].gp, sigma[j] = bs[j].sigma, m[j] = bs[j].m;
            u0[j] = bs[j].u0, uh[j] = bs[j].uh, u1[j] = bs[j].u1;
            const_drive = const_drive && bs[j].const_drive;
            noisy = noisy || bs[j].noisy;
        }
        auto& tr = res.trace;
        auto sync = [&] {
            for (std::size_t j = 0; j < K; ++j) bs[j].m = m[j];
        };
        if (tr.records)
            for (auto& b : bs) record(b, tr, 0);
        const T dt = T(Real(opt.dt));
        const T tol = T(Real(opt.norm_tolerance));
        const bool freeze = opt.stop_after > 0;
        const bool events = !opt.events.empty();
        std::size_t s = 0;
        for (; s < opt.steps; ++s) {
            const std::uint64_t step = step_ + s;
            const double t = t_ + double(s) * opt.dt;
            if (!const_drive) {
                // One-sided limits at the ends of the step: an edge at a step boundary ends
                // one step and starts the next, whatever the rounding of t (drive::limit).
                const double eps = 1e-6 * opt.dt;
                for (std::size_t j = 0; j < K; ++j) {
                    u0[j] = drive_at(bs[j], t, +1, eps);
                    u1[j] = drive_at(bs[j], t_ + double(s + 1) * opt.dt, -1, eps);
                    if constexpr (Method == integrator::rk4)
                        uh[j] = drive_at(bs[j], t + 0.5 * opt.dt);
                }
            }
            for (std::size_t j = 0; j < K; ++j) {
                // Initialized from an always-inline call: assigning or storing a result
                // struct makes GCC copy it with memmove, and a lambda is not inlined.
                const step_result<T> r =
                    step_once<T, Method>(p[j], gp[j], m[j], u0[j], uh[j], u1[j], sigma[j], noisy,
                                         opt.seed, opt.first_stream + bs[j].first, step, dt);
                const M bad = !(math::abs(r.norm2 - T(1)) <= tol);
                if (simd::any(bad)) fail<T>(bad, r.norm2, t + opt.dt, bs[j].first);
                if (freeze) {
                    m[j].x = math::select(bs[j].active, r.m.x, m[j].x);
                    m[j].y = math::select(bs[j].active, r.m.y, m[j].y);
                    m[j].z = math::select(bs[j].active, r.m.z, m[j].z);
                } else {
                    m[j] = r.m;
                }
            }
            const bool rec = tr.records && (s + 1) % opt.record_every == 0;
            if (events || rec) sync();
            if (events)
                for (auto& b : bs) check_events(b, opt, t, res);
            if (rec)
                for (auto& b : bs) record(b, tr, (s + 1) / opt.record_every);
            if (freeze) {
                std::size_t left = 0;
                for (auto& b : bs) left += b.n_active;
                if (left == 0) {
                    ++s;
                    break;
                }
            }
        }
        sync();
        // Lanes frozen early: fill the remaining records with their final state.
        if (tr.records)
            for (std::size_t k = s / opt.record_every + 1; k < tr.records; ++k)
                for (auto& b : bs) record(b, tr, k);
        for (auto& b : bs) {
            alignas(SPINFIRE_ALIGNMENT) Real bx[w], by[w], bz[w];
            simd::store(bx, b.m.x), simd::store(by, b.m.y), simd::store(bz, b.m.z);
            for (std::size_t i = 0; i < b.real; ++i)
                mx_[b.first + i] = bx[i], my_[b.first + i] = by[i], mz_[b.first + i] = bz[i];
        }
    }

    template <class T, class M>
    [[noreturn]] void fail(const M& bad, const T& n2, double t, std::size_t first) const {
        for (std::size_t i = 0; i < simd::lanes_v<T>; ++i) {
            if (!mask_lane<T>(bad, i)) continue;
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

} // namespace spinfire::llg
