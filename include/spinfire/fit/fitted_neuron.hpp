#pragma once
// The fitted-neuron file: what fit/ produces from device traces and what the
// neuron::mtj_signed_lif model loads. One reflected definition gives the JSON keys.
//
// Model (SNN units, one step per SNN time step t):
//   H[t] = beta V[t-1] + gain X[t]
//   if v_sat > 0:  H[t] = v_sat tanh(H[t] / v_sat)        (bounded membrane: |m| <= 1)
//   S[t] = +1 if H[t] >= theta_pos, -1 if H[t] <= -theta_neg, else 0
//   soft reset: V[t] = H[t] - theta_pos [S = +1] + theta_neg [S = -1]
//   hard reset: V[t] = v_reset where S != 0, else H[t]
#include <string>

#include "spinfire/core/error.hpp"
#include "spinfire/io/json.hpp"

namespace spinfire::fit {

struct signed_lif_params {
    BOOST_HANA_DEFINE_STRUCT(signed_lif_params,
                             (double, beta),      // leak per SNN step, in (0, 1]
                             (double, gain),      // input gain g
                             (double, theta_pos), // positive threshold (> 0)
                             (double, theta_neg), // magnitude of the negative threshold (> 0)
                             (double, v_reset),   // hard-reset value
                             (double, v_sat),     // saturation scale; 0 = no saturation
                             (bool, hard_reset)); // false: soft reset (subtract threshold)
};

struct fit_quality {
    BOOST_HANA_DEFINE_STRUCT(fit_quality,
                             (double, nrmse),           // RMSE of V / (max V - min V)
                             (double, r2),              // coefficient of determination of V
                             (double, spike_agreement), // fraction of steps with equal spike
                             (long, device_spikes),     // spikes seen on the device
                             (long, model_spikes));     // spikes of the fitted model
};

/// Device-to-device spread (standard deviations, relative for beta/gain/thresholds) and
/// read noise (absolute, in units of V) that a network may sample per neuron.
struct parameter_spread {
    BOOST_HANA_DEFINE_STRUCT(parameter_spread,
                             (double, beta_rel), (double, gain_rel), (double, theta_pos_rel),
                             (double, theta_neg_rel), (double, read_noise));
};

struct fitted_neuron {
    signed_lif_params model{0.5, 1.0, 1.0, 1.0, 0.0, 0.0, false};
    fit_quality quality{};
    parameter_spread spread{};
    io::json device = io::json::object();   // the device it came from (parameter names)
    io::json protocol = io::json::object(); // the protocol (drive, step, readout)
};

/// Checks the model is usable by a network; names the offending key.
inline void validate(const signed_lif_params& p) {
    require_finite("model.beta", p.beta);
    if (!(p.beta > 0 && p.beta <= 1)) throw parameter_error("model.beta", "must be in (0, 1]");
    require_finite("model.gain", p.gain);
    if (p.gain == 0) throw parameter_error("model.gain", "must not be 0 (no input reaches the neuron)");
    require_positive("model.theta_pos", p.theta_pos);
    require_positive("model.theta_neg", p.theta_neg);
    require_finite("model.v_reset", p.v_reset);
    require_non_negative("model.v_sat", p.v_sat);
}

inline io::json to_json(const fitted_neuron& f) {
    return {{"format", "spinfire.fitted_neuron.v1"},
            {"model", io::to_json(f.model)},
            {"quality", io::to_json(f.quality)},
            {"spread", io::to_json(f.spread)},
            {"device", f.device},
            {"protocol", f.protocol}};
}

inline fitted_neuron fitted_neuron_from_json(const io::json& j) {
    if (!j.is_object() || j.value("format", "") != "spinfire.fitted_neuron.v1")
        throw error("fitted neuron: missing or unknown 'format' (expected spinfire.fitted_neuron.v1)");
    // the model is the file's purpose: every key of it is required, none falls back to a default
    if (!j.contains("model")) throw error("fitted neuron: missing key 'model'");
    for (const auto& k : reflect::field_names<signed_lif_params>())
        if (!j.at("model").is_object() || !j.at("model").contains(k))
            throw error("fitted neuron: missing key 'model." + k + "'");
    fitted_neuron f;
    for (auto it = j.begin(); it != j.end(); ++it) {
        const auto& k = it.key();
        if (k == "format") continue;
        if (k == "model") io::from_json(*it, f.model, "model");
        else if (k == "quality") io::from_json(*it, f.quality, "quality");
        else if (k == "spread") io::from_json(*it, f.spread, "spread");
        else if (k == "device") f.device = *it;
        else if (k == "protocol") f.protocol = *it;
        else throw error("fitted neuron: unknown key '" + k + "'");
    }
    validate(f.model);
    return f;
}

inline void save(const std::string& file, const fitted_neuron& f) {
    io::write_json_file(file, to_json(f));
}
inline fitted_neuron load_fitted_neuron(const std::string& file) {
    try {
        return fitted_neuron_from_json(io::read_json_file(file));
    } catch (const data_error&) {
        throw;
    } catch (const error& e) {
        throw data_error(file, e.what());
    }
}

} // namespace spinfire::fit
