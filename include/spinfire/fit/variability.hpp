#pragma once
// Device-to-device variability and temperature (the paper leaves both open): Monte Carlo over
// dimension tolerance (uniform +-tol per axis), anisotropy spread (normal K_u), Ms spread
// (normal, relative) and thermal noise, every device driven by the same input. Reports the
// distribution of fitted parameters, the spike errors of each device against the nominal
// model (what a network trained on the nominal fit expects), and the parameter_spread that
// the fitted-neuron file carries so a network can sample a device per neuron.
#include <algorithm>
#include <cmath>
#include <span>
#include <oneapi/tbb/parallel_for.h>
#include <string>
#include <vector>

#include "spinfire/core/error.hpp"
#include "spinfire/core/philox.hpp"
#include "spinfire/core/reflect.hpp"
#include "spinfire/fit/device_protocol.hpp"
#include "spinfire/fit/fitted_neuron.hpp"
#include "spinfire/fit/metrics.hpp"
#include "spinfire/fit/signed_lif_fit.hpp"

namespace spinfire::fit {

struct variability_spec {
    BOOST_HANA_DEFINE_STRUCT(variability_spec,
                             (double, dimension_tol_nm), // uniform +-tol on W, L, T
                             (double, ku_sigma),         // J/m^3, normal, along the easy axis
                             (double, ms_rel_sigma),     // relative, normal
                             (double, temperature),      // K
                             (long, devices), (long, seed));
    variability_spec()
        : dimension_tol_nm(1.0), ku_sigma(5e3), ms_rel_sigma(0.02), temperature(300), devices(64),
          seed(11) {}
};

/// Checks a spec's spreads before anything is drawn; names the offending field. A tolerance
/// that could take a dimension to zero or below is not a fabrication spread.
inline void validate_spread(const device::mtj& nominal, const variability_spec& spec) {
    require_non_negative("dimension_tol_nm", spec.dimension_tol_nm);
    require_non_negative("ku_sigma", spec.ku_sigma);
    require_non_negative("ms_rel_sigma", spec.ms_rel_sigma);
    require_non_negative("temperature", spec.temperature);
    const double smallest = std::min({nominal.width, nominal.length, nominal.height});
    if (!(spec.dimension_tol_nm * 1e-9 < smallest))
        throw parameter_error("dimension_tol_nm",
                              spinfire::detail::num(spec.dimension_tol_nm) +
                                  " nm is not smaller than the device's smallest dimension (" +
                                  spinfire::detail::num(smallest * 1e9) + " nm)");
}

/// Device `index` of the population spec describes: W, L, T uniform within +-tol, K_u and
/// Ms normal, at spec.temperature. Drawn from Philox (spec.seed, index) alone, so device i
/// is the same whichever other devices are drawn (one seed is one fixed chip).
inline device::mtj draw_device(const device::mtj& nominal, const variability_spec& spec,
                               std::uint64_t index) {
    rng::stream s(std::uint64_t(spec.seed), index);
    device::mtj d = nominal;
    const double tol = spec.dimension_tol_nm * 1e-9;
    d.width += s.uniform(-tol, tol);
    d.length += s.uniform(-tol, tol);
    d.height += s.uniform(-tol, tol);
    d.K_u += spec.ku_sigma * s.normal();
    d.Ms *= 1 + spec.ms_rel_sigma * s.normal();
    d.temperature = spec.temperature;
    return d;
}

struct stat {
    BOOST_HANA_DEFINE_STRUCT(stat, (double, mean), (double, std), (double, min), (double, max));
};

inline stat make_stat(const std::vector<double>& v) {
    stat s{0, 0, 0, 0};
    if (v.empty()) return s;
    s.min = *std::min_element(v.begin(), v.end());
    s.max = *std::max_element(v.begin(), v.end());
    for (double e : v) s.mean += e;
    s.mean /= double(v.size());
    for (double e : v) s.std += (e - s.mean) * (e - s.mean);
    s.std = v.size() > 1 ? std::sqrt(s.std / double(v.size() - 1)) : 0.0;
    return s;
}

struct variability_result {
    fit_result nominal;                  // the nominal device at 0 K
    std::vector<device::mtj> devices;    // the sampled devices
    std::vector<signed_lif_params> fits; // per device (failed devices omitted)
    std::vector<std::string> failures;   // per failed device: why
    stat beta, gain, theta_pos, theta_neg, nrmse, read_noise;
    double sign_error_rate = 0; // opposite-sign spikes / nominal spikes
    double missed_rate = 0;     // nominal spiked, device silent / nominal spikes
    double extra_rate = 0;      // device spiked, nominal silent / nominal spikes
    parameter_spread spread{};
};

/// What one Monte Carlo device contributes to the summary (failure: why it has none).
struct device_outcome {
    std::string failure;
    signed_lif_params model{};
    double nrmse = 0;
    double read_noise = 0; // RMS one-step residual of the device's own fit (units of V)
    spike_comparison spikes{};
};

/// A variability study cut into devices that run independently: device i draws its
/// geometry from (spec.seed, i) and its thermal noise from stream i, whichever process runs
/// it and with whatever other devices (what dist/ relies on).
struct variability_plan {
    fit_result nominal;
    std::vector<device::mtj> devices;
    std::vector<protocol_lane> lanes;
};

/// Validates, fits the nominal device at 0 K (throws when it cannot be fitted) and draws the
/// devices.
inline variability_plan plan_variability(const device::mtj& nominal, const protocol& p,
                                         const variability_spec& spec, std::span<const double> x,
                                         const sot_line& line = {}, const fit_options& fo = {}) {
    validate_spread(nominal, spec);
    if (spec.devices < 2) throw parameter_error("devices", "must be >= 2");
    variability_plan plan;
    {
        device::mtj d0 = nominal;
        d0.temperature = 0;
        const protocol_lane l{d0, p, line};
        const auto r = run_protocol(std::span(&l, 1), x).front();
        if (!r.failure.empty()) throw numeric_error("nominal device failed: " + r.failure);
        plan.nominal = fit_signed_lif(r.tr, fo);
    }
    for (long i = 0; i < spec.devices; ++i) {
        plan.devices.push_back(draw_device(nominal, spec, std::uint64_t(i)));
        plan.lanes.push_back({plan.devices.back(), p, line});
    }
    return plan;
}

/// Runs devices [begin, end) of the plan.
inline std::vector<device_outcome> run_devices(const variability_plan& plan,
                                               const variability_spec& spec,
                                               std::span<const double> x, std::size_t begin,
                                               std::size_t end, const fit_options& fo = {}) {
    if (begin > end || end > plan.lanes.size())
        throw parameter_error("devices", "range [" + std::to_string(begin) + ", " +
                                             std::to_string(end) + ") outside the plan's " +
                                             std::to_string(plan.lanes.size()));
    std::vector<device_outcome> out(end - begin);
    if (begin == end) return out;
    run_settings rs;
    rs.seed = std::uint64_t(spec.seed);
    rs.first_stream = begin;
    const auto res = run_protocol(std::span(plan.lanes).subspan(begin, end - begin), x, rs);
    oneapi::tbb::parallel_for(std::size_t(0), out.size(), [&](std::size_t i) {
        auto& o = out[i];
        if (!res[i].failure.empty()) {
            o.failure = res[i].failure;
            return;
        }
        try {
            const auto f = fit_signed_lif(res[i].tr, fo);
            o.model = f.model;
            o.nrmse = f.quality.nrmse;
            const auto& tr = res[i].tr;
            double sse = 0;
            for (std::size_t t = 0; t < tr.size(); ++t) {
                const double d =
                    tr.h[t] - membrane_input(f.model, t ? tr.v[t - 1] : tr.v0, tr.x[t]);
                sse += d * d;
            }
            o.read_noise = std::sqrt(sse / double(tr.size()));
            o.spikes = compare_spikes(plan.nominal.model_trace.s, tr.s);
        } catch (const error& e) {
            o.failure = e.what();
        }
    });
    return out;
}

/// The distribution of the devices' fits and spike errors (outcomes in device order).
inline variability_result summarize_variability(variability_plan plan,
                                                const std::vector<device_outcome>& outcomes) {
    if (outcomes.size() != plan.devices.size())
        throw parameter_error("outcomes", "one per device expected");
    variability_result out;
    out.nominal = std::move(plan.nominal);
    out.devices = std::move(plan.devices);
    std::vector<double> b, g, tp, tn, e, rn;
    long ref_spikes = 0, sign = 0, missed = 0, extra = 0;
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
        const auto& o = outcomes[i];
        if (!o.failure.empty()) {
            out.failures.push_back("device " + std::to_string(i) + ": " + o.failure);
            continue;
        }
        out.fits.push_back(o.model);
        b.push_back(o.model.beta), g.push_back(o.model.gain);
        tp.push_back(o.model.theta_pos), tn.push_back(o.model.theta_neg);
        e.push_back(o.nrmse);
        rn.push_back(o.read_noise);
        const auto& c = o.spikes;
        ref_spikes += c.device_spikes(), sign += c.sign_errors, missed += c.missed,
            extra += c.extra;
    }
    out.beta = make_stat(b), out.gain = make_stat(g), out.theta_pos = make_stat(tp);
    out.theta_neg = make_stat(tn), out.nrmse = make_stat(e), out.read_noise = make_stat(rn);
    if (ref_spikes > 0) {
        out.sign_error_rate = double(sign) / double(ref_spikes);
        out.missed_rate = double(missed) / double(ref_spikes);
        out.extra_rate = double(extra) / double(ref_spikes);
    }
    auto rel = [](const stat& s) { return s.mean != 0 ? s.std / std::abs(s.mean) : 0.0; };
    out.spread = {rel(out.beta), rel(out.gain), rel(out.theta_pos), rel(out.theta_neg),
                  out.read_noise.mean};
    return out;
}

