#pragma once
// A protocol turns an SNN input sequence X[t] into a device drive and reads the membrane
// V[t] back, one SNN step at a time. Each step of length step_ns is laid out as
//
//   [ input pulse: pulse_ns, drive = X[t] * drive_per_unit ][ free ][ read window: read_ns ]
//   -> h[t] ;  [ reset window: reset_ns ] -> v[t]
//
// V = v_scale * (m . readout). h[t] is V averaged over the read window (an integrating
// sense amplifier; read_ns = 0 reads the instantaneous value): m precesses at a few GHz
// after every pulse, and an instantaneous read samples that ringing at the step phase. A spike is a threshold crossing of h: s = +1 at
// h >= theta_pos, -1 at h <= -theta_neg. What happens next is the reset mode:
//   relax  nothing: the device relaxes by itself during the window (costs the window's
//          time, no energy; with reset_ns = 0, v = h and the membrane keeps its charge)
//   pulse  a drive of -s * reset_drive * drive_per_unit for the whole window (costs the
//          window's time in every step, since the SNN clock is common, and I^2 R energy)
//   ideal  m is set back to m0 instantly at the read (no time, no energy: not physical,
//          the upper bound of what a reset circuit could do)
// The input mechanism is a property of the device terms a lane carries (see device_model);
// the protocol only needs to know how energy is drawn:
//   stt    the drive is the current through the MTJ: E = int I^2 R(theta) dt
//   sot    the drive is the current through the heavy-metal line: E = int I^2 R_line dt
//   field  the drive is a field (tesla per unit X); the field line is not modelled: E = 0
// Readout: one read per step with read_current through the MTJ for read_ns:
//   E_read = I_read^2 R(theta) read_ns (its own small torque is neglected).
#include <cmath>
#include <string>

#include "spinfire/core/error.hpp"
#include "spinfire/core/reflect.hpp"
#include "spinfire/core/vec3.hpp"

namespace spinfire::fit {

enum class mechanism { stt, sot, field };
enum class reset_mode { relax, pulse, ideal };

inline const char* enum_name(mechanism m) {
    switch (m) {
    case mechanism::stt: return "stt";
    case mechanism::sot: return "sot";
    case mechanism::field: return "field";
    }
    return "?";
}
inline mechanism parse_enum(const std::string& s, mechanism*, const std::string& where) {
    if (s == "stt") return mechanism::stt;
    if (s == "sot") return mechanism::sot;
    if (s == "field") return mechanism::field;
    throw error("'" + where + "': unknown mechanism '" + s + "' (expected stt, sot or field)");
}
inline const char* enum_name(reset_mode m) {
    switch (m) {
    case reset_mode::relax: return "relax";
    case reset_mode::pulse: return "pulse";
    case reset_mode::ideal: return "ideal";
    }
    return "?";
}
inline reset_mode parse_enum(const std::string& s, reset_mode*, const std::string& where) {
    if (s == "relax") return reset_mode::relax;
    if (s == "pulse") return reset_mode::pulse;
    if (s == "ideal") return reset_mode::ideal;
    throw error("'" + where + "': unknown reset mode '" + s + "' (expected relax, pulse or ideal)");
}

struct protocol {
    BOOST_HANA_DEFINE_STRUCT(
        protocol,
        (mechanism, input),           // how X drives the device (stt, sot, field)
        (vec3<double>, polarizer),    // unit: STT polarizer p, SOT spin direction, field axis
        (vec3<double>, readout),      // unit: V = v_scale * m . readout
        (double, drive_per_unit),     // drive per unit X: A (stt, sot) or T (field)
        (double, step_ns),            // SNN step duration
        (double, pulse_ns),           // input pulse at the start of each step
        (double, reset_ns),           // reset window at the end of each step
        (reset_mode, reset),
        (double, reset_drive),        // reset pulse amplitude in units of X (pulse mode)
        (double, v_scale),            // V units per unit of m . readout
        (double, theta_pos),          // device spike thresholds on V
        (double, theta_neg),
        (double, read_current),       // A, one read per step
        (double, read_ns),            // read window (V averaged over it)
        (double, dt_ps));             // integrator step; every duration must be a multiple

