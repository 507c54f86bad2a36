#pragma once
// What a one-step integrator must provide to be a type parameter of llg::ensemble::integrate
// (llg::stepper) or of llg::solve_adaptive (llg::error_stepper), in the style of odeint: the
// stepper sees the right-hand side as a callable f(m, u, b_th) -> dm/dt (llg::rhs), never
// the system's parameters, so one stepper serves every system and every scalar type (double,
// float, a SIMD batch of devices).
//
//   struct my_stepper {
//       static constexpr bool stochastic = false;              // integrates thermal noise?
//       static constexpr std::array<double, 2> nodes{0, 0.5};   // stage times / dt
//       static constexpr const char* name() { return "my_stepper"; }
//       template <class F, class T>
//       SPINFIRE_INLINE step_result<T> step(const F& f, const vec3<T>& m,
//                                           const std::array<T, 2>& u, const vec3<T>& b_th,
//                                           const T& dt) const;
//   };
//
// u[i] is the drive at t + nodes[i] dt; a node at 0 (1) gets the drive's one-sided limit
// from the right (left), so an edge on the step grid ends one step and starts the next.
// b_th is the thermal field of the step (tesla), drawn once per step from the counter-based
// stream; a stochastic stepper must hold it through every stage (Stratonovich), a
// deterministic one is refused for systems at T > 0 and receives zero. step() runs in the
// ensemble's innermost loop with the state in registers: mark it SPINFIRE_INLINE, since an
// out-of-line call per step (GCC does not inline such templates on its own there) costs more
// than the physics.
#include <array>
#include <concepts>
#include <cstddef>

#include "spinfire/config.hpp"
#include "spinfire/core/vec3.hpp"
#include "spinfire/llg/detail/wide.hpp" // math:: overloads must precede the templates

namespace spinfire::llg {

template <class T>
struct step_result {
    vec3<T> m; ///< renormalized
    T norm2;   ///< |m|^2 before renormalization (NaN or far from 1: an unstable step)
};

/// The result of an error stepper's trial step: m NOT renormalized, and the error estimate
/// (max-norm of the difference to the embedded lower-order solution, in units of |m|).
template <class T>
struct error_step {
    vec3<T> m;
    T error;
};

/// m / |m| with the squared norm before renormalization: what every step returns.
template <class T>
SPINFIRE_INLINE step_result<T> renormalize(const vec3<T>& m) {
    const T n2 = norm2(m);
    const T inv = T(1) / math::sqrt(n2);
    return {inv * m, n2};
}

/// The right-hand side of System for one (batch of) parameter set(s): f(m, u, b_th) is dm/dt
/// at state m, drive value u and thermal field b_th.
template <class System, class T>
struct rhs {
    const typename System::template params<T>& p;
    const T& gp; ///< System::reduced_gamma(p)
    SPINFIRE_INLINE vec3<T> operator()(const vec3<T>& m, const T& u, const vec3<T>& b_th) const {
        return System::rate(p, gp, m, u, b_th);
    }
};

/// The drive values a stepper S receives per step, one per node.
template <class S, class T>
using drive_values = std::array<T, S::nodes.size()>;

template <class S, class System, class T = double>
concept stepper = requires {
    { S::stochastic } -> std::convertible_to<bool>;
    { S::name() } -> std::convertible_to<const char*>;
    { S::nodes.size() } -> std::convertible_to<std::size_t>;
    { S::nodes[0] } -> std::convertible_to<double>;
}
&&requires(const S& s, const rhs<System, T>& f, const vec3<T>& m, const drive_values<S, T>& u,
           const T& dt) {
    { s.step(f, m, u, m, dt) } -> std::same_as<step_result<T>>;
};

/// A stepper for adaptive steps: a trial step with an error estimate whose leading term is
/// O(dt^error_order) (dopri5: 5), from which the step-size controller picks the next dt.
template <class S, class System, class T = double>
concept error_stepper = requires {
    { S::name() } -> std::convertible_to<const char*>;
    { S::nodes.size() } -> std::convertible_to<std::size_t>;
    { S::error_order } -> std::convertible_to<int>;
}
&&requires(const S& s, const rhs<System, T>& f, const vec3<T>& m, const drive_values<S, T>& u,
           const T& dt) {
    { s.try_step(f, m, u, m, dt) } -> std::same_as<error_step<T>>;
};

namespace detail {
/// One check per member, so a user's stepper that lacks one is told which (the compiler's
/// "in instantiation of 'check_stepper<YourStepper, ...>'" line names the stepper).
template <class S, class System, class T>
struct check_stepper {
    static constexpr bool has_stochastic = requires {
        { S::stochastic } -> std::convertible_to<bool>;
    };
    static constexpr bool has_nodes = requires {
        { S::nodes.size() } -> std::convertible_to<std::size_t>;
        { S::nodes[0] } -> std::convertible_to<double>;
    };
    static constexpr bool has_name = requires {
        { S::name() } -> std::convertible_to<const char*>;
    };
    static_assert(has_stochastic, "llg::stepper: the stepper has no `stochastic`; give it "
                                  "`static constexpr bool stochastic` (true only if it "
                                  "integrates thermal noise in the Stratonovich sense)");
    static_assert(has_nodes, "llg::stepper: the stepper has no `nodes`; give it `static "
                             "constexpr std::array<double, N> nodes` (its stage times as "
                             "fractions of dt, where the drive is evaluated)");
    static_assert(has_name, "llg::stepper: the stepper has no `name()`; give it `static "
                            "constexpr const char* name()`");
    static constexpr bool value = [] {
        if constexpr (has_stochastic && has_nodes && has_name) {
            static_assert(stepper<S, System, T>,
                          "llg::stepper: the stepper needs `template <class F, class T> "
                          "step_result<T> step(const F& f, const vec3<T>& m, const "
                          "std::array<T, nodes.size()>& u, const vec3<T>& b_th, const T& dt) "
                          "const`");
            return true;
        } else {
            return false;
        }
    }();
};
} // namespace detail

} // namespace spinfire::llg
