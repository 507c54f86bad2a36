#pragma once
// The one place spinfire includes the x86 intrinsics and xsimd. GCC 12 flags the
// deliberately undefined registers inside AVX-512 intrinsics (_mm512_srai_epi64,
// _mm512_max_ps, ...) as uninitialized wherever it instantiates them (GCC PR 105593, fixed in
// GCC 13), even in xsimd's own out-of-line kernels such as the double-precision log. GCC
// decides by source location, so the warning is off for exactly the text of these headers
// when they are first included here; spinfire's own code keeps -Wuninitialized.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
#include <immintrin.h>
#endif

// Without optimisation (-O0, CMake's Debug) GCC 12's avx512bwintrin.h defines the two blends
// below as macros with C casts, which reject the batch objects xsimd 8 passes (its integer
// select, reached e.g. by the double-precision log): every AVX-512BW debug build failed.
// Functions with the same contract restore the implicit conversions; they must be seen
// before xsimd's headers, which expand the macros where they are defined.
#if defined(__GNUC__) && !defined(__clang__) && defined(__AVX512BW__) &&                           \
    defined(_mm512_mask_blend_epi8)
#undef _mm512_mask_blend_epi8
#undef _mm512_mask_blend_epi16
inline __m512i _mm512_mask_blend_epi8(__mmask64 u, __m512i a, __m512i w) {
    return __m512i(__builtin_ia32_blendmb_512_mask(__v64qi(a), __v64qi(w), u));
}
inline __m512i _mm512_mask_blend_epi16(__mmask32 u, __m512i a, __m512i w) {
    return __m512i(__builtin_ia32_blendmw_512_mask(__v32hi(a), __v32hi(w), u));
}
#endif
#include <xsimd/xsimd.hpp>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
