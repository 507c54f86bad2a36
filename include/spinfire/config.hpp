#pragma once
// Version and every SPINFIRE_* macro, in one place.

#define SPINFIRE_VERSION_MAJOR 0
#define SPINFIRE_VERSION_MINOR 1
#define SPINFIRE_VERSION_PATCH 0
#define SPINFIRE_VERSION_STRING "0.1.0"

// Force inlining of the small generic kernels (field terms, neuron steps) that the
// compiler must see through to keep SIMD values in registers.
#if defined(__GNUC__) || defined(__clang__)
#define SPINFIRE_INLINE inline __attribute__((always_inline))
#define SPINFIRE_RESTRICT __restrict__
#else
#define SPINFIRE_INLINE inline
#define SPINFIRE_RESTRICT
#endif

// Inline every call (recursively) into a kernel's per-lane loop. A user's neuron step is an
// ordinary inline function, which GCC declines to inline once it runs on dual numbers (too
// large); the call per lane and step then passes the duals through memory: 1.3 to 2.3x
// slower generated backward passes (bench_neuron bm_cost_*). Overridable (define it as
// `inline`) to measure that cost.
#ifndef SPINFIRE_FLATTEN
#if defined(__GNUC__) || defined(__clang__)
#define SPINFIRE_FLATTEN inline __attribute__((flatten))
#else
#define SPINFIRE_FLATTEN inline
#endif
#endif

// Alignment of structure-of-arrays storage: one cache line, enough for any SIMD width.
#ifndef SPINFIRE_ALIGNMENT
#define SPINFIRE_ALIGNMENT 64
#endif

// Default number of lanes processed per TBB task in ensemble and element-wise kernels.
#ifndef SPINFIRE_GRAIN
#define SPINFIRE_GRAIN 2048
#endif
