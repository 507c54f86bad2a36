#pragma once
// The fitted signed LIF without its file: model parameters, fit quality and device spread as
// plain reflected structs (fit/fitted_neuron.hpp adds provenance and the JSON file). Neuron
// models include this header alone, so a user of neuron/ does not compile a JSON library.
//
// Model (SNN units, one step per SNN time step t):
//   H[t] = beta V[t-1] + gain X[t]
//   if v_sat > 0:  H[t] = v_sat tanh(H[t] / v_sat)        (bounded membrane: |m| <= 1)
//   S[t] = +1 if H[t] >= theta_pos, -1 if H[t] <= -theta_neg, else 0
//   soft reset: V[t] = H[t] - theta_pos [S = +1] + theta_neg [S = -1]
//   hard reset: V[t] = v_reset where S != 0, else H[t]
#include "spinfire/core/error.hpp"
#include "spinfire/core/reflect.hpp"

namespace spinfire::fit {

struct signed_lif_params {
    BOOST_HANA_DEFINE_STRUCT(signed_lif_params, (double, beta), // leak per SNN step, in (0, 1]
                             (double, gain),                    // input gain g
                             (double, theta_pos),               // positive threshold (> 0)
                             (double, theta_neg), // magnitude of the negative threshold (> 0)
                             (double, v_reset),   // hard-reset value
                             (double, v_sat),     // saturation scale; 0 = no saturation
                             (bool, hard_reset)); // false: soft reset (subtract threshold)
};

struct fit_quality {
    BOOST_HANA_DEFINE_STRUCT(fit_quality, (double, nrmse), // RMSE of V / (max V - min V)
                             (double, r2),                 // coefficient of determination of V
                             (double, spike_agreement),    // fraction of steps with equal spike
                             (long, device_spikes),        // spikes seen on the device
                             (long, model_spikes));        // spikes of the fitted model
};

/// Device-to-device spread (standard deviations, relative for beta/gain/thresholds) and
/// read noise (absolute, in units of V) that a network may sample per neuron.
struct parameter_spread {
    BOOST_HANA_DEFINE_STRUCT(parameter_spread, (double, beta_rel), (double, gain_rel),
                             (double, theta_pos_rel), (double, theta_neg_rel),
                             (double, read_noise));
};

/// What a network needs from a fitted-neuron file.
struct fitted_model {
    signed_lif_params model{0.5, 1.0, 1.0, 1.0, 0.0, 0.0, false};
    fit_quality quality{};
    parameter_spread spread{};
};

/// Checks the model is usable by a network; names the offending key.
inline void validate(const signed_lif_params& p) {
    require_finite("model.beta", p.beta);
    if (!(p.beta > 0 && p.beta <= 1)) throw parameter_error("model.beta", "must be in (0, 1]");
    require_finite("model.gain", p.gain);
    if (p.gain == 0)
        throw parameter_error("model.gain", "must not be 0 (no input reaches the neuron)");
    require_positive("model.theta_pos", p.theta_pos);
    require_positive("model.theta_neg", p.theta_neg);
    require_finite("model.v_reset", p.v_reset);
    require_non_negative("model.v_sat", p.v_sat);
}

} // namespace spinfire::fit
