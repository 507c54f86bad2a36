#pragma once
// The reference implementation of the fitted-neuron equations (fit/fitted_neuron.hpp), used
// by the fit to score a parameter set against a device trace and by the tests to generate
// traces with known parameters. Scalar and deliberately plain: it is the contract's oracle.
#include <cmath>
#include <cstdint>
#include <span>

#include "spinfire/fit/fitted_neuron.hpp"
#include "spinfire/fit/trace.hpp"

namespace spinfire::fit {

/// H[t] from V[t-1] and X[t], including the optional tanh saturation.
inline double membrane_input(const signed_lif_params& p, double v_prev, double x) {
    const double u = p.beta * v_prev + p.gain * x;
    return p.v_sat > 0 ? p.v_sat * std::tanh(u / p.v_sat) : u;
}

/// Spike of a pre-reset membrane H: +1 at H >= theta_pos, -1 at H <= -theta_neg.
inline int fire(const signed_lif_params& p, double h) {
    return h >= p.theta_pos ? 1 : (h <= -p.theta_neg ? -1 : 0);
}

/// Membrane after the reset of a step that fired s.
inline double reset(const signed_lif_params& p, double h, int s) {
    if (s == 0) return h;
    if (p.hard_reset) return p.v_reset;
    return s > 0 ? h - p.theta_pos : h + p.theta_neg;
}

/// Runs the model over x from membrane v0 and returns its trace (x, h, v, s).
inline trace simulate(const signed_lif_params& p, std::span<const double> x, double v0 = 0) {
    trace out;
    out.v0 = v0;
    out.reserve(x.size());
    double v = v0;
    for (double xi : x) {
        const double h = membrane_input(p, v, xi);
        const int s = fire(p, h);
        v = reset(p, h, s);
        out.push_back(xi, h, v, s);
    }
    return out;
}

} // namespace spinfire::fit
