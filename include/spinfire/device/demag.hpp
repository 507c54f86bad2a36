#pragma once
// Demagnetizing factors of uniformly magnetized bodies, in the body frame (N_x + N_y + N_z = 1).
//   prism_demag:     rectangular prism with full sides (x, y, z), Aharoni, J. Appl. Phys. 83,
//                    3432 (1998), eq. (1); exact for the volume-averaged field of a prism
//   ellipsoid_demag: ellipsoid with semi-axes (a, b, c) (or any proportional triple), Osborn
//                    (1945) / Stoner (1945), via Carlson's symmetric integral
//                    N_x = (abc / 3) R_D(b^2, c^2, a^2)
// Both are scale invariant; sides are only required to be positive and finite.
#include <algorithm>
#include <cmath>

#include "spinfire/core/constants.hpp"
#include "spinfire/core/error.hpp"
#include "spinfire/core/vec3.hpp"

namespace spinfire::device {

namespace detail {
// Aharoni's N_z for the prism 2a x 2b x 2c (a along x, b along y, c along z).
inline double aharoni_nz(double a, double b, double c) {
    const double a2 = a * a, b2 = b * b, c2 = c * c;
    const double r = std::sqrt(a2 + b2 + c2);
    const double rab = std::sqrt(a2 + b2), rbc = std::sqrt(b2 + c2), rac = std::sqrt(a2 + c2);
    const double abc = a * b * c;
    double v = (b2 - c2) / (2 * b * c) * std::log((r - a) / (r + a)) +
               (a2 - c2) / (2 * a * c) * std::log((r - b) / (r + b)) +
               b / (2 * c) * std::log((rab + a) / (rab - a)) +
               a / (2 * c) * std::log((rab + b) / (rab - b)) +
               c / (2 * a) * std::log((rbc - b) / (rbc + b)) +
               c / (2 * b) * std::log((rac - a) / (rac + a)) + 2 * std::atan(a * b / (c * r)) +
               (a2 * a + b2 * b - 2 * c2 * c) / (3 * abc) + (a2 + b2 - 2 * c2) / (3 * abc) * r +
               c / (a * b) * (rac + rbc) - (rab * rab * rab + rbc * rbc * rbc + rac * rac * rac) / (3 * abc);
    return v / constants::pi;
}

// Carlson's R_D(x, y, z) = 3/2 int_0^inf dt / ((t + z) sqrt((t + x)(t + y)(t + z))),
// by duplication (Carlson 1995, Numer. Algorithms 10, 13), relative error ~1e-15.
inline double carlson_rd(double x, double y, double z) {
    double sum = 0, fac = 1;
    for (int i = 0; i < 200; ++i) {
        const double sx = std::sqrt(x), sy = std::sqrt(y), sz = std::sqrt(z);
        const double lam = sx * sy + sx * sz + sy * sz;
        sum += fac / (sz * (z + lam));
        fac *= 0.25;
        x = 0.25 * (x + lam), y = 0.25 * (y + lam), z = 0.25 * (z + lam);
        const double mu = 0.2 * (x + y + 3 * z);
        const double dx = (mu - x) / mu, dy = (mu - y) / mu, dz = (mu - z) / mu;
        if (std::max({std::abs(dx), std::abs(dy), std::abs(dz)}) < 1e-4) {
            const double ea = dx * dy, eb = dz * dz, ec = ea - eb, ed = ea - 6 * eb,
                         ee = ed + ec + ec;
            const double s = ed * (-3.0 / 14 + 9.0 / 88 * ed - 4.5 / 26 * dz * ee) +
                             dz * (1.0 / 6 * ee + dz * (-9.0 / 22 * ec + dz * 3.0 / 26 * ea));
            return 3 * sum + fac * (1 + s) / (mu * std::sqrt(mu));
        }
    }
    return 3 * sum; // not reached for positive finite input
}

inline void check_sides(double x, double y, double z) {
    require_positive("size.x", x);
    require_positive("size.y", y);
    require_positive("size.z", z);
}
} // namespace detail

/// Demagnetizing factors of a rectangular prism with sides x, y, z (any length unit).
inline vec3<double> prism_demag(double x, double y, double z) {
    detail::check_sides(x, y, z);
    const double a = x / 2, b = y / 2, c = z / 2;
    return {detail::aharoni_nz(b, c, a), detail::aharoni_nz(c, a, b), detail::aharoni_nz(a, b, c)};
}

/// Demagnetizing factors of an ellipsoid with semi-axes (or full axes) x, y, z.
inline vec3<double> ellipsoid_demag(double x, double y, double z) {
    detail::check_sides(x, y, z);
    // Normalize for a well-scaled R_D evaluation.
    const double s = std::max({x, y, z});
    const double a = x / s, b = y / s, c = z / s;
    const double abc3 = a * b * c / 3;
    return {abc3 * detail::carlson_rd(b * b, c * c, a * a), abc3 * detail::carlson_rd(c * c, a * a, b * b),
            abc3 * detail::carlson_rd(a * a, b * b, c * c)};
}

} // namespace spinfire::device
