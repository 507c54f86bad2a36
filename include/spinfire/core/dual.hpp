#pragma once
// Forward-mode dual numbers over a scalar or an xsimd batch: a value and N tangents.
// Generic model code written with + - * / and spinfire::math runs unchanged on dual<T, N>
// and yields N directional derivatives at once (the neuron DSL seeds one tangent per state
// variable, input and parameter to get a step's local Jacobian).
#include <array>
#include <cmath>
#include <cstddef>
#include <type_traits>

#include "spinfire/core/simd.hpp"

namespace spinfire {

template <class T, std::size_t N>
struct dual {
    using value_type = T;
    static constexpr std::size_t tangents = N;

    T v;                 // value
    std::array<T, N> d;  // d[k] = derivative along tangent k

    dual() : v(T(0)) { d.fill(T(0)); }
    // Implicit from a value: a constant (zero tangents). Lets model code write T(0.5).
    dual(const T& value) : v(value) { d.fill(T(0)); }
    template <class U>
        requires(std::is_arithmetic_v<U> && !std::is_same_v<U, T>)
    dual(U x) : dual(T(simd::scalar_of_t<T>(x))) {}

    /// A variable: value x with tangent k set to 1.
    static dual variable(const T& x, std::size_t k) {
        dual r(x);
        r.d[k] = T(1);
        return r;
    }

    // Hidden friends: non-template, so a plain number or value converts implicitly.
    friend SPINFIRE_INLINE dual operator+(const dual& a, const dual& b) {
        dual r(a.v + b.v);
        for (std::size_t k = 0; k < N; ++k) r.d[k] = a.d[k] + b.d[k];
        return r;
    }
    friend SPINFIRE_INLINE dual operator-(const dual& a, const dual& b) {
        dual r(a.v - b.v);
        for (std::size_t k = 0; k < N; ++k) r.d[k] = a.d[k] - b.d[k];
        return r;
    }
    friend SPINFIRE_INLINE dual operator*(const dual& a, const dual& b) {
        dual r(a.v * b.v);
        for (std::size_t k = 0; k < N; ++k) r.d[k] = a.d[k] * b.v + a.v * b.d[k];
        return r;
    }
    friend SPINFIRE_INLINE dual operator/(const dual& a, const dual& b) {
        const T inv = T(1) / b.v;
        dual r(a.v * inv);
        for (std::size_t k = 0; k < N; ++k) r.d[k] = (a.d[k] - r.v * b.d[k]) * inv;
        return r;
    }
    friend SPINFIRE_INLINE dual operator-(const dual& a) {
        dual r(-a.v);
        for (std::size_t k = 0; k < N; ++k) r.d[k] = -a.d[k];
        return r;
    }
    dual& operator+=(const dual& b) { return *this = *this + b; }
    dual& operator-=(const dual& b) { return *this = *this - b; }
    dual& operator*=(const dual& b) { return *this = *this * b; }
    dual& operator/=(const dual& b) { return *this = *this / b; }

    // Comparisons look at values only (a branch of the model, not a derivative).
    friend SPINFIRE_INLINE auto operator<(const dual& a, const dual& b) { return a.v < b.v; }
    friend SPINFIRE_INLINE auto operator<=(const dual& a, const dual& b) { return a.v <= b.v; }
    friend SPINFIRE_INLINE auto operator>(const dual& a, const dual& b) { return a.v > b.v; }
    friend SPINFIRE_INLINE auto operator>=(const dual& a, const dual& b) { return a.v >= b.v; }
};

template <class T>
struct is_dual : std::false_type {};
template <class T, std::size_t N>
struct is_dual<dual<T, N>> : std::true_type {};
template <class T>
inline constexpr bool is_dual_v = is_dual<T>::value;

/// The value part: x itself for scalars and batches.
template <class T>
SPINFIRE_INLINE const auto& value_of(const T& x) {
    if constexpr (is_dual_v<T>)
        return x.v;
    else
        return x;
}

/// The value with every tangent dropped (a gradient stop); identity for non-duals.
template <class T>
SPINFIRE_INLINE T detach(const T& x) {
    if constexpr (is_dual_v<T>)
        return T(x.v);
    else
        return x;
}

/// Builds x' = f(x) with tangents f'(x) * dx (the chain rule for a unary function).
template <class T, std::size_t N>
SPINFIRE_INLINE dual<T, N> chain(const dual<T, N>& x, const T& fx, const T& dfx) {
    dual<T, N> r(fx);
    for (std::size_t k = 0; k < N; ++k) r.d[k] = dfx * x.d[k];
    return r;
}

} // namespace spinfire

namespace spinfire::math {

/// tanh over scalars and batches (absent from core/simd.hpp; the MTJ neuron saturates with it).
template <class T>
SPINFIRE_INLINE T tanh(const T& x) {
    if constexpr (simd::is_batch_v<T>)
        return xsimd::tanh(x);
    else
        return std::tanh(x);
}

template <class T, std::size_t N>
SPINFIRE_INLINE dual<T, N> exp(const dual<T, N>& x) {
    const T e = math::exp(x.v);
    return chain(x, e, e);
}
template <class T, std::size_t N>
SPINFIRE_INLINE dual<T, N> log(const dual<T, N>& x) {
    return chain(x, math::log(x.v), T(1) / x.v);
}
template <class T, std::size_t N>
SPINFIRE_INLINE dual<T, N> sqrt(const dual<T, N>& x) {
    const T s = math::sqrt(x.v);
    return chain(x, s, T(0.5) / s);
}
template <class T, std::size_t N>
SPINFIRE_INLINE dual<T, N> tanh(const dual<T, N>& x) {
    const T t = math::tanh(x.v);
    return chain(x, t, T(1) - t * t);
}
/// |x|: derivative sign(x), and 0 at x = 0 (a subgradient).
template <class T, std::size_t N>
SPINFIRE_INLINE dual<T, N> abs(const dual<T, N>& x) {
    const T sgn = math::select(x.v > T(0), T(1), math::select(x.v < T(0), T(-1), T(0)));
    return chain(x, math::abs(x.v), sgn);
}
template <class C, class T, std::size_t N>
SPINFIRE_INLINE dual<T, N> select(const C& cond, const dual<T, N>& a, const dual<T, N>& b) {
    dual<T, N> r(math::select(cond, a.v, b.v));
    for (std::size_t k = 0; k < N; ++k) r.d[k] = math::select(cond, a.d[k], b.d[k]);
    return r;
}
/// min/max pass the derivative of the chosen argument (a's on ties).
template <class T, std::size_t N>
SPINFIRE_INLINE dual<T, N> min(const dual<T, N>& a, const dual<T, N>& b) {
    return math::select(a.v <= b.v, a, b);
}
template <class T, std::size_t N>
SPINFIRE_INLINE dual<T, N> max(const dual<T, N>& a, const dual<T, N>& b) {
    return math::select(a.v >= b.v, a, b);
}

} // namespace spinfire::math
