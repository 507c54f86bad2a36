#pragma once
// rng::normal4 for a whole batch of consecutive streams with Philox4x32-10 evaluated in AVX2
// registers (8 streams per pass) instead of one scalar call per lane. Bit-identical to
// rng::normal4<batch> (same Philox outputs, same uniform mapping, same Box-Muller), so the
// thermal noise of a lane is the same on every path; only faster. Without AVX2 it is
// rng::normal4<batch> itself.
#include <array>
#include <cstddef>
#include <cstdint>

#include "spinfire/core/intrinsics.hpp"
#include "spinfire/core/philox.hpp"
#include "spinfire/core/simd.hpp"
#include "spinfire/llg/detail/wide.hpp"

namespace spinfire::llg::detail {

#if defined(__AVX2__)
/// Philox4x32-10 for 8 consecutive streams first_stream + 0..7; out[j][i] = word j, stream i.
SPINFIRE_INLINE void philox8(std::uint64_t seed, std::uint64_t first_stream, std::uint64_t counter,
                             std::uint32_t (&out)[4][8]) {
    alignas(32) std::uint32_t lo[8], hi[8];
    for (int i = 0; i < 8; ++i) {
        const std::uint64_t s = first_stream + std::uint64_t(i);
        lo[i] = std::uint32_t(s), hi[i] = std::uint32_t(s >> 32);
    }
    __m256i c0 = _mm256_set1_epi32(int(std::uint32_t(counter)));
    __m256i c1 = _mm256_set1_epi32(int(std::uint32_t(counter >> 32)));
    __m256i c2 = _mm256_load_si256(reinterpret_cast<const __m256i*>(lo));
    __m256i c3 = _mm256_load_si256(reinterpret_cast<const __m256i*>(hi));
    std::uint32_t k0 = std::uint32_t(seed), k1 = std::uint32_t(seed >> 32);
    const __m256i m0 = _mm256_set1_epi32(int(0xD2511F53u)),
                  m1 = _mm256_set1_epi32(int(0xCD9E8D57u));
    // High 32 bits of the 8 products a * m, in place.
    auto mulhi = [](__m256i a, __m256i m) {
        const __m256i even = _mm256_srli_epi64(_mm256_mul_epu32(a, m), 32);
        const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);
        return _mm256_blend_epi32(even, odd, 0xAA);
    };
    for (int r = 0; r < 10; ++r) {
        const __m256i h0 = mulhi(c0, m0), l0 = _mm256_mullo_epi32(c0, m0);
        const __m256i h1 = mulhi(c2, m1), l1 = _mm256_mullo_epi32(c2, m1);
        const __m256i n0 = _mm256_xor_si256(_mm256_xor_si256(h1, c1), _mm256_set1_epi32(int(k0)));
        const __m256i n2 = _mm256_xor_si256(_mm256_xor_si256(h0, c3), _mm256_set1_epi32(int(k1)));
        c1 = l1, c3 = l0, c0 = n0, c2 = n2;
        k0 += 0x9E3779B9u, k1 += 0xBB67AE85u;
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out[0]), c0);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out[1]), c1);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out[2]), c2);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out[3]), c3);
}
#endif

/// Same values as rng::normal4<B>(seed, first_stream, counter); for wide<B>, the two halves
/// are the normals of streams first_stream + [0, n) and first_stream + n + [0, n).
template <class B>
requires simd::is_batch_v<B> SPINFIRE_INLINE std::array<B, 4>
normal4_lanes(std::uint64_t seed, std::uint64_t first_stream, std::uint64_t counter);

#if defined(__AVX2__)
/// Box-Muller on the Philox words of streams [offset, offset + B::size) of one philox8 pass.
template <class B>
SPINFIRE_INLINE std::array<B, 4> normals_from_bits(const std::uint32_t (&bits)[4][8],
                                                   std::size_t offset) {
    using S = simd::scalar_of_t<B>;
    constexpr std::size_t n = B::size;
    alignas(SPINFIRE_ALIGNMENT) S u[4][n];
    for (std::size_t i = 0; i < n; ++i) {
        u[0][i] = rng::to_uniform_open0<S>(bits[0][offset + i]);
        u[1][i] = rng::to_uniform<S>(bits[1][offset + i]);
        u[2][i] = rng::to_uniform_open0<S>(bits[2][offset + i]);
        u[3][i] = rng::to_uniform<S>(bits[3][offset + i]);
    }
    std::array<B, 4> z;
    rng::detail::box_muller(B::load_aligned(u[0]), B::load_aligned(u[1]), z[0], z[1]);
    rng::detail::box_muller(B::load_aligned(u[2]), B::load_aligned(u[3]), z[2], z[3]);
    return z;
}
#endif

template <class W>
requires is_wide<W>::value SPINFIRE_INLINE std::array<W, 4>
normal4_wide(std::uint64_t seed, std::uint64_t first_stream, std::uint64_t counter) {
    using B = decltype(W::lo);
#if defined(__AVX2__)
    if constexpr (2 * B::size <= 8) { // both halves from one Philox pass
        std::uint32_t bits[4][8];
        philox8(seed, first_stream, counter, bits);
        const auto a = normals_from_bits<B>(bits, 0);
        const auto b = normals_from_bits<B>(bits, B::size);
        return {W(a[0], b[0]), W(a[1], b[1]), W(a[2], b[2]), W(a[3], b[3])};
    }
#endif
    const auto a = normal4_lanes<B>(seed, first_stream, counter);
    const auto b = normal4_lanes<B>(seed, first_stream + B::size, counter);
    return {W(a[0], b[0]), W(a[1], b[1]), W(a[2], b[2]), W(a[3], b[3])};
}

template <class B>
requires simd::is_batch_v<B> SPINFIRE_INLINE std::array<B, 4>
normal4_lanes(std::uint64_t seed, std::uint64_t first_stream, std::uint64_t counter) {
    if constexpr (is_wide<B>::value)
        return normal4_wide<B>(seed, first_stream, counter);
    else {
#if defined(__AVX2__)
        if constexpr (B::size <= 8) {
            std::uint32_t bits[4][8];
            philox8(seed, first_stream, counter, bits);
            return normals_from_bits<B>(bits, 0);
        } else
#endif
            return rng::normal4<B>(seed, first_stream, counter);
    }
}

} // namespace spinfire::llg::detail
