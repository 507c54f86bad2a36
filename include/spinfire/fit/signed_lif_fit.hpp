#pragma once
// Least-squares fit of the signed LIF contract (fit/fitted_neuron.hpp) to a trace.
//
// Because the trace keeps the pre-reset membrane h[t] apart from the post-reset v[t], the
// fit splits into independent, well-posed pieces:
//   1. leak and gain: h[t] = beta v[t-1] + gain x[t] is linear in (beta, gain): ordinary least
//      squares over every step. Optionally h[t] = v_sat tanh(u / v_sat): Levenberg-Marquardt
//      in (beta, gain, s = 1/v_sat) from the linear solution, kept only when it lowers the
//      residual by at least options.saturation_min_gain (the residuals must show it).
//   2. thresholds: the cut on h that misclassifies the fewest steps (positive: spikes +1 vs
//      silent steps; negative likewise on -h), placed mid-gap; data only bracket a threshold.
//   3. reset: soft (v = h -+ theta) against hard (v = v_reset) by the residual at spike steps;
//      for soft reset h - v at spike steps measures the thresholds directly. With a hard
//      reset, step 1 is redone on the silent steps only (options.subthreshold_refit): the
//      supra-threshold size of H never reaches V, and devices are least linear there.
// The fitted model is then run free from v0 on the same input and scored (nrmse, R^2 of V,
// spike agreement), which is what matters for a network, not the one-step residual.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "spinfire/core/error.hpp"
#include "spinfire/core/reflect.hpp"
#include "spinfire/fit/fitted_neuron.hpp"
#include "spinfire/fit/least_squares.hpp"
#include "spinfire/fit/metrics.hpp"
#include "spinfire/fit/signed_lif_model.hpp"
#include "spinfire/fit/trace.hpp"

