#pragma once
// Device presets. Each default is a documented choice, not a measurement of the paper's
// device (whose materials are unknown, physics.md section 1):
//   orthogonal_mtj: free layer 10 (W, x) x 45 (L, y) x 50 (T, z) nm (arXiv 2606.03796);
//     easy axis along z from shape alone (Aharoni prism: N = 0.6840, 0.1667, 0.1493), K_u = 0;
//     pinned layer along W (x); CoFeB/MgO typical values (physics.md section 4):
//     Ms = 1.1e6 A/m, alpha = 0.01, P = 0.6, TMR = 150 %, RA = 5 Ohm um^2 (parallel state),
//     Slonczewski eps with Lambda = 1 (eps = P/2), no field-like torque, gamma = gamma_e,
//     T = 0 K, m0 = +z.
#include "spinfire/device/mtj.hpp"

namespace spinfire::device {

inline mtj orthogonal_mtj() { return mtj{}; }

} // namespace spinfire::device
