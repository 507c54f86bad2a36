#pragma once
// An MTJ stack as one flat, reflected parameter struct in SI units (its field names are the
// JSON keys of device files and the columns of sweep reports), its conversion into the
// per-lane parameters of the LLG system mtj_system, and the TMR readout.
//
// Geometry and frame: the free layer is a prism (or the ellipsoid/elliptic pillar inscribed
// in it) with sides width (x) x length (y) x height (z). The current flows along z through
// the stack, through the cross-section A = width * length (rectangle) or pi width length / 4
// (elliptical = true); the spin-transfer thickness is height.
// Current sign: a positive drive current I > 0 gives a_J > 0, which pulls m TOWARD the pinned
// direction p (i.e. electrons flowing from the pinned into the free layer favour the
// parallel state). Readout: G(theta) = G_P (1 + m.p)/2 + G_AP (1 - m.p)/2 with
// G_P = A / RA and G_AP = G_P / (1 + TMR).
#include <boost/hana/adapt_struct.hpp>
#include <cmath>
#include <string>

#include "spinfire/core/constants.hpp"
#include "spinfire/core/error.hpp"
#include "spinfire/core/vec3.hpp"
#include "spinfire/device/demag.hpp"
#include "spinfire/device/spin_torque.hpp"
#include "spinfire/llg/field_terms.hpp"
#include "spinfire/llg/system.hpp"
#include "spinfire/llg/thermal.hpp"
#include "spinfire/llg/torques.hpp"

