#pragma once
// Spin torques. The Landau-Lifshitz form integrated here (physics.md section 2) is
//   dm/dt = -gamma' [ m x B + alpha m x (m x B) + (a + alpha b) m x (m x p) + (b - alpha a) m x p ]
// A torque (a, b) along p is therefore a field-like field b p added to B plus a damping-like
// vector a p added to D; the system then forms m x (m x D) - alpha m x D. Both are linear in
// the drive u (current in A for device presets; any unit the coefficient is expressed in).
//
// Sign convention: a > 0 (positive drive times positive coefficient) gives
// -gamma' a m x (m x p) = gamma' a (p - (m.p) m), which pulls m TOWARD p.
#include "spinfire/core/reflect.hpp"
#include "spinfire/core/vec3.hpp"

namespace spinfire::llg {

/// Slonczewski spin-transfer torque with angle-dependent efficiency
///   a_J = a_per_drive * u * eps(m.p),   eps = c0 / (c1 + c2 (m.p)),   b_J = beta_fl a_J.
/// a_per_drive = hbar / (e Ms t A) for a drive current in A through area A (tesla per A).
/// eps forms (see eps_coefficients in device/mtj.hpp):
///   Slonczewski, P Lambda^2 / ((Lambda^2 + 1) + (Lambda^2 - 1) m.p):
///       c0 = P Lambda^2, c1 = Lambda^2 + 1, c2 = Lambda^2 - 1   (Lambda = 1: constant P/2)
///   MTJ (Slonczewski 2005), P / (2 (1 + P^2 m.p)):  c0 = P / 2, c1 = 1, c2 = P^2
template <class T>
struct slonczewski {
    BOOST_HANA_DEFINE_STRUCT(slonczewski, (vec3<T>, p), (T, a_per_drive), (T, beta_fl), (T, c0),
                             (T, c1), (T, c2));
    SPINFIRE_INLINE void torque(const vec3<T>& m, const T& u, vec3<T>& b, vec3<T>& d) const {
        const T a = a_per_drive * u * c0 / (c1 + c2 * dot(m, p));
        const T bf = beta_fl * a;
        d.x += a * p.x, d.y += a * p.y, d.z += a * p.z;
        b.x += bf * p.x, b.y += bf * p.y, b.z += bf * p.z;
    }
};

/// Spin-orbit torque from a heavy-metal underlayer with spin polarization sigma (unit):
///   a = b_dl_per_drive * u,  b = b_fl_per_drive * u,
/// b_dl_per_drive = hbar theta_SH / (2 e Ms t_F A_HM) for a drive current in A through the
/// heavy-metal cross-section A_HM. Same sign convention as slonczewski (a > 0 pulls m to sigma).
template <class T>
struct spin_orbit {
    BOOST_HANA_DEFINE_STRUCT(spin_orbit, (vec3<T>, sigma), (T, b_dl_per_drive),
                             (T, b_fl_per_drive));
    SPINFIRE_INLINE void torque(const vec3<T>&, const T& u, vec3<T>& b, vec3<T>& d) const {
        const T a = b_dl_per_drive * u, bf = b_fl_per_drive * u;
        d.x += a * sigma.x, d.y += a * sigma.y, d.z += a * sigma.z;
        b.x += bf * sigma.x, b.y += bf * sigma.y, b.z += bf * sigma.z;
    }
};

/// A field proportional to the drive, B = u b_per_drive (field pulses as the input, or a
/// quasi-static field sweep). It takes the drive, so it joins the torque terms: its torque is
/// purely field-like.
template <class T>
struct driven_field {
    BOOST_HANA_DEFINE_STRUCT(driven_field, (vec3<T>, b_per_drive));
    SPINFIRE_INLINE void torque(const vec3<T>&, const T& u, vec3<T>& b, vec3<T>&) const {
        b.x += u * b_per_drive.x, b.y += u * b_per_drive.y, b.z += u * b_per_drive.z;
    }
};

} // namespace spinfire::llg
