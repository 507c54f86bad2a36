#pragma once
// Process-wide heap policy for training: keep freed blocks instead of returning them to the
// kernel.
//
// A training step frees and re-allocates the same large buffers every iteration
// (activations whose shape changes with the batch or T, packed spikes, per-call scratch).
// glibc hands every block above its mmap threshold (128 KB, adapting up to 32 MB) back to
// the kernel on free, so the next step page-faults all of it in again: 40-60 % of a VGG-s
// training step on one 2-vCPU VM, 7 % on another (docs/results/performance.md, "Page faults").
// Raising the mmap and trim thresholds keeps those blocks in the heap, where the next step
// reuses them; the price is a higher peak RSS (the heap keeps its high-water mark).
//
// It changes the whole process, so it is a program's decision: the training programs and
// benchmarks call it first thing in main; a program that embeds spinfire can do the same.
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace spinfire {

/// Keeps freed heap blocks up to 1 GiB in the process for reuse. Returns false where the C
/// library has no such control (not glibc) or refuses the setting.
inline bool retain_freed_memory() {
#if defined(__GLIBC__)
    constexpr int limit = 1 << 30;
    return mallopt(M_MMAP_THRESHOLD, limit) == 1 && mallopt(M_TRIM_THRESHOLD, limit) == 1;
#else
    return false;
#endif
}

} // namespace spinfire
