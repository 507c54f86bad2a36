#pragma once
// Observers of an ensemble integration (ensemble::integrate), in the style of odeint: what is
// recorded or watched is an object passed beside the stepper, not a flag of the integrator.
// The library's observers are in observers.hpp (trace_recorder, threshold_events);
// observers(a, b, ...) runs several in one integration.
//
// The ensemble steps groups of lanes (one SIMD value of scalar type T, or one lane on the
// scalar path) in parallel, each group from start to end with its state in registers. An
// observer sees a group through lane_group<T> and may provide any of these hooks (a missing
// one does nothing):
//   void begin(const run_info&)            once per integration, before any group
//   G group(lane_group<T>&)                a group's own state (per-lane bookkeeping kept in
//                                          registers or L1); without it the observer itself
//                                          takes the hooks below
//   void start(lane_group<T>&)             at the start time
//   bool due(std::size_t k) const          observe() after step k? (default: every step)
//   void observe(lane_group<T>&, std::size_t k, double t)
//                                          after step k (1 <= k <= steps), which began at t
//   void finish(lane_group<T>&, std::size_t k)
//                                          after the group's last step k (k < steps when every
//                                          lane froze early)
// Groups run concurrently: a hook writes only its group's lanes (first .. first + real) of
// shared results. A hook may freeze lanes (lane_group::freeze): they keep their m from then
// on, and the group ends once every lane is frozen. due() is asked every step with the state
// in registers: keep it cheap and inline, so that steps nobody observes cost nothing.
#include <cstddef>
#include <tuple>
#include <utility>

#include "spinfire/config.hpp"
#include "spinfire/core/simd.hpp"
#include "spinfire/core/vec3.hpp"
#include "spinfire/llg/detail/masks.hpp"

namespace spinfire::llg {

/// What begin() learns about an integration.
struct run_info {
    std::size_t lanes = 0; ///< ensemble size
    std::size_t steps = 0; ///< steps requested
    double t0 = 0;         ///< start time, s
    double dt = 0;         ///< time step, s
};

/// A group of lanes as observers see it: lane i is ensemble lane first + i for i < real;
/// lanes past real pad the group with copies of the last lane (ignore them).
template <class T>
struct lane_group {
    using mask = detail::mask_t<T>;
    static constexpr std::size_t width = simd::lanes_v<T>;

    vec3<T> m;                ///< the lanes' unit vectors at the hook
    std::size_t first = 0;    ///< ensemble index of lane 0
    std::size_t real = 0;     ///< lanes that are real (the rest pad)
    mask active{};            ///< lanes still integrating
    std::size_t n_active = 0; ///< real lanes still integrating
    bool any_frozen = false;

    /// m of lane i as doubles.
    vec3<double> m_of(std::size_t i) const {
        return {double(simd::lane(m.x, i)), double(simd::lane(m.y, i)), double(simd::lane(m.z, i))};
    }
    /// Stops the lanes of f: each keeps its current m for the rest of the integration.
    void freeze(const mask& f) {
        active = detail::mask_and(active, detail::mask_not(f));
        any_frozen = true;
        n_active = 0;
        for (std::size_t i = 0; i < real; ++i) n_active += detail::mask_lane<T>(active, i);
    }
};

/// Observes nothing: integrate() without recording costs no more than the steps.
struct no_observer {
    static constexpr bool due(std::size_t) { return false; }
};

namespace detail {
// The hooks with their defaults.
template <class O>
void observer_begin(O& o, const run_info& r) {
    if constexpr (requires { o.begin(r); }) o.begin(r);
}
template <class O, class T>
decltype(auto) observer_group(O& o, lane_group<T>& g) {
    if constexpr (requires { o.group(g); })
        return o.group(g);
    else
        return (o);
}
template <class G, class T>
void observer_start(G& o, lane_group<T>& g) {
    if constexpr (requires { o.start(g); }) o.start(g);
}
template <class T, class G>
SPINFIRE_INLINE bool observer_due(const G& o, std::size_t k) {
    if constexpr (requires { o.due(k); })
        return o.due(k);
    else
        return requires(G & x, lane_group<T> & g) { x.observe(g, k, 0.0); };
}
template <class G, class T>
void observer_observe(G& o, lane_group<T>& g, std::size_t k, double t) {
    if constexpr (requires { o.observe(g, k, t); }) o.observe(g, k, t);
}
template <class G, class T>
void observer_finish(G& o, lane_group<T>& g, std::size_t k) {
    if constexpr (requires { o.finish(g, k); }) o.finish(g, k);
}

/// The group states of observer_set's parts (values, or references to parts without group()).
template <class T, class... G>
struct group_set {
    std::tuple<G...> parts;

    void start(lane_group<T>& g) {
        std::apply([&](auto&... p) { (observer_start(p, g), ...); }, parts);
    }
    SPINFIRE_INLINE bool due(std::size_t k) const {
        return due_any(k, std::index_sequence_for<G...>{});
    }
    void observe(lane_group<T>& g, std::size_t k, double t) {
        std::apply(
            [&](auto&... p) {
                ((observer_due<T>(p, k) ? observer_observe(p, g, k, t) : void()), ...);
            },
            parts);
    }
    void finish(lane_group<T>& g, std::size_t k) {
        std::apply([&](auto&... p) { (observer_finish(p, g, k), ...); }, parts);
    }

private:
    template <std::size_t... I>
    SPINFIRE_INLINE bool due_any(std::size_t k, std::index_sequence<I...>) const {
        return (observer_due<T>(std::get<I>(parts), k) || ...);
    }
};
} // namespace detail

/// Several observers as one; their hooks run in the order given. Holds references to
/// lvalues (read their results after the integration) and copies of temporaries.
template <class... O>
class observer_set {
public:
    explicit observer_set(O&&... o) : parts_(std::forward<O>(o)...) {}

    void begin(const run_info& r) {
        std::apply([&](auto&... p) { (detail::observer_begin(p, r), ...); }, parts_);
    }
    template <class T>
    auto group(lane_group<T>& g) {
        return std::apply(
            [&](auto&... p) {
                return detail::group_set<T, decltype(detail::observer_group(p, g))...>{
                    {detail::observer_group(p, g)...}};
            },
            parts_);
    }

private:
    std::tuple<O...> parts_;
};

/// observers(recorder, events, ...): one observer running each in turn.
template <class... O>
observer_set<O...> observers(O&&... o) {
    return observer_set<O...>(std::forward<O>(o)...);
}

} // namespace spinfire::llg
