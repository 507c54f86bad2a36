#pragma once
// The library's observers (the protocol is in observer.hpp):
//   trace_recorder<Real>  m of every lane every k steps and at the start (recorded_trace)
//   threshold_events      crossings of m.axis through a level, linearly interpolated in time,
//                         with hysteresis re-arming; optionally freezes a lane after n events
// ensemble::run is integrate() with observers(threshold_events, trace_recorder).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "spinfire/core/error.hpp"
#include "spinfire/core/simd.hpp"
#include "spinfire/core/vec3.hpp"
#include "spinfire/llg/detail/masks.hpp"
#include "spinfire/llg/observer.hpp"
#include "spinfire/llg/run_options.hpp"

namespace spinfire::llg {

/// Records m every `every` steps and at the start (every = 0: records nothing); after a
/// lane froze, its remaining records hold its final m.
template <class Real = double>
class trace_recorder {
public:
    explicit trace_recorder(std::size_t every) : every_(every) {}

    void begin(const run_info& r) {
        tr_ = {};
        tr_.lanes = r.lanes;
        tr_.t0 = r.t0;
        tr_.interval = double(every_) * r.dt;
        tr_.records = every_ ? r.steps / every_ + 1 : 0;
        tr_.mx.resize(r.lanes * tr_.records);
        tr_.my.resize(r.lanes * tr_.records);
        tr_.mz.resize(r.lanes * tr_.records);
    }
    template <class T>
    void start(lane_group<T>& g) {
        if (tr_.records) record(g, 0);
    }
    SPINFIRE_INLINE bool due(std::size_t k) const { return tr_.records && k % every_ == 0; }
    template <class T>
    void observe(lane_group<T>& g, std::size_t k, double) {
        record(g, k / every_);
    }
    template <class T>
    void finish(lane_group<T>& g, std::size_t k) {
        if (tr_.records)
            for (std::size_t r = k / every_ + 1; r < tr_.records; ++r) record(g, r);
    }

    const recorded_trace<Real>& trace() const& { return tr_; }
    recorded_trace<Real> trace() && { return std::move(tr_); }

private:
    template <class T>
    void record(const lane_group<T>& g, std::size_t k) {
        using S = simd::scalar_of_t<T>;
        constexpr std::size_t w = simd::lanes_v<T>;
        alignas(SPINFIRE_ALIGNMENT) S bx[w], by[w], bz[w];
        simd::store(bx, g.m.x), simd::store(by, g.m.y), simd::store(bz, g.m.z);
        for (std::size_t i = 0; i < g.real; ++i) {
            const std::size_t at = (g.first + i) * tr_.records + k;
            tr_.mx[at] = Real(bx[i]), tr_.my[at] = Real(by[i]), tr_.mz[at] = Real(bz[i]);
        }
    }

    std::size_t every_;
    recorded_trace<Real> tr_;
};

/// Threshold events (event_spec) per lane, in time order; with stop_after > 0 a lane
/// freezes at the step in which its stop_after-th event fires, and its stop time is that
/// event's time (NaN for lanes that did not stop).
class threshold_events {
public:
    explicit threshold_events(std::vector<event_spec> specs, std::size_t stop_after = 0)
        : specs_(std::move(specs)), stop_after_(stop_after) {
        for (std::size_t i = 0; i < specs_.size(); ++i) {
            const auto& e = specs_[i];
            const std::string name = "events[" + std::to_string(i) + "]";
            require_finite((name + ".level").c_str(), e.level);
            if (e.direction != 1 && e.direction != -1)
                throw parameter_error(name + ".direction", "must be +1 (rising) or -1 (falling)");
            if (!std::isfinite(e.axis.x) || !std::isfinite(e.axis.y) || !std::isfinite(e.axis.z))
                throw parameter_error(name + ".axis", "must be finite");
            if (!std::isnan(e.rearm) && (e.direction > 0 ? e.rearm > e.level : e.rearm < e.level))
                throw parameter_error(name + ".rearm", "must be on the far side of level");
        }
    }

