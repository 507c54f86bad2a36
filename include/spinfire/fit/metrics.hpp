#pragma once
// Fit-quality metrics between a device trace and a model driven by the same input.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>

#include "spinfire/core/error.hpp"

namespace spinfire::fit {

namespace detail {
inline void require_same_length(std::size_t a, std::size_t b, const char* what) {
    if (a == 0) throw error(std::string(what) + ": empty series");
    if (a != b)
        throw error(std::string(what) + ": series differ in length (" + std::to_string(a) +
                    " vs " + std::to_string(b) + ")");
}
} // namespace detail

/// RMSE of model against reference, divided by the reference's range (max - min).
/// Infinite when the reference is constant and the model is not; 0 when both agree.
inline double nrmse(std::span<const double> reference, std::span<const double> model) {
    detail::require_same_length(reference.size(), model.size(), "nrmse");
    double sse = 0, lo = reference[0], hi = reference[0];
    for (std::size_t i = 0; i < reference.size(); ++i) {
        const double d = model[i] - reference[i];
        sse += d * d;
        lo = std::min(lo, reference[i]);
        hi = std::max(hi, reference[i]);
    }
    const double rmse = std::sqrt(sse / double(reference.size()));
    if (rmse == 0) return 0;
    return hi > lo ? rmse / (hi - lo) : std::numeric_limits<double>::infinity();
}

/// Coefficient of determination 1 - SSE / SST (SST about the reference's mean). May be
/// negative for a model worse than the mean; -inf for a constant reference and a wrong model.
inline double r_squared(std::span<const double> reference, std::span<const double> model) {
    detail::require_same_length(reference.size(), model.size(), "r_squared");
    double mean = 0;
    for (double r : reference) mean += r;
    mean /= double(reference.size());
    double sse = 0, sst = 0;
    for (std::size_t i = 0; i < reference.size(); ++i) {
        sse += (model[i] - reference[i]) * (model[i] - reference[i]);
        sst += (reference[i] - mean) * (reference[i] - mean);
    }
    if (sse == 0) return 1;
    return sst > 0 ? 1 - sse / sst : -std::numeric_limits<double>::infinity();
}

/// Step-by-step comparison of two spike trains (device = reference).
struct spike_comparison {
    double agreement = 0;    // fraction of steps with the same spike (sign included)
    long device_pos = 0, device_neg = 0, model_pos = 0, model_neg = 0;
    long missed = 0;         // device spiked, model silent
    long extra = 0;          // model spiked, device silent
    long sign_errors = 0;    // both spiked, opposite signs
    long device_spikes() const { return device_pos + device_neg; }
    long model_spikes() const { return model_pos + model_neg; }
};

inline spike_comparison compare_spikes(std::span<const std::int8_t> device,
                                       std::span<const std::int8_t> model) {
    detail::require_same_length(device.size(), model.size(), "compare_spikes");
    spike_comparison c;
    long same = 0;
    for (std::size_t i = 0; i < device.size(); ++i) {
        const int d = device[i], m = model[i];
        same += d == m;
        c.device_pos += d > 0, c.device_neg += d < 0;
        c.model_pos += m > 0, c.model_neg += m < 0;
        c.missed += d != 0 && m == 0;
        c.extra += d == 0 && m != 0;
        c.sign_errors += d != 0 && m != 0 && d != m;
    }
    c.agreement = double(same) / double(device.size());
    return c;
}

} // namespace spinfire::fit
