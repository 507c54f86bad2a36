#pragma once
// SI coefficients of the spin torques (physics.md section 2): the drive of a torque term is a
// current in A, and its coefficient turns it into tesla, so that llg::slonczewski and
// llg::spin_orbit take a_per_drive / b_dl_per_drive straight from these.
#include "spinfire/core/constants.hpp"
#include "spinfire/core/error.hpp"

namespace spinfire::device {

/// Slonczewski STT through the junction: a_J / I = hbar / (e Ms t_F A) (T/A) for a current I
/// through the junction's area A, t_F the free layer's thickness along the current; the
/// polarization factor eps(theta) (llg::slonczewski's c0 / (c1 + c2 m.p)) multiplies it.
inline double stt_tesla_per_ampere(double ms, double t_free, double junction_area) {
    require_positive("Ms", ms);
    require_positive("t_free", t_free);
    require_positive("junction_area", junction_area);
    return constants::hbar / (constants::e * ms * t_free * junction_area);
}

/// Damping-like SOT from a heavy-metal line: B_DL / I = hbar theta_SH / (2 e Ms t_F A_HM) (T/A)
/// for a current I through the line's cross-section A_HM (its width times its thickness),
/// theta_SH the spin Hall angle (its sign sets the torque's), t_F the free layer's thickness.
inline double sot_tesla_per_ampere(double spin_hall_angle, double ms, double t_free,
                                   double hm_cross_section) {
    require_finite("spin_hall_angle", spin_hall_angle);
    require_positive("Ms", ms);
    require_positive("t_free", t_free);
    require_positive("hm_cross_section", hm_cross_section);
    return constants::hbar * spin_hall_angle / (2 * constants::e * ms * t_free * hm_cross_section);
}

} // namespace spinfire::device