namespace spinfire::fit {

struct fit_options {
    BOOST_HANA_DEFINE_STRUCT(
        fit_options,
        (bool, allow_saturation),        // try the tanh saturation term
        (double, saturation_min_gain),   // relative SSE reduction needed to keep it
        (double, theta_pos_default),     // used when the trace has no +1 spike (0: 1.25 max h)
        (double, theta_neg_default),     // likewise for -1 spikes
        (int, max_iterations),           // Levenberg-Marquardt iterations
        (bool, subthreshold_refit));     // hard reset: leak and gain from silent steps only
    fit_options()
        : allow_saturation(true), saturation_min_gain(0.1), theta_pos_default(0),
          theta_neg_default(0), max_iterations(100), subthreshold_refit(true) {}
};

struct fit_result {
    signed_lif_params model{};
    fit_quality quality{};
    spike_comparison spikes{};
    double one_step_r2 = 0;   // R^2 of the regression h[t] ~ (v[t-1], x[t])
    double beta_raw = 0;      // unconstrained least-squares leak (may leave (0, 1])
    double theta_pos_lo = 0, theta_pos_hi = 0; // bracket of thresholds with the same errors
    double theta_neg_lo = 0, theta_neg_hi = 0;
    bool theta_pos_identified = false, theta_neg_identified = false;
    trace model_trace;        // the fitted model driven by the trace's input from v0
};

namespace detail {

struct threshold_cut {
    double value, lo, hi;
    long errors;
    bool identified;
};

/// Best cut c on values a (spiking when a >= c) between "fired" and "silent" samples.
inline threshold_cut best_cut(std::vector<double> fired, std::vector<double> silent) {
    if (fired.empty()) return {0, 0, 0, 0, false};
    std::sort(fired.begin(), fired.end());
    std::sort(silent.begin(), silent.end());
    // Candidate cuts just above each silent value and at each fired value; errors(c) =
    // #silent >= c + #fired < c. Scan the merged order.
    std::vector<double> cand(fired);
    for (double s : silent) cand.push_back(std::nextafter(s, std::numeric_limits<double>::infinity()));
    std::sort(cand.begin(), cand.end());
    cand.erase(std::unique(cand.begin(), cand.end()), cand.end());
    long best = std::numeric_limits<long>::max();
    double best_c = cand.front();
    for (double c : cand) {
        const long e = long(silent.end() - std::lower_bound(silent.begin(), silent.end(), c)) +
                       long(std::lower_bound(fired.begin(), fired.end(), c) - fired.begin());
        if (e < best) best = e, best_c = c;
    }
    // The optimal cut c* = best_c; every cut in (largest silent value below c*, smallest fired
    // value at or above c*] misclassifies the same samples: report that bracket, pick its middle.
    const auto fi = std::lower_bound(fired.begin(), fired.end(), best_c);
    const double hi = fi != fired.end() ? *fi : best_c;
    const auto si = std::lower_bound(silent.begin(), silent.end(), best_c);
    double lo = si != silent.begin() ? *(si - 1) : 0.0;
    lo = std::max(lo, 0.0);
    return {0.5 * (lo + hi), lo, hi, best, true};
}

} // namespace detail

/// Fits the signed LIF to tr. Throws spinfire::error for an invalid trace and
/// numeric_error when leak or gain are not identifiable (input or membrane never moves).
inline fit_result fit_signed_lif(const trace& tr, const fit_options& opt = {}) {
    validate(tr);
    if (!(opt.saturation_min_gain >= 0 && opt.saturation_min_gain < 1))
        throw parameter_error("saturation_min_gain", "must be in [0, 1)");
    if (!(opt.theta_pos_default >= 0) || !(opt.theta_neg_default >= 0))
        throw parameter_error("theta_default", "must be >= 0");
    const std::size_t n = tr.size();
    auto prev = [&](std::size_t t) { return t == 0 ? tr.v0 : tr.v[t - 1]; };
    fit_result r;

    // 1. leak and gain, over the steps where use(t) holds.
    struct regression {
        double beta, gain, s_sat, r2;
    };
    auto regress = [&](auto use) {
        double spp = 0, spx = 0, sxx = 0, sph = 0, sxh = 0, mean_h = 0;
        std::size_t m = 0;
        for (std::size_t t = 0; t < n; ++t) {
            if (!use(t)) continue;
            const double p = prev(t), x = tr.x[t], h = tr.h[t];
            spp += p * p, spx += p * x, sxx += x * x, sph += p * h, sxh += x * h, mean_h += h;
            ++m;
        }
        mean_h /= double(std::max<std::size_t>(m, 1));
        if (sxx == 0)
            throw numeric_error("fit: the input x is zero at every step; gain is not identifiable");
        if (spp == 0) throw numeric_error("fit: the membrane never leaves 0; leak is not identifiable");
        const auto lin = detail::solve<2>({{{spp, spx}, {spx, sxx}}}, {sph, sxh});
        if (!lin)
            throw numeric_error("fit: membrane and input are collinear; leak and gain are not separable");
        double beta = (*lin)[0], gain = (*lin)[1], s_sat = 0;
        auto sse_of = [&](double b, double g, double s) {
            double e = 0;
            for (std::size_t t = 0; t < n; ++t) {
                if (!use(t)) continue;
                const double d = detail::saturate(b * prev(t) + g * tr.x[t], s).f - tr.h[t];
                e += d * d;
            }
            return e;
        };
        const double sse_lin = sse_of(beta, gain, 0);
        double sse = sse_lin;
        if (opt.allow_saturation && sse_lin > 0) {
            // Levenberg-Marquardt from a small s (s = 0 is a stationary point of the even f(s)).
            double hmax = 0;
            for (std::size_t t = 0; t < n; ++t)
                if (use(t)) hmax = std::max(hmax, std::abs(tr.h[t]));
            double b = beta, g = gain, s = hmax > 0 ? 0.1 / hmax : 0, lambda = 1e-3;
            double cur = sse_of(b, g, s);
            for (int it = 0; it < opt.max_iterations; ++it) {
                std::array<std::array<double, 3>, 3> jtj{};
                std::array<double, 3> jtr{};
                for (std::size_t t = 0; t < n; ++t) {
                    if (!use(t)) continue;
                    const double p = prev(t), x = tr.x[t];
                    const auto e = detail::saturate(b * p + g * x, s);
                    const std::array<double, 3> jr{e.dfdu * p, e.dfdu * x, e.dfds};
                    const double res = tr.h[t] - e.f;
                    for (int i = 0; i < 3; ++i) {
                        jtr[i] += jr[i] * res;
                        for (int k = 0; k < 3; ++k) jtj[i][k] += jr[i] * jr[k];
                    }
                }
                bool improved = false;
                while (lambda < 1e12) {
                    auto a = jtj;
                    for (int i = 0; i < 3; ++i) a[i][i] += lambda * (jtj[i][i] > 0 ? jtj[i][i] : 1);
                    const auto d = detail::solve<3>(a, jtr);
                    if (d) {
                        const double nb = b + (*d)[0], ng = g + (*d)[1], ns = s + (*d)[2];
                        const double e = sse_of(nb, ng, ns);
                        if (std::isfinite(e) && e < cur) {
                            const double rel = (cur - e) / cur;
                            b = nb, g = ng, s = ns, cur = e, lambda = std::max(lambda * 0.3, 1e-12);
                            improved = rel > 1e-12;
                            break;
                        }
                    }
                    lambda *= 10;
                }
                if (!improved) break;
            }
            if (cur < (1 - opt.saturation_min_gain) * sse_lin && s != 0)
                beta = b, gain = g, s_sat = std::abs(s), sse = cur;
        }
        double sst = 0;
        for (std::size_t t = 0; t < n; ++t)
            if (use(t)) sst += (tr.h[t] - mean_h) * (tr.h[t] - mean_h);
        const double r2 = sse == 0 ? 1.0 : (sst > 0 ? 1 - sse / sst : -std::numeric_limits<double>::infinity());
        return regression{beta, gain, s_sat, r2};
    };
    auto set_regression = [&](const regression& g) {
        r.one_step_r2 = g.r2;
        r.beta_raw = g.beta;
        r.model.beta = g.beta;
        r.model.gain = g.gain;
        r.model.v_sat = g.s_sat > 0 ? 1 / g.s_sat : 0;
    };
    set_regression(regress([](std::size_t) { return true; }));

    // 2. thresholds.
    std::vector<double> pos_fired, pos_silent, neg_fired, neg_silent;
    double hmax_pos = 0, hmax_neg = 0;
    for (std::size_t t = 0; t < n; ++t) {
        const double h = tr.h[t];
        if (tr.s[t] > 0) pos_fired.push_back(h);
        else if (tr.s[t] < 0) neg_fired.push_back(-h);
        else {
            if (h > 0) pos_silent.push_back(h), hmax_pos = std::max(hmax_pos, h);
            if (h < 0) neg_silent.push_back(-h), hmax_neg = std::max(hmax_neg, -h);
        }
    }
    const auto cp = detail::best_cut(pos_fired, pos_silent);
    const auto cn = detail::best_cut(neg_fired, neg_silent);
    r.theta_pos_identified = cp.identified && cp.value > 0;
    r.theta_neg_identified = cn.identified && cn.value > 0;
    auto fallback = [](double def, double seen, double other) {
        if (def > 0) return def;
        if (seen > 0) return 1.25 * seen;
        return other > 0 ? other : 1.0;
    };
    double tp = r.theta_pos_identified ? cp.value : 0, tn = r.theta_neg_identified ? cn.value : 0;
    if (!r.theta_pos_identified) tp = fallback(opt.theta_pos_default, hmax_pos, tn);
    if (!r.theta_neg_identified) tn = fallback(opt.theta_neg_default, hmax_neg, tp);
    r.theta_pos_lo = r.theta_pos_identified ? cp.lo : tp, r.theta_pos_hi = r.theta_pos_identified ? cp.hi : tp;
    r.theta_neg_lo = r.theta_neg_identified ? cn.lo : tn, r.theta_neg_hi = r.theta_neg_identified ? cn.hi : tn;

    // 3. reset: compare soft and hard on the spike steps.
    double vsum = 0, dpos = 0, dneg = 0;
    long npos = 0, nneg = 0;
    for (std::size_t t = 0; t < n; ++t) {
        if (tr.s[t] == 0) continue;
        vsum += tr.v[t];
        if (tr.s[t] > 0) dpos += tr.h[t] - tr.v[t], ++npos;
        else dneg += tr.v[t] - tr.h[t], ++nneg;
    }
    r.model.hard_reset = false;
    r.model.v_reset = 0;
    if (npos + nneg > 0) {
        const double v_reset = vsum / double(npos + nneg);
        const double soft_pos = npos ? dpos / double(npos) : tp, soft_neg = nneg ? dneg / double(nneg) : tn;
        double sse_hard = 0, sse_soft = 0;
        for (std::size_t t = 0; t < n; ++t) {
            if (tr.s[t] == 0) continue;
            const double soft = tr.s[t] > 0 ? tr.h[t] - soft_pos : tr.h[t] + soft_neg;
            sse_hard += (tr.v[t] - v_reset) * (tr.v[t] - v_reset);
            sse_soft += (tr.v[t] - soft) * (tr.v[t] - soft);
        }
        if (sse_hard <= sse_soft) {
            r.model.hard_reset = true;
            r.model.v_reset = v_reset;
            // With a hard reset the size of H above threshold never reaches V: refit leak and
            // gain on the sub-threshold steps only, where the membrane is what the network
            // integrates (a device is often nonlinear exactly on the large supra-threshold
            // inputs). Needs enough silent steps to be identifiable.
            if (opt.subthreshold_refit && n - std::size_t(npos + nneg) >= 8) {
                try {
                    set_regression(regress([&](std::size_t t) { return tr.s[t] == 0; }));
                } catch (const numeric_error&) {
                    // keep the all-steps regression
                }
            }
        } else {
            // The subtracted amount is the threshold itself; trust it where it is positive.
            if (npos && soft_pos > 0) tp = soft_pos;
            if (nneg && soft_neg > 0) tn = soft_neg;
        }
    }
    r.model.theta_pos = tp;
    r.model.theta_neg = tn;

    // 4. free-running score on the same input.
    r.model_trace = simulate(r.model, tr.x, tr.v0);
    r.spikes = compare_spikes(tr.s, r.model_trace.s);
    r.quality.nrmse = nrmse(tr.v, r.model_trace.v);
    r.quality.r2 = r_squared(tr.v, r.model_trace.v);
    r.quality.spike_agreement = r.spikes.agreement;
    r.quality.device_spikes = r.spikes.device_spikes();
    r.quality.model_spikes = r.spikes.model_spikes();
    return r;
}

} // namespace spinfire::fit
