#pragma once
// Generic-scalar helpers: the same physics and neuron code runs on double/float (scalar
// reference path) and on xsimd batches (one lane per device or neuron).
#include <cmath>
#include <cstddef>
#include <type_traits>

#include "spinfire/config.hpp"
#include "spinfire/core/intrinsics.hpp"

// The same GCC 12 false positive as in intrinsics.hpp, for intrinsics inlined into these
// wrappers: GCC also honours a diagnostic pragma anywhere along the inlining stack, so this
// covers translation units that included TBB, xsimd or <immintrin.h> before spinfire.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace spinfire::simd {

/// SIMD batch of the widest instruction set the target was compiled for.
template <class T>
using batch = xsimd::batch<T>;

template <class T>
struct is_batch : std::false_type {};
template <class T, class A>
struct is_batch<xsimd::batch<T, A>> : std::true_type {};
template <class T>
inline constexpr bool is_batch_v = is_batch<T>::value;

/// The element type: T for scalars, the lane type for batches.
template <class T>
struct scalar_of {
    using type = T;
};
template <class T, class A>
struct scalar_of<xsimd::batch<T, A>> {
    using type = T;
};
template <class T>
using scalar_of_t = typename scalar_of<T>::type;

/// Number of lanes: 1 for scalars.
template <class T>
inline constexpr std::size_t lanes_v = 1;
template <class T, class A>
inline constexpr std::size_t lanes_v<xsimd::batch<T, A>> = xsimd::batch<T, A>::size;

/// Loads lanes_v<T> consecutive values (unaligned); a scalar load for scalar T.
template <class T>
SPINFIRE_INLINE T load(const scalar_of_t<T>* p) {
    if constexpr (is_batch_v<T>)
        return T::load_unaligned(p);
    else
        return *p;
}
template <class T>
SPINFIRE_INLINE void store(scalar_of_t<T>* p, const T& v) {
    if constexpr (is_batch_v<T>)
        v.store_unaligned(p);
    else
        *p = v;
}
/// Broadcast a scalar to T. Written T(x), never T{x}: xsimd 8 braces pick the lane-list ctor.
template <class T>
SPINFIRE_INLINE T splat(scalar_of_t<T> x) {
    return T(x);
}

/// Reduces a per-lane condition to "any lane true"; identity for bool.
SPINFIRE_INLINE bool any(bool b) { return b; }
template <class T, class A>
SPINFIRE_INLINE bool any(const xsimd::batch_bool<T, A>& b) {
    return xsimd::any(b);
}
SPINFIRE_INLINE bool all(bool b) { return b; }
template <class T, class A>
SPINFIRE_INLINE bool all(const xsimd::batch_bool<T, A>& b) {
    return xsimd::all(b);
}

/// Lane i of v (i = 0 for scalars).
template <class T>
SPINFIRE_INLINE scalar_of_t<T> lane(const T& v, std::size_t i) {
    if constexpr (is_batch_v<T>) {
        alignas(SPINFIRE_ALIGNMENT) scalar_of_t<T> buf[T::size];
        v.store_aligned(buf);
        return buf[i];
    } else {
        (void)i;
        return v;
    }
}

} // namespace spinfire::simd

namespace spinfire::math {
// One name for each function over scalars and batches; dual numbers add overloads.
template <class T>
SPINFIRE_INLINE T sqrt(const T& x) {
    if constexpr (simd::is_batch_v<T>)
        return xsimd::sqrt(x);
    else
        return std::sqrt(x);
}
template <class T>
SPINFIRE_INLINE T abs(const T& x) {
    if constexpr (simd::is_batch_v<T>)
        return xsimd::abs(x);
    else
        return std::abs(x);
}
template <class T>
SPINFIRE_INLINE T exp(const T& x) {
    if constexpr (simd::is_batch_v<T>)
        return xsimd::exp(x);
    else
        return std::exp(x);
}
template <class T>
SPINFIRE_INLINE T log(const T& x) {
    if constexpr (simd::is_batch_v<T>)
        return xsimd::log(x);
    else
        return std::log(x);
}
template <class T>
SPINFIRE_INLINE T min(const T& a, const T& b) {
    if constexpr (simd::is_batch_v<T>)
        return xsimd::min(a, b);
    else
        return a < b ? a : b;
}
template <class T>
SPINFIRE_INLINE T max(const T& a, const T& b) {
    if constexpr (simd::is_batch_v<T>)
        return xsimd::max(a, b);
    else
        return a < b ? b : a;
}
/// Per-lane choice: cond ? a : b (cond is bool for scalars, batch_bool for batches).
template <class C, class T>
SPINFIRE_INLINE T select(const C& cond, const T& a, const T& b) {
    if constexpr (simd::is_batch_v<T>)
        return xsimd::select(cond, a, b);
    else
        return cond ? a : b;
}
} // namespace spinfire::math

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