/// Samples spec.devices devices around `nominal`, runs them under protocol p with input x,
/// fits each, and summarizes. Throws when the nominal device cannot be fitted.
inline variability_result run_variability(const device::mtj& nominal, const protocol& p,
                                          const variability_spec& spec, std::span<const double> x,
                                          const sot_line& line = {}, const fit_options& fo = {}) {
    auto plan = plan_variability(nominal, p, spec, x, line, fo);
    const auto outcomes = run_devices(plan, spec, x, 0, plan.lanes.size(), fo);
    return summarize_variability(std::move(plan), outcomes);
}

inline io::json to_json(const variability_result& r) {
    return {{"beta", io::to_json(r.beta)},
            {"gain", io::to_json(r.gain)},
            {"theta_pos", io::to_json(r.theta_pos)},
            {"theta_neg", io::to_json(r.theta_neg)},
            {"nrmse", io::to_json(r.nrmse)},
            {"read_noise", io::to_json(r.read_noise)},
            {"sign_error_rate", r.sign_error_rate},
            {"missed_rate", r.missed_rate},
            {"extra_rate", r.extra_rate},
            {"spread", io::to_json(r.spread)},
            {"devices_fitted", r.fits.size()},
            {"failures", r.failures}};
}

} // namespace spinfire::fit
