#pragma once
// What kind of neuron a device trace is, judged from its fit. The classes answer the paper's
// question "does this device integrate, leak and fire with sign?" one failure at a time,
// the most fundamental first:
//   unstable           the simulation failed (NaN, lost |m|) or the fitted leak exceeds 1
//                      (the membrane grows by itself: switching, not integration)
//   no_bipolar_firing  the device never fired one of the two signs under a bipolar input
//   no_leak            leak beta >= 1 - min_leak: an integrator without forgetting
//   poor_fit           fires both ways and leaks, but the signed LIF does not follow it
//                      (nrmse above max_nrmse, spike agreement below min_spike_agreement,
//                      or beta <= 0: the membrane flips sign every step)
//   signed_lif         everything holds
#include <cmath>
#include <string>

#include "spinfire/core/error.hpp"
#include "spinfire/core/reflect.hpp"
#include "spinfire/fit/signed_lif_fit.hpp"

namespace spinfire::fit {

enum class device_class { signed_lif, no_leak, no_bipolar_firing, poor_fit, unstable };

inline const char* enum_name(device_class c) {
    switch (c) {
    case device_class::signed_lif: return "signed_lif";
    case device_class::no_leak: return "no_leak";
    case device_class::no_bipolar_firing: return "no_bipolar_firing";
    case device_class::poor_fit: return "poor_fit";
    case device_class::unstable: return "unstable";
    }
    return "?";
}
inline device_class parse_enum(const std::string& s, device_class*, const std::string& where) {
    for (auto c : {device_class::signed_lif, device_class::no_leak, device_class::no_bipolar_firing,
                   device_class::poor_fit, device_class::unstable})
        if (s == enum_name(c)) return c;
    throw error("'" + where + "': unknown device class '" + s +
                "' (expected signed_lif, no_leak, no_bipolar_firing, poor_fit or unstable)");
}

struct classify_options {
    BOOST_HANA_DEFINE_STRUCT(classify_options,
                             (double, max_nrmse),           // free-run V error allowed
                             (double, min_spike_agreement), // fraction of steps
                             (double, min_leak),            // 1 - beta at least this
                             (double, beta_tolerance));     // beta up to 1 + this is "no leak"
    classify_options() : max_nrmse(0.05), min_spike_agreement(0.95), min_leak(0.01), beta_tolerance(0.01) {}
};

inline device_class classify(const fit_result& r, const classify_options& o = {}) {
    const double b = r.beta_raw;
    if (!std::isfinite(b) || !std::isfinite(r.model.gain) || b > 1 + o.beta_tolerance ||
        !std::isfinite(r.quality.nrmse))
        return device_class::unstable;
    if (r.spikes.device_pos == 0 || r.spikes.device_neg == 0) return device_class::no_bipolar_firing;
    if (b >= 1 - o.min_leak) return device_class::no_leak;
    if (b <= 0 || r.quality.nrmse > o.max_nrmse || r.quality.spike_agreement < o.min_spike_agreement)
        return device_class::poor_fit;
    return device_class::signed_lif;
}

} // namespace spinfire::fit
