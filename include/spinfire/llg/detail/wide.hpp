#pragma once
// wide<B>: two SIMD batches acting as one scalar type of twice the width. One LLG step of one
// batch is a chain of dependent operations (dot -> division -> cross -> ... -> sqrt) and is
// latency-bound; a wide value issues every operation on two independent registers, so the
// two halves' chains overlap instruction by instruction (the compiler does not interleave
// two separately written steps). Used as the ensemble's SIMD type; results per lane are
// identical to stepping each half on its own.
#include <cstddef>
#include "spinfire/core/simd.hpp"

namespace spinfire::llg::detail {

template <class B>
struct wide_bool {
    typename B::batch_bool_type lo, hi;
};

template <class B>
struct wide {
    using value_type = typename B::value_type;
    using batch_bool_type = wide_bool<B>;
    static constexpr std::size_t size = 2 * B::size;
    B lo, hi;

    wide() = default;
    wide(value_type s) : lo(s), hi(s) {} // NOLINT: broadcast, like xsimd::batch
    wide(const B& l, const B& h) : lo(l), hi(h) {}

    static wide load_aligned(const value_type* p) {
        return {B::load_aligned(p), B::load_aligned(p + B::size)};
    }
    static wide load_unaligned(const value_type* p) {
        return {B::load_unaligned(p), B::load_unaligned(p + B::size)};
    }
    void store_aligned(value_type* p) const { lo.store_aligned(p), hi.store_aligned(p + B::size); }
    void store_unaligned(value_type* p) const {
        lo.store_unaligned(p), hi.store_unaligned(p + B::size);
    }
    SPINFIRE_INLINE wide& operator+=(const wide& o) { return lo += o.lo, hi += o.hi, *this; }
    SPINFIRE_INLINE wide& operator-=(const wide& o) { return lo -= o.lo, hi -= o.hi, *this; }
    SPINFIRE_INLINE wide& operator*=(const wide& o) { return lo *= o.lo, hi *= o.hi, *this; }
};

#define SPINFIRE_WIDE_BINARY(op)                                                                   \
    template <class B>                                                                             \
    SPINFIRE_INLINE wide<B> operator op(const wide<B>& a, const wide<B>& b) {                      \
        return {a.lo op b.lo, a.hi op b.hi};                                                       \
    }
SPINFIRE_WIDE_BINARY(+)
SPINFIRE_WIDE_BINARY(-)
SPINFIRE_WIDE_BINARY(*)
SPINFIRE_WIDE_BINARY(/)
#undef SPINFIRE_WIDE_BINARY

#define SPINFIRE_WIDE_COMPARE(op)                                                                  \
    template <class B>                                                                             \
    SPINFIRE_INLINE wide_bool<B> operator op(const wide<B>& a, const wide<B>& b) {                 \
        return {a.lo op b.lo, a.hi op b.hi};                                                       \
    }
SPINFIRE_WIDE_COMPARE(<)
SPINFIRE_WIDE_COMPARE(<=)
SPINFIRE_WIDE_COMPARE(>)
SPINFIRE_WIDE_COMPARE(>=)
SPINFIRE_WIDE_COMPARE(==)
SPINFIRE_WIDE_COMPARE(!=)
#undef SPINFIRE_WIDE_COMPARE

template <class B>
SPINFIRE_INLINE wide<B> operator-(const wide<B>& a) {
    return {-a.lo, -a.hi};
}
template <class B>
SPINFIRE_INLINE wide_bool<B> operator&(const wide_bool<B>& a, const wide_bool<B>& b) {
    return {a.lo & b.lo, a.hi & b.hi};
}
template <class B>
SPINFIRE_INLINE wide_bool<B> operator|(const wide_bool<B>& a, const wide_bool<B>& b) {
    return {a.lo | b.lo, a.hi | b.hi};
}
template <class B>
SPINFIRE_INLINE wide_bool<B> operator!(const wide_bool<B>& a) {
    return {!a.lo, !a.hi};
}

template <class T>
struct is_wide : std::false_type {};
template <class B>
struct is_wide<wide<B>> : std::true_type {};

} // namespace spinfire::llg::detail

// wide takes part in the generic-scalar vocabulary of core/simd.hpp.
namespace spinfire::simd {
template <class B>
struct is_batch<llg::detail::wide<B>> : std::true_type {};
template <class B>
struct scalar_of<llg::detail::wide<B>> {
    using type = typename B::value_type;
};
template <class B>
inline constexpr std::size_t lanes_v<llg::detail::wide<B>> = 2 * B::size;
template <class B>
SPINFIRE_INLINE bool any(const llg::detail::wide_bool<B>& b) {
    return xsimd::any(b.lo | b.hi);
}
template <class B>
SPINFIRE_INLINE bool all(const llg::detail::wide_bool<B>& b) {
    return xsimd::all(b.lo & b.hi);
}
} // namespace spinfire::simd

namespace spinfire::math {
template <class B>
SPINFIRE_INLINE llg::detail::wide<B> sqrt(const llg::detail::wide<B>& x) {
    return {xsimd::sqrt(x.lo), xsimd::sqrt(x.hi)};
}
template <class B>
SPINFIRE_INLINE llg::detail::wide<B> abs(const llg::detail::wide<B>& x) {
    return {xsimd::abs(x.lo), xsimd::abs(x.hi)};
}
template <class B>
SPINFIRE_INLINE llg::detail::wide<B> max(const llg::detail::wide<B>& a,
                                         const llg::detail::wide<B>& b) {
    return {xsimd::max(a.lo, b.lo), xsimd::max(a.hi, b.hi)};
}
template <class B>
SPINFIRE_INLINE llg::detail::wide<B> select(const llg::detail::wide_bool<B>& c,
                                            const llg::detail::wide<B>& a,
                                            const llg::detail::wide<B>& b) {
    return {xsimd::select(c.lo, a.lo, b.lo), xsimd::select(c.hi, a.hi, b.hi)};
}
} // namespace spinfire::math
