#pragma once
// Deterministic parameter initialisation from Philox: a layer's weights depend only on
// (seed, layer index), never on thread count or construction order elsewhere.
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "spinfire/core/philox.hpp"

namespace spinfire::nn::detail {

/// U(-bound, bound), the PyTorch default for conv/linear (bound = 1/sqrt(fan_in)).
inline void uniform_fill(float* p, std::size_t n, float bound, std::uint64_t seed,
                         std::uint64_t stream) {
    rng::stream s(seed, stream);
    for (std::size_t i = 0; i < n; ++i) p[i] = float((2 * s.uniform() - 1) * bound);
}

/// splitmix64 finaliser: combines version counters into one cache token.
inline std::uint64_t mix(std::uint64_t a, std::uint64_t b) {
    std::uint64_t z = a + 0x9e3779b97f4a7c15ull + (b << 6) + (b >> 2);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31) ^ b;
}

} // namespace spinfire::nn::detail
