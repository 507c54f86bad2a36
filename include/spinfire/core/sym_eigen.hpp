#pragma once
// Eigen-decomposition of a small symmetric matrix by cyclic Jacobi rotations: exact to
// rounding, no dependency, fine for the tens of dimensions it is used on (patch covariances
// for whitening); not meant for large matrices (O(n^3) per sweep).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numeric>
#include <vector>

#include "spinfire/core/error.hpp"

namespace spinfire {

struct sym_eigen_result {
    std::size_t n = 0;
    std::vector<double> values;  ///< descending
    std::vector<double> vectors; ///< row-major n x n; column k is the unit eigenvector of values[k]
};

/// a: row-major n x n, symmetric (only checked to be finite). Sweeps until the off-diagonal
/// mass is below 1e-28 of the total (or 100 sweeps).
inline sym_eigen_result sym_eigen(std::vector<double> a, std::size_t n) {
    if (a.size() != n * n) throw parameter_error("a", "is not n x n");
    for (double v : a)
        if (!std::isfinite(v)) throw parameter_error("a", "has a non-finite entry");
    std::vector<double> v(n * n, 0.0);
    for (std::size_t i = 0; i < n; ++i) v[i * n + i] = 1.0;
    auto at = [n](std::vector<double>& m, std::size_t r, std::size_t c) -> double& {
        return m[r * n + c];
    };
    const double total = std::inner_product(a.begin(), a.end(), a.begin(), 0.0);
    for (int sweep = 0; sweep < 100; ++sweep) {
        double off = 0;
        for (std::size_t p = 0; p < n; ++p)
            for (std::size_t q = p + 1; q < n; ++q) off += 2 * at(a, p, q) * at(a, p, q);
        if (off <= 1e-28 * total) break;
        for (std::size_t p = 0; p < n; ++p)
            for (std::size_t q = p + 1; q < n; ++q) {
                const double apq = at(a, p, q);
                if (apq == 0) continue;
                // the rotation that zeroes a(p, q) (Golub & Van Loan, algorithm 8.4.1)
                const double tau = (at(a, q, q) - at(a, p, p)) / (2 * apq);
                const double t =
                    (tau >= 0 ? 1.0 : -1.0) / (std::abs(tau) + std::sqrt(1 + tau * tau));
                const double c = 1 / std::sqrt(1 + t * t), s = t * c;
                for (std::size_t k = 0; k < n; ++k) { // columns p, q of a
                    const double akp = at(a, k, p), akq = at(a, k, q);
                    at(a, k, p) = c * akp - s * akq;
                    at(a, k, q) = s * akp + c * akq;
                }
                for (std::size_t k = 0; k < n; ++k) { // rows p, q of a
                    const double apk = at(a, p, k), aqk = at(a, q, k);
                    at(a, p, k) = c * apk - s * aqk;
                    at(a, q, k) = s * apk + c * aqk;
                }
                for (std::size_t k = 0; k < n; ++k) {
                    const double vkp = at(v, k, p), vkq = at(v, k, q);
                    at(v, k, p) = c * vkp - s * vkq;
                    at(v, k, q) = s * vkp + c * vkq;
                }
            }
    }
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t(0));
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t i, std::size_t j) { return at(a, i, i) > at(a, j, j); });
    sym_eigen_result r;
    r.n = n;
    r.values.resize(n);
    r.vectors.resize(n * n);
    for (std::size_t k = 0; k < n; ++k) {
        r.values[k] = at(a, order[k], order[k]);
        for (std::size_t i = 0; i < n; ++i) r.vectors[i * n + k] = at(v, i, order[k]);
    }
    return r;
}

} // namespace spinfire
