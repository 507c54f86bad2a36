#pragma once
// Lane masks over the ensemble's scalar types: bool on the scalar path, a batch_bool (or
// wide_bool) on the SIMD path, with one spelling for both.
#include <cstddef>
#include <type_traits>

#include "spinfire/core/simd.hpp"
#include "spinfire/llg/detail/wide.hpp"

namespace spinfire::llg::detail {

/// The mask type of scalar type T (the result of a comparison).
template <class T>
using mask_t = decltype(T() < T());

template <class M>
SPINFIRE_INLINE M mask_and(const M& a, const M& b) {
    if constexpr (std::is_same_v<M, bool>)
        return a && b;
    else
        return a & b;
}
template <class M>
SPINFIRE_INLINE M mask_or(const M& a, const M& b) {
    if constexpr (std::is_same_v<M, bool>)
        return a || b;
    else
        return a | b;
}
template <class M>
SPINFIRE_INLINE M mask_not(const M& a) {
    return !a;
}
/// Lane i of mask m (of scalar type T).
template <class T, class M>
bool mask_lane(const M& m, std::size_t i) {
    if constexpr (std::is_same_v<M, bool>)
        return (void)i, m;
    else
        return simd::lane(math::select(m, T(1), T(0)), i) != 0;
}
/// The mask whose lane i is on[i] (w = lanes of T entries).
template <class T>
mask_t<T> mask_from(const bool* on) {
    using S = simd::scalar_of_t<T>;
    constexpr std::size_t w = simd::lanes_v<T>;
    alignas(SPINFIRE_ALIGNMENT) S v[w];
    for (std::size_t i = 0; i < w; ++i) v[i] = on[i] ? S(1) : S(0);
    return simd::load<T>(v) > T(0);
}

} // namespace spinfire::llg::detail
