#pragma once
// Runs a protocol (fit/protocol.hpp) on devices through the LLG ensemble: one lane per
// device, all lanes on a common SNN clock, phase by phase (input pulse, free evolution,
// read, reset window, read), with thresholds and resets applied between ensemble runs.
//
// Input mechanisms on one system type, so a sweep may mix them across lanes:
//   stt    Slonczewski torque with polarizer protocol.polarizer (the device's pinned layer
//          still sets the TMR readout and the energy: a polarizer off the pinned axis is a
//          second reference layer, e.g. a dual MTJ), current in A through the junction
//   sot    damping-like (+ field-like) spin-orbit torque along protocol.polarizer, current
//          in A through a heavy-metal line under the free layer (sot_line)
//   field  a field of protocol.drive_per_unit tesla per unit X along protocol.polarizer
//          (the field line is not modelled: no energy)
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "spinfire/core/constants.hpp"
#include "spinfire/core/error.hpp"
#include "spinfire/core/reflect.hpp"
#include "spinfire/device/mtj.hpp"
#include "spinfire/device/spin_torque.hpp"
#include "spinfire/fit/protocol.hpp"
#include "spinfire/fit/trace.hpp"
#include "spinfire/llg/ensemble.hpp"
#include "spinfire/llg/field_terms.hpp"
#include "spinfire/llg/system.hpp"
#include "spinfire/llg/thermal.hpp"
#include "spinfire/llg/torques.hpp"

