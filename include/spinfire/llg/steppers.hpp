#pragma once
// One-step integrators over a generic scalar T (double, float or an xsimd batch: one device
// per lane). Each returns the new unit vector; the squared norm before renormalization is
// reported so that callers can detect NaN or a lost |m| (an unstable time step).
//   rk4    classic fourth order, fixed step; deterministic systems (dt 0.1-1 ps)
//   heun   stochastic Heun: Euler predictor + trapezoidal corrector with ONE thermal field
//          per step, which converges to the Stratonovich solution the Brown field needs
//          (Euler-Maruyama would converge to the Ito one: wrong drift)
//   dopri5 Dormand-Prince 5(4) with an embedded error estimate, for adaptive steps at T = 0;
//          the error is computed before renormalization
// Drive values are supplied at the stage times by the caller (u0 at t, uh at t + dt/2,
// u1 at t + dt; the ensemble passes one-sided limits at the step's ends, drive::limit), so
// lanes may have different drives without branching here.
#include <array>
#include <initializer_list>
#include <utility>

#include "spinfire/core/vec3.hpp"
#include "spinfire/llg/detail/wide.hpp" // math:: overloads must precede the templates

namespace spinfire::llg {

template <class T>
struct step_result {
    vec3<T> m; ///< renormalized
    T norm2;   ///< |m|^2 before renormalization
};

namespace detail {
template <class T>
SPINFIRE_INLINE step_result<T> renormalize(const vec3<T>& m) {
    const T n2 = norm2(m);
    const T inv = T(1) / math::sqrt(n2);
    return {inv * m, n2};
}
template <class T>
SPINFIRE_INLINE vec3<T> axpy(const T& a, const vec3<T>& x, const vec3<T>& y) {
    return {y.x + a * x.x, y.y + a * x.y, y.z + a * x.z};
}
} // namespace detail

/// Classic RK4 step of System for params p (gp = System::reduced_gamma(p)).
template <class System, class P, class T>
SPINFIRE_INLINE step_result<T> rk4_step(const P& p, const T& gp, const vec3<T>& m, const T& u0,
                                        const T& uh, const T& u1, const T& dt) {
    const vec3<T> zero(T(0), T(0), T(0));
    const T h2 = T(0.5) * dt;
    const vec3<T> k1 = System::rate(p, gp, m, u0, zero);
    const vec3<T> k2 = System::rate(p, gp, detail::axpy(h2, k1, m), uh, zero);
    const vec3<T> k3 = System::rate(p, gp, detail::axpy(h2, k2, m), uh, zero);
    const vec3<T> k4 = System::rate(p, gp, detail::axpy(dt, k3, m), u1, zero);
    const T h6 = dt * T(1.0 / 6.0);
    const vec3<T> s = k1 + T(2) * (k2 + k3) + k4;
    return detail::renormalize(detail::axpy(h6, s, m));
}

/// Stochastic Heun step: the same thermal field b_th (tesla) in both stages.
template <class System, class P, class T>
SPINFIRE_INLINE step_result<T> heun_step(const P& p, const T& gp, const vec3<T>& m, const T& u0,
                                         const T& u1, const vec3<T>& b_th, const T& dt) {
    const vec3<T> k1 = System::rate(p, gp, m, u0, b_th);
    const vec3<T> k2 = System::rate(p, gp, detail::axpy(dt, k1, m), u1, b_th);
    return detail::renormalize(detail::axpy(T(0.5) * dt, k1 + k2, m));
}

/// Result of one Dormand-Prince 5(4) trial step: the fifth-order solution (not yet
/// renormalized) and the max-norm of the difference to the embedded fourth-order one.
template <class T>
struct dopri5_trial {
    vec3<T> m5;
    T error;
};

/// Stage times of dopri5 as fractions of the step, for evaluating drives.
inline constexpr std::array<double, 7> dopri5_nodes{0.0, 0.2, 0.3, 0.8, 8.0 / 9.0, 1.0, 1.0};

/// One Dormand-Prince 5(4) trial step; u[i] is the drive at t + dopri5_nodes[i] dt.
template <class System, class P, class T>
SPINFIRE_INLINE dopri5_trial<T> dopri5_step(const P& p, const T& gp, const vec3<T>& m,
                                            const std::array<T, 7>& u, const T& h) {
    const vec3<T> z(T(0), T(0), T(0));
    using S = simd::scalar_of_t<T>;
    auto comb = [&](std::initializer_list<std::pair<S, const vec3<T>*>> terms) {
        vec3<T> r = m;
        for (const auto& [c, k] : terms) r = detail::axpy(T(c) * h, *k, r);
        return r;
    };
    const vec3<T> k1 = System::rate(p, gp, m, u[0], z);
    const vec3<T> k2 = System::rate(p, gp, comb({{S(1.0 / 5), &k1}}), u[1], z);
    const vec3<T> k3 = System::rate(p, gp, comb({{S(3.0 / 40), &k1}, {S(9.0 / 40), &k2}}), u[2], z);
    const vec3<T> k4 = System::rate(
        p, gp, comb({{S(44.0 / 45), &k1}, {S(-56.0 / 15), &k2}, {S(32.0 / 9), &k3}}), u[3], z);
    const vec3<T> k5 = System::rate(p, gp,
                                    comb({{S(19372.0 / 6561), &k1},
                                          {S(-25360.0 / 2187), &k2},
                                          {S(64448.0 / 6561), &k3},
                                          {S(-212.0 / 729), &k4}}),
                                    u[4], z);
    const vec3<T> k6 = System::rate(p, gp,
                                    comb({{S(9017.0 / 3168), &k1},
                                          {S(-355.0 / 33), &k2},
                                          {S(46732.0 / 5247), &k3},
                                          {S(49.0 / 176), &k4},
                                          {S(-5103.0 / 18656), &k5}}),
                                    u[5], z);
    const vec3<T> y5 = comb({{S(35.0 / 384), &k1},
                             {S(500.0 / 1113), &k3},
                             {S(125.0 / 192), &k4},
                             {S(-2187.0 / 6784), &k5},
                             {S(11.0 / 84), &k6}});
    const vec3<T> k7 = System::rate(p, gp, y5, u[6], z);
    // Error = y5 - y4 with the embedded weights' differences e_i = b_i - b*_i.
    vec3<T> e = z;
    e = detail::axpy(T(S(71.0 / 57600)) * h, k1, e);
    e = detail::axpy(T(S(-71.0 / 16695)) * h, k3, e);
    e = detail::axpy(T(S(71.0 / 1920)) * h, k4, e);
    e = detail::axpy(T(S(-17253.0 / 339200)) * h, k5, e);
    e = detail::axpy(T(S(22.0 / 525)) * h, k6, e);
    e = detail::axpy(T(S(-1.0 / 40)) * h, k7, e);
    const T err = math::max(math::abs(e.x), math::max(math::abs(e.y), math::abs(e.z)));
    return {y5, err};
}

} // namespace spinfire::llg