    // Defaults: the combination the mtj_sweep study found to integrate, leak and fire on the
    // orthogonal_mtj preset (docs/results/device.md); every one is a parameter.
    //  - SOT with spin direction -L: a damping-like torque along the soft in-plane axis
    //    deflects m_W linearly (steady m_W = a/k_W) and the minus sign makes the gain positive;
    //  - read along W (the pinned axis, so the TMR sees V);
    //  - step 1.07 ns = 4 precession periods of the preset (3.737 GHz) and pulse 0.535 ns =
    //    2 periods: the read then sees the damped envelope, not the ringing's phase;
    //  - 1.5 mA per unit X keeps m_W in the linear range (|m_W| ~ 0.01);
    //  - V in units of the threshold: V = 125 m_W, thresholds 1 (m_W = 0.008).
    protocol()
        : input(mechanism::sot), polarizer(0, -1, 0), readout(1, 0, 0), drive_per_unit(1.5e-3),
          step_ns(1.07), pulse_ns(0.535), reset_ns(0), reset(reset_mode::ideal), reset_drive(0),
          v_scale(125.0), theta_pos(1.0), theta_neg(1.0), read_current(10e-6), read_ns(0.01),
          dt_ps(0.5) {}

    std::size_t substeps(double ns, const char* name) const {
        const double k = ns * 1000 / dt_ps;
        const double r = std::round(k);
        if (std::abs(k - r) > 1e-6 * std::max(1.0, k))
            throw parameter_error(name, "must be a multiple of dt_ps (" + spinfire::detail::num(dt_ps) + " ps)");
        return std::size_t(r);
    }
    std::size_t substeps_per_step() const { return substeps(step_ns, "step_ns"); }
    std::size_t pulse_substeps() const { return substeps(pulse_ns, "pulse_ns"); }
    std::size_t reset_substeps() const { return substeps(reset_ns, "reset_ns"); }
    std::size_t read_substeps() const { return substeps(read_ns, "read_ns"); }
};

namespace detail {
inline void require_unit(const char* name, const vec3<double>& v) {
    if (!std::isfinite(v.x) || !std::isfinite(v.y) || !std::isfinite(v.z) ||
        std::abs(norm(v) - 1) > 1e-9)
        throw parameter_error(name, "must be a finite unit vector");
}
} // namespace detail

/// Throws parameter_error naming the first bad field.
inline void validate(const protocol& p) {
    detail::require_unit("protocol.polarizer", p.polarizer);
    detail::require_unit("protocol.readout", p.readout);
    require_finite("protocol.drive_per_unit", p.drive_per_unit);
    require_positive("protocol.dt_ps", p.dt_ps);
    require_positive("protocol.step_ns", p.step_ns);
    require_positive("protocol.pulse_ns", p.pulse_ns);
    require_non_negative("protocol.reset_ns", p.reset_ns);
    require_finite("protocol.reset_drive", p.reset_drive);
    require_finite("protocol.v_scale", p.v_scale);
    if (p.v_scale == 0) throw parameter_error("protocol.v_scale", "must not be 0");
    require_positive("protocol.theta_pos", p.theta_pos);
    require_positive("protocol.theta_neg", p.theta_neg);
    require_non_negative("protocol.read_current", p.read_current);
    require_non_negative("protocol.read_ns", p.read_ns);
    const auto n = p.substeps_per_step(), np = p.pulse_substeps(), nr = p.reset_substeps();
    if (np + nr + p.read_substeps() > n)
        throw parameter_error("protocol.pulse_ns",
                              "pulse_ns + read_ns + reset_ns must not exceed step_ns");
    if (p.reset == reset_mode::pulse && nr == 0)
        throw parameter_error("protocol.reset_ns", "must be > 0 for reset mode 'pulse'");
}

} // namespace spinfire::fit
