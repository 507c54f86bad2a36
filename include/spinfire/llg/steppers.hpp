#pragma once
// The library's steppers (llg::stepper, stepper.hpp), over a generic scalar T (double, float
// or a SIMD batch: one device per lane). Each returns the renormalized unit vector and the
// squared norm before renormalization, so that callers can detect NaN or a lost |m|.
//   rk4    classic fourth order, fixed step; deterministic systems (dt 0.1-1 ps)
//   heun   stochastic Heun: Euler predictor + trapezoidal corrector with ONE thermal field
//          per step, which converges to the Stratonovich solution the Brown field needs
//          (Euler-Maruyama would converge to the Ito one: wrong drift)
//   dopri5 Dormand-Prince 5(4): an error stepper (llg::error_stepper) for adaptive steps at
//          T = 0 (solve_adaptive); the error is computed before renormalization. As a fixed
//          stepper it takes the fifth-order solution.
#include <array>
#include <initializer_list>
#include <utility>

#include "spinfire/core/simd.hpp"
#include "spinfire/core/vec3.hpp"
#include "spinfire/llg/stepper.hpp"

namespace spinfire::llg {

namespace detail {
template <class T>
SPINFIRE_INLINE vec3<T> axpy(const T& a, const vec3<T>& x, const vec3<T>& y) {
    return {y.x + a * x.x, y.y + a * x.y, y.z + a * x.z};
}
} // namespace detail

/// Classic RK4; drive at t, t + dt/2 (both middle stages) and t + dt.
struct rk4 {
    static constexpr bool stochastic = false;
    static constexpr std::array<double, 3> nodes{0.0, 0.5, 1.0};
    static constexpr const char* name() { return "rk4"; }

    template <class F, class T>
    SPINFIRE_INLINE step_result<T> step(const F& f, const vec3<T>& m, const std::array<T, 3>& u,
                                        const vec3<T>&, const T& dt) const {
        const vec3<T> zero(T(0), T(0), T(0));
        const T h2 = T(0.5) * dt;
        const vec3<T> k1 = f(m, u[0], zero);
        const vec3<T> k2 = f(detail::axpy(h2, k1, m), u[1], zero);
        const vec3<T> k3 = f(detail::axpy(h2, k2, m), u[1], zero);
        const vec3<T> k4 = f(detail::axpy(dt, k3, m), u[2], zero);
        const T h6 = dt * T(1.0 / 6.0);
        const vec3<T> s = k1 + T(2) * (k2 + k3) + k4;
        return renormalize(detail::axpy(h6, s, m));
    }
};

/// Stochastic Heun: the same thermal field b_th (tesla) in both stages.
struct heun {
    static constexpr bool stochastic = true;
    static constexpr std::array<double, 2> nodes{0.0, 1.0};
    static constexpr const char* name() { return "heun"; }

    template <class F, class T>
    SPINFIRE_INLINE step_result<T> step(const F& f, const vec3<T>& m, const std::array<T, 2>& u,
                                        const vec3<T>& b_th, const T& dt) const {
        const vec3<T> k1 = f(m, u[0], b_th);
        const vec3<T> k2 = f(detail::axpy(dt, k1, m), u[1], b_th);
        return renormalize(detail::axpy(T(0.5) * dt, k1 + k2, m));
    }
};

/// Dormand-Prince 5(4) with its embedded error estimate (seven stages, the last at the
/// fifth-order solution).
struct dopri5 {
    static constexpr bool stochastic = false;
    static constexpr std::array<double, 7> nodes{0.0, 0.2, 0.3, 0.8, 8.0 / 9.0, 1.0, 1.0};
    static constexpr int error_order = 5;
    static constexpr const char* name() { return "dopri5"; }

    template <class F, class T>
    SPINFIRE_INLINE error_step<T> try_step(const F& f, const vec3<T>& m, const std::array<T, 7>& u,
                                           const vec3<T>&, const T& h) const {
        const vec3<T> z(T(0), T(0), T(0));
        using S = simd::scalar_of_t<T>;
        auto comb = [&](std::initializer_list<std::pair<S, const vec3<T>*>> terms) {
            vec3<T> r = m;
            for (const auto& [c, k] : terms) r = detail::axpy(T(c) * h, *k, r);
            return r;
        };
        const vec3<T> k1 = f(m, u[0], z);
        const vec3<T> k2 = f(comb({{S(1.0 / 5), &k1}}), u[1], z);
        const vec3<T> k3 = f(comb({{S(3.0 / 40), &k1}, {S(9.0 / 40), &k2}}), u[2], z);
        const vec3<T> k4 =
            f(comb({{S(44.0 / 45), &k1}, {S(-56.0 / 15), &k2}, {S(32.0 / 9), &k3}}), u[3], z);
        const vec3<T> k5 = f(comb({{S(19372.0 / 6561), &k1},
                                   {S(-25360.0 / 2187), &k2},
                                   {S(64448.0 / 6561), &k3},
                                   {S(-212.0 / 729), &k4}}),
                             u[4], z);
        const vec3<T> k6 = f(comb({{S(9017.0 / 3168), &k1},
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
        const vec3<T> k7 = f(y5, u[6], z);
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

    template <class F, class T>
    SPINFIRE_INLINE step_result<T> step(const F& f, const vec3<T>& m, const std::array<T, 7>& u,
                                        const vec3<T>& b_th, const T& dt) const {
        return renormalize(try_step(f, m, u, b_th, dt).m);
    }
};

/// rk4 on System's parameters directly (for loops of their own, e.g. neuron::llg_population).
template <class System, class P, class T>
SPINFIRE_INLINE step_result<T> rk4_step(const P& p, const T& gp, const vec3<T>& m, const T& u0,
                                        const T& uh, const T& u1, const T& dt) {
    const vec3<T> zero(T(0), T(0), T(0));
    return rk4{}.step(rhs<System, T>{p, gp}, m, {u0, uh, u1}, zero, dt);
}

/// heun on System's parameters directly, with the step's thermal field b_th (tesla).
template <class System, class P, class T>
SPINFIRE_INLINE step_result<T> heun_step(const P& p, const T& gp, const vec3<T>& m, const T& u0,
                                         const T& u1, const vec3<T>& b_th, const T& dt) {
    return heun{}.step(rhs<System, T>{p, gp}, m, {u0, u1}, b_th, dt);
}

} // namespace spinfire::llg