namespace spinfire::fit {

/// The free layer of device::mtj_system plus a spin-orbit term (SOT and applied-field drive).
using protocol_system = llg::system<llg::uniaxial, llg::demag, llg::zeeman, llg::slonczewski,
                                    llg::spin_orbit, llg::thermal>;

/// Heavy-metal line for SOT drive. Defaults: beta-tungsten-like (spin Hall angle 0.3,
/// resistivity 2 uOhm m, 5 nm thick); the current flows in-plane perpendicular to the spin
/// direction sigma, under the whole free layer.
struct sot_line {
    BOOST_HANA_DEFINE_STRUCT(sot_line, (double, spin_hall_angle), (double, thickness),
                             (double, resistivity), (double, field_like_ratio));
    sot_line() : spin_hall_angle(0.3), thickness(5e-9), resistivity(2e-6), field_like_ratio(0) {}
};

namespace detail {
/// Cross-section (m^2) and length (m) of the heavy-metal line under d for spin direction s:
/// the current runs along the in-plane axis perpendicular to s.
inline std::pair<double, double> sot_geometry(const device::mtj& d, const sot_line& l,
                                              const vec3<double>& s) {
    if (std::abs(s.z) > 1e-9 || (std::abs(s.x) > 1e-9 && std::abs(s.y) > 1e-9))
        throw parameter_error("protocol.polarizer",
                              "SOT spin direction must lie along x (W) or y (L): the heavy-metal "
                              "line is under the free layer's xy face");
    const bool along_x = std::abs(s.x) > 0.5; // sigma along W: current along L
    return along_x ? std::pair{d.width * l.thickness, d.length}
                   : std::pair{d.length * l.thickness, d.width};
}
} // namespace detail

/// LLG parameters of one lane (drive unit: A for stt/sot, T for field).
inline protocol_system::params<double> lane_params(const device::mtj& d, const protocol& pr,
                                                   const sot_line& line = {}) {
    validate(pr);
    const auto m = device::llg_params(d); // validates the device
    protocol_system::params<double> p;
    p.gamma = m.gamma;
    p.alpha = m.alpha;
    p.term<llg::uniaxial>() = m.term<llg::uniaxial>();
    p.term<llg::demag>() = m.term<llg::demag>();
    p.term<llg::zeeman>() = m.term<llg::zeeman>();
    p.term<llg::thermal>() = m.term<llg::thermal>();
    auto stt = m.term<llg::slonczewski>();
    llg::spin_orbit<double> sot{pr.polarizer, 0, 0};
    switch (pr.input) {
    case mechanism::stt:
        stt.p = pr.polarizer;
        break;
    case mechanism::sot: {
        stt.a_per_drive = 0;
        require_finite("sot.spin_hall_angle", line.spin_hall_angle);
        require_positive("sot.thickness", line.thickness);
        require_finite("sot.field_like_ratio", line.field_like_ratio);
        sot.b_dl_per_drive =
            device::sot_tesla_per_ampere(line.spin_hall_angle, d.Ms, d.height,
                                         detail::sot_geometry(d, line, pr.polarizer).first);
        sot.b_fl_per_drive = line.field_like_ratio * sot.b_dl_per_drive;
        break;
    }
    case mechanism::field:
        stt.a_per_drive = 0;
        sot.b_fl_per_drive = 1; // the drive is the field in tesla
        break;
    }
    p.term<llg::slonczewski>() = stt;
    p.term<llg::spin_orbit>() = sot;
    return p;
}

/// One lane: a device and the protocol it runs (timing and reset mode must be common to
/// all lanes of a run; mechanism, axes, amplitude, thresholds may differ).
struct protocol_lane {
    device::mtj device;
    protocol proto;
    sot_line line{};
};

struct protocol_response {
    trace tr;
    double input_energy = 0; // J, drive pulses
    double reset_energy = 0; // J, reset pulses
    double read_energy = 0;  // J, one read per step
    double duration = 0;     // s, steps x step_ns
    std::string failure;     // non-empty when the lane's integration failed (NaN, lost |m|)
    long spikes() const {
        long n = 0;
        for (auto s : tr.s) n += s != 0;
        return n;
    }
    double total_energy() const { return input_energy + reset_energy + read_energy; }
};

struct run_settings {
    std::uint64_t seed = 1; // thermal noise: lane i draws stream first_stream + i
    std::uint64_t first_stream = 0;
    bool simd = true, parallel = true;
    std::size_t energy_every = 10; // substeps between m samples for the I^2 R(theta) integral
};

namespace detail {
inline void require_common_clock(std::span<const protocol_lane> lanes) {
    const auto& a = lanes.front().proto;
    for (std::size_t i = 1; i < lanes.size(); ++i) {
        const auto& b = lanes[i].proto;
        if (b.step_ns != a.step_ns || b.pulse_ns != a.pulse_ns || b.reset_ns != a.reset_ns ||
            b.dt_ps != a.dt_ps || b.reset != a.reset)
            throw parameter_error("protocol", "lane " + std::to_string(i) +
                                                  ": step_ns, pulse_ns, reset_ns, dt_ps and reset "
                                                  "must be the same in every lane of a run");
    }
}

/// Resistance (Ohm) that a drive current of lane l sees in state m (0 for a field drive).
inline double drive_resistance(const protocol_lane& l, const device::readout& ro,
                               const vec3<double>& m) {
    switch (l.proto.input) {
    case mechanism::stt:
        return ro.resistance(m);
    case mechanism::sot: {
        const auto [area, len] = sot_geometry(l.device, l.line, l.proto.polarizer);
        return l.line.resistivity * len / area;
    }
    case mechanism::field:
        return 0;
    }
    return 0;
}

/// Runs all lanes together; throws numeric_error if any lane fails.
inline std::vector<protocol_response> run_together(std::span<const protocol_lane> lanes,
                                                   std::span<const double> x,
                                                   const run_settings& rs) {
    const std::size_t n = lanes.size();
    const protocol& clock = lanes.front().proto;
    const std::size_t n_step = clock.substeps_per_step(), n_pulse = clock.pulse_substeps(),
                      n_reset = clock.reset_substeps(), n_free = n_step - n_pulse - n_reset,
                      n_read = clock.read_substeps();
    bool thermal = false;
    std::vector<protocol_system::params<double>> params;
    std::vector<device::readout> ro;
    for (const auto& l : lanes) {
        params.push_back(lane_params(l.device, l.proto, l.line));
        ro.push_back(device::mtj_readout(l.device));
        thermal = thermal || protocol_system::sigma_rate(params.back()) > 0;
    }
    llg::ensemble<protocol_system> ens(n, params[0], lanes[0].device.m0);
    for (std::size_t i = 0; i < n; ++i)
        ens.set_params(i, params[i]), ens.set_m(i, lanes[i].device.m0);

    llg::run_options opt;
    opt.dt = clock.dt_ps * 1e-12;
    opt.method = thermal ? llg::integrator::heun : llg::integrator::rk4;
    opt.seed = rs.seed;
    opt.first_stream = rs.first_stream;
    opt.simd = rs.simd;
    opt.parallel = rs.parallel;

    std::vector<protocol_response> out(n);
    for (std::size_t i = 0; i < n; ++i) {
        out[i].tr.reserve(x.size());
        out[i].tr.v0 = lanes[i].proto.v_scale * dot(lanes[i].device.m0, lanes[i].proto.readout);
        out[i].duration = double(x.size()) * clock.step_ns * 1e-9;
    }
    std::vector<double> u(n), h(n);
    std::vector<int> s(n);
    // Runs `steps` substeps with lane drives u; adds int u^2 R dt to energy (trapezoid on
    // m samples every energy_every substeps) when `energy` is given.
    auto phase = [&](std::size_t steps, double protocol_response::*energy) {
        if (steps == 0) return;
        bool any_current = false;
        for (std::size_t i = 0; i < n; ++i) {
            ens.set_drive(i, llg::drive::dc(u[i]));
            any_current = any_current || (u[i] != 0 && lanes[i].proto.input != mechanism::field);
        }
        const bool integrate = energy && any_current;
        std::size_t every = std::max<std::size_t>(1, std::min(rs.energy_every, steps));
        while (steps % every) --every; // samples land on the phase end
        opt.steps = steps;
        opt.record_every = integrate ? every : 0;
        const auto res = ens.run(opt);
        if (!integrate) return;
        const double dt = opt.dt * double(every);
        for (std::size_t i = 0; i < n; ++i) {
            if (u[i] == 0 || lanes[i].proto.input == mechanism::field) continue;
            double e = 0;
            for (std::size_t k = 0; k < res.trace.records; ++k) {
                const double w = (k == 0 || k + 1 == res.trace.records) ? 0.5 : 1.0;
                e += w * drive_resistance(lanes[i], ro[i], res.trace.m(i, k));
            }
            out[i].*energy += u[i] * u[i] * e * dt;
        }
    };
    // The sense amplifier averages V over the last k substeps of a phase (k = 0: the value
    // at its end); runs those k substeps with drives u (energy into `energy` if given).
    std::vector<double> avg(n);
    auto read_window = [&](std::size_t k, double protocol_response::*energy) {
        if (k == 0) {
            for (std::size_t i = 0; i < n; ++i)
                avg[i] = lanes[i].proto.v_scale * dot(ens.m(i), lanes[i].proto.readout);
            return;
        }
        for (std::size_t i = 0; i < n; ++i) ens.set_drive(i, llg::drive::dc(u[i]));
        opt.steps = k;
        opt.record_every = 1;
        const auto res = ens.run(opt);
        for (std::size_t i = 0; i < n; ++i) {
            const auto& pr = lanes[i].proto;
            double acc = 0, e = 0;
            for (std::size_t j = 0; j <= k; ++j) {
                const double w = (j == 0 || j == k) ? 0.5 : 1.0;
                acc += w * dot(res.trace.m(i, j), pr.readout);
                if (energy && u[i] != 0)
                    e += w * drive_resistance(lanes[i], ro[i], res.trace.m(i, j));
            }
            avg[i] = pr.v_scale * acc / double(k);
            if (energy) out[i].*energy += u[i] * u[i] * e * opt.dt;
        }
    };
    const std::size_t n_reset_read = std::min(n_read, n_reset);
    for (std::size_t t = 0; t < x.size(); ++t) {
        for (std::size_t i = 0; i < n; ++i) u[i] = x[t] * lanes[i].proto.drive_per_unit;
        phase(n_pulse, &protocol_response::input_energy);
        std::fill(u.begin(), u.end(), 0.0);
        phase(n_free - n_read, nullptr);
        read_window(n_read, nullptr);
        for (std::size_t i = 0; i < n; ++i) {
            const auto& pr = lanes[i].proto;
            const vec3<double> m = ens.m(i);
            h[i] = avg[i];
            s[i] = h[i] >= pr.theta_pos ? 1 : (h[i] <= -pr.theta_neg ? -1 : 0);
            out[i].read_energy +=
                pr.read_current * pr.read_current * ro[i].resistance(m) * pr.read_ns * 1e-9;
            if (s[i] != 0 && pr.reset == reset_mode::ideal) ens.set_m(i, lanes[i].device.m0);
            u[i] = (pr.reset == reset_mode::pulse && s[i] != 0)
                       ? -s[i] * pr.reset_drive * pr.drive_per_unit
                       : 0.0;
        }
        if (n_reset > 0) {
            phase(n_reset - n_reset_read, &protocol_response::reset_energy);
            read_window(n_reset_read, &protocol_response::reset_energy);
        }
        for (std::size_t i = 0; i < n; ++i) {
            const auto& pr = lanes[i].proto;
            // Without a reset window the post-reset membrane is the read itself, or the
            // restored m0 after an ideal reset.
            double v = h[i];
            if (n_reset > 0)
                v = avg[i];
            else if (s[i] != 0 && pr.reset == reset_mode::ideal)
                v = pr.v_scale * dot(lanes[i].device.m0, pr.readout);
            out[i].tr.push_back(x[t], h[i], v, s[i]);
        }
    }
    return out;
}
} // namespace detail

/// Drives every lane with the input sequence x and returns its trace and energies. A lane
/// whose integration fails (NaN, lost |m|) is reported in its `failure` and does not stop
/// the others (the run is then repeated lane by lane to isolate it).
inline std::vector<protocol_response> run_protocol(std::span<const protocol_lane> lanes,
                                                   std::span<const double> x,
                                                   const run_settings& rs = {}) {
    if (lanes.empty()) throw parameter_error("lanes", "a protocol run needs at least one device");
    if (x.empty()) throw parameter_error("input", "the input sequence is empty");
    for (std::size_t t = 0; t < x.size(); ++t)
        if (!std::isfinite(x[t]))
            throw parameter_error("input", "non-finite value at step " + std::to_string(t));
    for (const auto& l : lanes) validate(l.proto);
    detail::require_common_clock(lanes);
    try {
        return detail::run_together(lanes, x, rs);
    } catch (const numeric_error& e) {
        if (lanes.size() == 1) {
            std::vector<protocol_response> out(1);
            out[0].failure = e.what();
            return out;
        }
    }
    std::vector<protocol_response> out;
    for (std::size_t i = 0; i < lanes.size(); ++i) {
        run_settings one = rs;
        one.first_stream = rs.first_stream + i; // the same noise stream as in the joint run
        out.push_back(run_protocol(lanes.subspan(i, 1), x, one).front());
    }
    return out;
}

} // namespace spinfire::fit