namespace spinfire::device {

enum class demag_model { prism, ellipsoid, none };
enum class eps_form { slonczewski, mtj };

inline const char* enum_name(demag_model d) {
    switch (d) {
    case demag_model::prism:
        return "prism";
    case demag_model::ellipsoid:
        return "ellipsoid";
    case demag_model::none:
        return "none";
    }
    return "?";
}
inline demag_model parse_enum(const std::string& s, demag_model*, const std::string& where) {
    if (s == "prism") return demag_model::prism;
    if (s == "ellipsoid") return demag_model::ellipsoid;
    if (s == "none") return demag_model::none;
    throw parameter_error(where, "unknown demag model '" + s + "' (prism, ellipsoid, none)");
}
inline const char* enum_name(eps_form e) { return e == eps_form::mtj ? "mtj" : "slonczewski"; }
inline eps_form parse_enum(const std::string& s, eps_form*, const std::string& where) {
    if (s == "slonczewski") return eps_form::slonczewski;
    if (s == "mtj") return eps_form::mtj;
    throw parameter_error(where, "unknown eps form '" + s + "' (slonczewski, mtj)");
}

/// The MTJ stack. Defaults are the orthogonal-easy-axis device (see presets.hpp for sources).
struct mtj {
    double width = 10e-9;    ///< free layer along x (W), m
    double length = 45e-9;   ///< free layer along y (L), m
    double height = 50e-9;   ///< free layer along z (T, current direction), m
    bool elliptical = false; ///< elliptic cross-section (area pi W L / 4) instead of rectangle
    double Ms = 1.1e6;       ///< saturation magnetization, A/m
    double alpha = 0.01;     ///< Gilbert damping
    double gamma = constants::gamma_e; ///< gyromagnetic ratio, rad/(s T)
    double K_u = 0; ///< extra uniaxial anisotropy energy density, J/m^3 (>0: easy axis)
    vec3<double> easy_axis{0, 0, 1};        ///< axis of K_u (unit)
    demag_model demag = demag_model::prism; ///< shape anisotropy model
    vec3<double> pinned{1, 0, 0};           ///< pinned-layer (polarizer) direction p (unit)
    double polarization = 0.6;              ///< spin polarization P
    eps_form eps = eps_form::slonczewski;   ///< angular dependence of the STT efficiency
    double lambda = 1;           ///< Slonczewski asymmetry Lambda (1: eps = P/2, angle independent)
    double beta_fl = 0;          ///< field-like / damping-like torque ratio
    double tmr = 1.5;            ///< tunnel magnetoresistance (G_P - G_AP) / G_AP
    double ra = 5e-12;           ///< resistance-area product of the parallel state, Ohm m^2
    vec3<double> b_ext{0, 0, 0}; ///< applied field mu0 H, T
    double temperature = 0;      ///< K
    vec3<double> m0{0, 0, 1};    ///< initial magnetization (unit)
};

/// The LLG system of an MTJ free layer: anisotropy, shape, field, STT, thermal field.
using mtj_system =
    llg::system<llg::uniaxial, llg::demag, llg::zeeman, llg::slonczewski, llg::thermal>;

namespace detail {
inline void require_unit(const char* name, const vec3<double>& v) {
    if (!std::isfinite(v.x) || !std::isfinite(v.y) || !std::isfinite(v.z))
        throw parameter_error(name, "must be finite");
    if (!(std::abs(norm(v) - 1) < 1e-9))
        throw parameter_error(
            name, "must be a unit vector (|v| = " + spinfire::detail::num(norm(v)) + ")");
}
} // namespace detail

/// Throws parameter_error naming the first non-physical parameter.
inline void validate(const mtj& d) {
    require_positive("width", d.width);
    require_positive("length", d.length);
    require_positive("height", d.height);
    require_positive("Ms", d.Ms);
    require_non_negative("alpha", d.alpha);
    require_positive("gamma", d.gamma);
    require_finite("K_u", d.K_u);
    detail::require_unit("easy_axis", d.easy_axis);
    detail::require_unit("pinned", d.pinned);
    require_non_negative("polarization", d.polarization);
    if (d.polarization > 1) throw parameter_error("polarization", "must be <= 1");
    require_positive("lambda", d.lambda);
    require_finite("beta_fl", d.beta_fl);
    require_non_negative("tmr", d.tmr);
    require_positive("ra", d.ra);
    require_finite("b_ext.x", d.b_ext.x);
    require_finite("b_ext.y", d.b_ext.y);
    require_finite("b_ext.z", d.b_ext.z);
    require_non_negative("temperature", d.temperature);
    detail::require_unit("m0", d.m0);
}

inline double area(const mtj& d) {
    return d.elliptical ? constants::pi * d.width * d.length / 4 : d.width * d.length;
}
/// Free-layer volume: the prism, or the elliptic cylinder when elliptical.
inline double volume(const mtj& d) { return area(d) * d.height; }

inline vec3<double> demag_factors(const mtj& d) {
    switch (d.demag) {
    case demag_model::prism:
        return prism_demag(d.width, d.length, d.height);
    case demag_model::ellipsoid:
        return ellipsoid_demag(d.width, d.length, d.height);
    case demag_model::none:
        break;
    }
    return {0, 0, 0};
}

/// eps(m.p) = c0 / (c1 + c2 m.p) for the chosen form (see llg::slonczewski).
inline vec3<double> eps_coefficients(eps_form form, double p, double lambda) {
    if (form == eps_form::mtj) return {p / 2, 1, p * p};
    const double l2 = lambda * lambda;
    return {p * l2, l2 + 1, l2 - 1};
}

/// Per-lane LLG parameters of the device; the drive unit is the current in A.
inline mtj_system::params<double> llg_params(const mtj& d) {
    validate(d);
    using namespace llg;
    mtj_system::params<double> p;
    p.gamma = d.gamma;
    p.alpha = d.alpha;
    p.term<uniaxial>() = {2 * d.K_u / d.Ms, d.easy_axis};
    p.term<llg::demag>() = {constants::mu0 * d.Ms * demag_factors(d)};
    p.term<zeeman>() = {d.b_ext};
    const vec3<double> c = eps_coefficients(d.eps, d.polarization, d.lambda);
    p.term<slonczewski>() = {
        d.pinned, stt_tesla_per_ampere(d.Ms, d.height, area(d)), d.beta_fl, c.x, c.y, c.z};
    p.term<llg::thermal>() = {thermal_sigma_rate(d.alpha, d.temperature, d.Ms, volume(d), d.gamma)};
    return p;
}

/// TMR readout along the pinned direction.
struct readout {
    vec3<double> p{1, 0, 0};
    double g_p = 0, g_ap = 0; ///< conductances of the parallel and antiparallel states, S

    double conductance(const vec3<double>& m) const {
        const double c = dot(m, p);
        return 0.5 * (g_p * (1 + c) + g_ap * (1 - c));
    }
    double resistance(const vec3<double>& m) const { return 1 / conductance(m); }
    /// Voltage across the junction under a read current (A).
    double read_voltage(const vec3<double>& m, double i_read) const {
        return i_read / conductance(m);
    }
};

inline readout mtj_readout(const mtj& d) {
    validate(d);
    const double gp = area(d) / d.ra;
    return {d.pinned, gp, gp / (1 + d.tmr)};
}

} // namespace spinfire::device

BOOST_HANA_ADAPT_STRUCT(spinfire::device::mtj, width, length, height, elliptical, Ms, alpha, gamma,
                        K_u, easy_axis, demag, pinned, polarization, eps, lambda, beta_fl, tmr, ra,
                        b_ext, temperature, m0);
