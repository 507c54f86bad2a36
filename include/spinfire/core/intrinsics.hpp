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
#include <xsimd/xsimd.hpp>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
