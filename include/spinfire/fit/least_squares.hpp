#pragma once
// Tiny dense least-squares helpers for the fit (2 or 3 unknowns): normal equations solved by
// Gaussian elimination with partial pivoting. The problems are small and well scaled, so
// this is exact enough and has no dependency; singular systems are reported, not regularized.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <optional>
#include <utility>

namespace spinfire::fit::detail {

/// Solves A x = b for N x N A; nullopt when A is singular to working precision.
template <std::size_t N>
std::optional<std::array<double, N>> solve(std::array<std::array<double, N>, N> a,
                                           std::array<double, N> b) {
    double scale = 0;
    for (const auto& row : a)
        for (double e : row) scale = std::max(scale, std::abs(e));
    if (!(scale > 0) || !std::isfinite(scale)) return std::nullopt;
    for (std::size_t c = 0; c < N; ++c) {
        std::size_t piv = c;
        for (std::size_t r = c + 1; r < N; ++r)
            if (std::abs(a[r][c]) > std::abs(a[piv][c])) piv = r;
        if (std::abs(a[piv][c]) <= 1e-13 * scale) return std::nullopt;
        std::swap(a[piv], a[c]);
        std::swap(b[piv], b[c]);
        for (std::size_t r = c + 1; r < N; ++r) {
            const double f = a[r][c] / a[c][c];
            for (std::size_t k = c; k < N; ++k) a[r][k] -= f * a[c][k];
            b[r] -= f * b[c];
        }
    }
    std::array<double, N> x{};
    for (std::size_t c = N; c-- > 0;) {
        double s = b[c];
        for (std::size_t k = c + 1; k < N; ++k) s -= a[c][k] * x[k];
        x[c] = s / a[c][c];
    }
    return x;
}

/// f(u; s) = tanh(s u) / s, the saturating map written in s = 1 / v_sat so that s = 0 (no
/// saturation, f = u) is an ordinary point; returns f, df/du and df/ds.
struct sat_eval {
    double f, dfdu, dfds;
};
inline sat_eval saturate(double u, double s) {
    const double z = s * u;
    if (std::abs(z) < 1e-4) { // series: tanh z = z - z^3/3 + 2 z^5/15
        const double u2 = u * u;
        return {u - s * s * u * u2 / 3, 1 - z * z, -2 * s * u * u2 / 3};
    }
    const double th = std::tanh(z), sech2 = 1 - th * th;
    return {th / s, sech2, (u * sech2 * s - th) / (s * s)};
}

} // namespace spinfire::fit::detail