    void begin(const run_info& r) {
        events_.assign(r.lanes, {});
        stop_time_.assign(r.lanes, std::numeric_limits<double>::quiet_NaN());
        dt_ = r.dt;
    }

    /// Per group: the last projections, which events are armed, each lane's event count.
    template <class T>
    class group_state {
    public:
        group_state(threshold_events& owner, const lane_group<T>& g) : o_(&owner) {
            for (const auto& e : o_->specs_) {
                const T pr = dot(g.m, axis(e));
                proj_.push_back(pr);
                armed_.push_back({e.direction > 0 ? pr < rearm(e) : pr > rearm(e)});
            }
        }
        SPINFIRE_INLINE bool due(std::size_t) const { return !proj_.empty(); }

        /// After a step that began at t.
        void observe(lane_group<T>& g, std::size_t, double t) {
            using M = detail::mask_t<T>;
            const std::size_t stop = o_->stop_after_;
            for (std::size_t e = 0; e < proj_.size(); ++e) {
                const auto& spec = o_->specs_[e];
                const T level = T(S(spec.level));
                const T pn = dot(g.m, axis(spec));
                const bool up = spec.direction > 0;
                const M fire = detail::mask_and(detail::mask_and(armed_[e].v, g.active),
                                                up ? pn >= level : pn <= level);
                if (simd::any(fire)) {
                    bool done[w] = {};
                    for (std::size_t i = 0; i < g.real; ++i) {
                        if (!detail::mask_lane<T>(fire, i)) continue;
                        const double po = double(simd::lane(proj_[e], i));
                        const double pnew = double(simd::lane(pn, i));
                        const double f = pnew != po
                                             ? std::clamp((spec.level - po) / (pnew - po), 0.0, 1.0)
                                             : 1.0;
                        const double te = t + f * o_->dt_;
                        o_->events_[g.first + i].push_back({e, te});
                        if (stop > 0 && ++counts_[i] >= stop) {
                            o_->stop_time_[g.first + i] = te;
                            done[i] = true;
                        }
                    }
                    if (stop > 0) g.freeze(detail::mask_from<T>(done));
                }
                armed_[e].v = detail::mask_or(detail::mask_and(armed_[e].v, detail::mask_not(fire)),
                                              up ? pn < rearm(spec) : pn > rearm(spec));
                proj_[e] = pn;
            }
        }

    private:
        using S = simd::scalar_of_t<T>;
        static constexpr std::size_t w = simd::lanes_v<T>;
        struct mask_box { // (not vector<M>: M is bool on the scalar path)
            detail::mask_t<T> v;
        };
        static vec3<T> axis(const event_spec& e) {
            return {T(S(e.axis.x)), T(S(e.axis.y)), T(S(e.axis.z))};
        }
        static T rearm(const event_spec& e) {
            return T(S(std::isnan(e.rearm) ? e.level : e.rearm));
        }

        threshold_events* o_;
        std::vector<T> proj_;
        std::vector<mask_box> armed_;
        std::size_t counts_[w] = {};
    };

    template <class T>
    group_state<T> group(lane_group<T>& g) {
        return {*this, g};
    }

    const std::vector<event_spec>& specs() const { return specs_; }
    std::size_t stop_after() const { return stop_after_; }
    /// Per lane, in time order.
    const std::vector<std::vector<event>>& events() const& { return events_; }
    std::vector<std::vector<event>> events() && { return std::move(events_); }
    /// Per lane; NaN where the lane did not stop.
    const std::vector<double>& stop_time() const { return stop_time_; }

private:
    std::vector<event_spec> specs_;
    std::size_t stop_after_;
    double dt_ = 0;
    std::vector<std::vector<event>> events_;
    std::vector<double> stop_time_;
};

} // namespace spinfire::llg
