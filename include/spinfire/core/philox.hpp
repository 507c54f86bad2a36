#pragma once
// Counter-based random numbers: Philox4x32-10 (Salmon et al., SC'11). A draw is a pure
// function of (seed, stream, counter), so results never depend on thread count, chunking or
// scheduling: a device, neuron or image owns a stream and a step or epoch is the counter.
#include <array>
#include <cstddef>
#include <cstdint>

#include "spinfire/core/simd.hpp"
#include "spinfire/core/constants.hpp"

namespace spinfire::rng {

using block = std::array<std::uint32_t, 4>;

/// The Philox4x32-10 bijection: 4 x 32 random bits for key = seed and
/// counter = (counter lo, counter hi, stream lo, stream hi).
SPINFIRE_INLINE block philox4x32(std::uint64_t seed, std::uint64_t stream, std::uint64_t counter) {
    constexpr std::uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;
    constexpr std::uint32_t W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
    std::uint32_t c0 = std::uint32_t(counter), c1 = std::uint32_t(counter >> 32);
    std::uint32_t c2 = std::uint32_t(stream), c3 = std::uint32_t(stream >> 32);
    std::uint32_t k0 = std::uint32_t(seed), k1 = std::uint32_t(seed >> 32);
    for (int r = 0; r < 10; ++r) {
        const std::uint64_t p0 = std::uint64_t(M0) * c0;
        const std::uint64_t p1 = std::uint64_t(M1) * c2;
        const std::uint32_t n0 = std::uint32_t(p1 >> 32) ^ c1 ^ k0;
        const std::uint32_t n2 = std::uint32_t(p0 >> 32) ^ c3 ^ k1;
        c1 = std::uint32_t(p1);
        c3 = std::uint32_t(p0);
        c0 = n0;
        c2 = n2;
        k0 += W0;
        k1 += W1;
    }
    return {c0, c1, c2, c3};
}

/// Uniform in (0, 1]: never 0, so log(u) is finite. 32-bit resolution.
template <class T>
SPINFIRE_INLINE T to_uniform_open0(std::uint32_t b) {
    return (T(b) + T(1)) * T(2.3283064365386963e-10); // 2^-32
}
/// Uniform in [0, 1).
template <class T>
SPINFIRE_INLINE T to_uniform(std::uint32_t b) {
    return T(b) * T(2.3283064365386963e-10);
}

namespace detail {
/// Box-Muller on two uniforms: u1 in (0, 1], u2 in [0, 1).
template <class T>
SPINFIRE_INLINE void box_muller(const T& u1, const T& u2, T& z0, T& z1) {
    using S = simd::scalar_of_t<T>;
    const T r = math::sqrt(T(S(-2)) * math::log(u1));
    const T phi = T(S(2 * constants::pi)) * u2;
    if constexpr (simd::is_batch_v<T>) {
        auto [s, c] = xsimd::sincos(phi);
        z0 = r * c;
        z1 = r * s;
    } else {
        z0 = r * std::cos(phi);
        z1 = r * std::sin(phi);
    }
}
} // namespace detail

/// Four standard-normal deviates for one (seed, stream, counter); scalar form.
template <class T>
SPINFIRE_INLINE std::array<T, 4> normal4(std::uint64_t seed, std::uint64_t stream,
                                         std::uint64_t counter) {
    const block b = philox4x32(seed, stream, counter);
    std::array<T, 4> z;
    detail::box_muller(to_uniform_open0<T>(b[0]), to_uniform<T>(b[1]), z[0], z[1]);
    detail::box_muller(to_uniform_open0<T>(b[2]), to_uniform<T>(b[3]), z[2], z[3]);
    return z;
}

/// Batch form: lane i uses stream first_stream + i. Lane i equals the scalar normal4 for
/// that stream up to the last-ulp differences of the vector log/sincos.
template <class B>
    requires simd::is_batch_v<B>
SPINFIRE_INLINE std::array<B, 4> normal4(std::uint64_t seed, std::uint64_t first_stream,
                                         std::uint64_t counter) {
    using S = simd::scalar_of_t<B>;
    constexpr std::size_t n = B::size;
    alignas(SPINFIRE_ALIGNMENT) S u[4][n];
    for (std::size_t i = 0; i < n; ++i) {
        const block b = philox4x32(seed, first_stream + i, counter);
        u[0][i] = to_uniform_open0<S>(b[0]);
        u[1][i] = to_uniform<S>(b[1]);
        u[2][i] = to_uniform_open0<S>(b[2]);
        u[3][i] = to_uniform<S>(b[3]);
    }
    std::array<B, 4> z;
    detail::box_muller(B::load_aligned(u[0]), B::load_aligned(u[1]), z[0], z[1]);
    detail::box_muller(B::load_aligned(u[2]), B::load_aligned(u[3]), z[2], z[3]);
    return z;
}

/// A sequential generator over one stream, for code that draws a few numbers at a time
/// (shuffles, augmentation, initialization). Copyable; position = counter.
class stream {
public:
    stream(std::uint64_t seed, std::uint64_t id, std::uint64_t counter = 0)
        : seed_(seed), id_(id), counter_(counter) {}

    std::uint32_t next_u32() {
        if (used_ == 4) {
            buf_ = philox4x32(seed_, id_, counter_++);
            used_ = 0;
        }
        return buf_[used_++];
    }
    std::uint64_t next_u64() {
        const std::uint64_t hi = next_u32();
        return (hi << 32) | next_u32();
    }
    /// Uniform double in [0, 1) with 53 random bits.
    double uniform() { return double(next_u64() >> 11) * 0x1.0p-53; }
    double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
    /// Unbiased integer in [0, n) (Lemire's method with rejection).
    std::uint32_t below(std::uint32_t n) {
        std::uint64_t m = std::uint64_t(next_u32()) * n;
        if (std::uint32_t(m) < n) {
            const std::uint32_t t = std::uint32_t(-n) % n;
            while (std::uint32_t(m) < t) m = std::uint64_t(next_u32()) * n;
        }
        return std::uint32_t(m >> 32);
    }
    double normal() {
        if (has_spare_) {
            has_spare_ = false;
            return spare_;
        }
        double z0, z1;
        detail::box_muller(1.0 - uniform(), uniform(), z0, z1);
        spare_ = z1;
        has_spare_ = true;
        return z0;
    }
    std::uint64_t counter() const { return counter_; }

private:
    std::uint64_t seed_, id_, counter_;
    block buf_{};
    int used_ = 4;
    double spare_ = 0;
    bool has_spare_ = false;
};

/// Fisher-Yates shuffle driven by a stream: the permutation depends only on the stream.
template <class It>
void shuffle(It first, It last, stream& s) {
    const auto n = last - first;
    for (auto i = n - 1; i > 0; --i) {
        const auto j = s.below(std::uint32_t(i + 1));
        std::swap(first[i], first[j]);
    }
}

} // namespace spinfire::rng
