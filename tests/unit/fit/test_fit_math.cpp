// fit/: signed-LIF least-squares fit on synthetic traces (exact recovery, noise tolerance,
// saturation), metrics against hand computations, classification, file round trips, errors.
#include <spinfire/core/philox.hpp>
#include <spinfire/fit/classify.hpp>
#include <spinfire/fit/fitted_neuron.hpp>
#include <spinfire/fit/metrics.hpp>
#include <spinfire/fit/signed_lif_fit.hpp>
#include <spinfire/fit/signed_lif_model.hpp>
#include <spinfire/fit/trace.hpp>

#include "test_support.hpp"

using namespace spinfire;

namespace {
/// Bipolar input: Gaussian steps with mean `bias` and unit spread, times `scale`.
std::vector<double> random_input(std::size_t n, std::uint64_t seed, double scale = 1.0) {
    rng::stream s(seed, 0);
    std::vector<double> x(n);
    for (auto& e : x) e = scale * s.normal();
    return x;
}
fit::signed_lif_params params(double beta, double gain, double tp, double tn, bool hard,
                              double v_reset = 0, double v_sat = 0) {
    fit::signed_lif_params p;
    p.beta = beta, p.gain = gain, p.theta_pos = tp, p.theta_neg = tn, p.hard_reset = hard;
    p.v_reset = v_reset, p.v_sat = v_sat;
    return p;
}
} // namespace

TEST_CASE("fit: recovers a soft-reset signed LIF exactly from its own trace") {
    const auto truth = params(0.82, 0.37, 1.0, 0.7, false);
    const auto x = random_input(2000, 1, 1.2);
    const auto tr = fit::simulate(truth, x, 0.05);
    REQUIRE(std::count(tr.s.begin(), tr.s.end(), 1) > 20);
    REQUIRE(std::count(tr.s.begin(), tr.s.end(), -1) > 20);
    const auto r = fit::fit_signed_lif(tr);
    // Linear least squares on noise-free data: exact to rounding.
    CHECK(r.model.beta == doctest::Approx(truth.beta).epsilon(1e-12));
    CHECK(r.model.gain == doctest::Approx(truth.gain).epsilon(1e-12));
    CHECK(r.model.v_sat == 0);
    CHECK_FALSE(r.model.hard_reset);
    // Soft reset: h - v at spike steps is the threshold itself.
    CHECK(r.model.theta_pos == doctest::Approx(truth.theta_pos).epsilon(1e-12));
    CHECK(r.model.theta_neg == doctest::Approx(truth.theta_neg).epsilon(1e-12));
    CHECK(r.quality.nrmse < 1e-12);
    CHECK(r.quality.r2 == doctest::Approx(1.0).epsilon(1e-12));
    CHECK(r.quality.spike_agreement == 1.0);
    CHECK(r.quality.device_spikes == r.quality.model_spikes);
    CHECK(fit::classify(r) == fit::device_class::signed_lif);
}

TEST_CASE("fit: hard reset recovers leak, gain, reset value and brackets the thresholds") {
    const auto truth = params(0.6, 0.5, 0.9, 1.3, true, -0.1);
    const auto x = random_input(3000, 2, 1.5);
    const auto tr = fit::simulate(truth, x, 0.0);
    const auto r = fit::fit_signed_lif(tr);
    CHECK(r.model.beta == doctest::Approx(truth.beta).epsilon(1e-12));
    CHECK(r.model.gain == doctest::Approx(truth.gain).epsilon(1e-12));
    CHECK(r.model.hard_reset);
    CHECK(r.model.v_reset == doctest::Approx(truth.v_reset).epsilon(1e-12));
    // A threshold is only bracketed by the data: the truth lies in the reported bracket, the
    // estimate is its middle, and the bracket is narrow for 3000 steps.
    CHECK(r.theta_pos_lo < truth.theta_pos);
    CHECK(truth.theta_pos <= r.theta_pos_hi);
    CHECK(r.theta_neg_lo < truth.theta_neg);
    CHECK(truth.theta_neg <= r.theta_neg_hi);
    CHECK(r.theta_pos_hi - r.theta_pos_lo < 0.02);
    CHECK(r.theta_neg_hi - r.theta_neg_lo < 0.02);
    CHECK(r.model.theta_pos == doctest::Approx(0.5 * (r.theta_pos_lo + r.theta_pos_hi)));
    CHECK(r.quality.spike_agreement == 1.0);
    CHECK(r.quality.nrmse < 1e-12);
}

TEST_CASE("fit: finds a tanh saturation when the trace has one, and only then") {
    const auto truth = params(0.9, 0.6, 1.1, 1.1, false, 0, 1.4);
    const auto x = random_input(2000, 3, 1.0);
    const auto tr = fit::simulate(truth, x, 0.0);
    const auto r = fit::fit_signed_lif(tr);
    CHECK(r.model.v_sat == doctest::Approx(truth.v_sat).epsilon(1e-6));
    CHECK(r.model.beta == doctest::Approx(truth.beta).epsilon(1e-6));
    CHECK(r.model.gain == doctest::Approx(truth.gain).epsilon(1e-6));
    CHECK(r.quality.nrmse < 1e-6);

    fit::fit_options off;
    off.allow_saturation = false;
    const auto r_lin = fit::fit_signed_lif(tr, off);
    CHECK(r_lin.model.v_sat == 0);
    CHECK(r_lin.one_step_r2 < r.one_step_r2);

    // Linear data with readout noise: the saturation term does not pay and is dropped.
    auto lin = fit::simulate(params(0.9, 0.6, 1.1, 1.1, false), x, 0.0);
    rng::stream noise(9, 1);
    for (auto& h : lin.h) h += 1e-3 * noise.normal();
    CHECK(fit::fit_signed_lif(lin).model.v_sat == 0);
}

// Readout noise sigma on h and v. Least squares with a noisy regressor v[t-1] is biased
// toward zero by about sigma^2 / var(v) (errors in variables): with sigma = 0.01 and
// var(v) ~ 0.1 that is ~1e-3 relative, so 1 % tolerances on beta and gain are ample
// (the estimator's spread over 4000 steps is ~ sigma / (std(v) sqrt(n)) ~ 5e-4).
// Thresholds: the bracket blurs by a few sigma.
TEST_CASE("fit: stays within stated tolerance under readout noise") {
    const auto truth = params(0.75, 0.4, 1.0, 0.8, false);
    const auto x = random_input(4000, 4, 1.3);
    auto tr = fit::simulate(truth, x, 0.0);
    rng::stream noise(5, 2);
    const double sigma = 0.01;
    for (std::size_t t = 0; t < tr.size(); ++t) {
        const double e = sigma * noise.normal();
        tr.h[t] += e, tr.v[t] += e; // one readout per step: the same noise in h and v
    }
    const auto r = fit::fit_signed_lif(tr);
    CHECK(r.model.beta == doctest::Approx(truth.beta).epsilon(0.01));
    CHECK(r.model.gain == doctest::Approx(truth.gain).epsilon(0.01));
    CHECK(r.model.theta_pos == doctest::Approx(truth.theta_pos).epsilon(0.05));
    CHECK(r.model.theta_neg == doctest::Approx(truth.theta_neg).epsilon(0.05));
    CHECK(r.quality.nrmse < 0.05);
    CHECK(r.quality.spike_agreement > 0.95);
}

TEST_CASE("fit: metrics agree with hand computation") {
    const std::vector<double> ref{0, 1, 2, 3}, mod{0, 1, 2, 5};
    // SSE 4, RMSE 1, range 3; SST = 5 (mean 1.5).
    CHECK(fit::nrmse(ref, mod) == doctest::Approx(1.0 / 3.0));
    CHECK(fit::r_squared(ref, mod) == doctest::Approx(1 - 4.0 / 5.0));
    CHECK(fit::nrmse(ref, ref) == 0);
    CHECK(fit::r_squared(ref, ref) == 1);
    const std::vector<std::int8_t> dev{1, 0, -1, 1, 0, -1}, mdl{1, 1, 0, -1, 0, -1};
    const auto c = fit::compare_spikes(dev, mdl);
    CHECK(c.agreement == doctest::Approx(3.0 / 6.0));
    CHECK(c.device_pos == 2);
    CHECK(c.device_neg == 2);
    CHECK(c.model_pos == 2);
    CHECK(c.model_neg == 2);
    CHECK(c.missed == 1);
    CHECK(c.extra == 1);
    CHECK(c.sign_errors == 1);
    CHECK_THROWS_AS(fit::nrmse(ref, std::vector<double>{1.0}), error);
}

TEST_CASE("fit: classification of leak, sign and growth failures") {
    const auto x = random_input(1500, 6, 1.0);
    // Perfect integrator (beta = 1).
    CHECK(fit::classify(fit::fit_signed_lif(fit::simulate(params(1.0, 0.3, 1, 1, false), x))) ==
          fit::device_class::no_leak);
    // Only positive firing: the negative threshold is out of reach.
    auto one_sided = fit::fit_signed_lif(fit::simulate(params(0.7, 0.5, 0.8, 50, false), x));
    CHECK(fit::classify(one_sided) == fit::device_class::no_bipolar_firing);
    CHECK_FALSE(one_sided.theta_neg_identified);
    CHECK(one_sided.model.theta_neg > 0);
    // A membrane that grows by itself.
    CHECK(fit::classify(fit::fit_signed_lif(fit::simulate(params(1.08, 0.3, 1, 1, false), x))) ==
          fit::device_class::unstable);
    // A device that is not a leaky integrator: V follows a cubic of the input.
    fit::trace odd;
    double v = 0;
    for (std::size_t t = 0; t < x.size(); ++t) {
        const double h = 0.5 * x[t] * x[t] * x[t] - 0.3 * v;
        const int s = h >= 1 ? 1 : (h <= -1 ? -1 : 0);
        v = s ? 0 : h;
        odd.push_back(x[t], h, v, s);
    }
    CHECK(fit::classify(fit::fit_signed_lif(odd)) == fit::device_class::poor_fit);
}

TEST_CASE("fit: bad traces and options give clear errors") {
    fit::trace empty;
    CHECK_THROWS_WITH_AS(fit::fit_signed_lif(empty), doctest::Contains("empty trace"), error);
    auto tr = fit::simulate(params(0.8, 0.4, 1, 1, false), random_input(100, 7));
    auto nan = tr;
    nan.h[17] = std::nan("");
    CHECK_THROWS_WITH_AS(fit::fit_signed_lif(nan), doctest::Contains("non-finite h at step 17"),
                         numeric_error);
    auto ragged = tr;
    ragged.v.pop_back();
    CHECK_THROWS_WITH_AS(fit::fit_signed_lif(ragged), doctest::Contains("differ in length"), error);
    auto zero = tr;
    std::fill(zero.x.begin(), zero.x.end(), 0.0);
    CHECK_THROWS_WITH_AS(fit::fit_signed_lif(zero), doctest::Contains("gain is not identifiable"),
                         numeric_error);
    auto badspike = tr;
    badspike.s[3] = 2;
    CHECK_THROWS_WITH_AS(fit::fit_signed_lif(badspike), doctest::Contains("step 3"), error);
    fit::fit_options o;
    o.saturation_min_gain = 1.5;
    CHECK_THROWS_WITH_AS(fit::fit_signed_lif(tr, o), doctest::Contains("saturation_min_gain"),
                         parameter_error);
}

TEST_CASE("fit: trace CSV round trip and malformed files") {
    const auto dir = test::scratch_dir("fit_trace_csv");
    const auto tr = fit::simulate(params(0.8, 0.4, 1, 0.9, false), random_input(300, 8), 0.125);
    const auto file = (dir / "t.csv").string();
    fit::write_trace_csv(file, tr);
    const auto back = fit::read_trace_csv(file);
    CHECK(back.v0 == tr.v0);
    CHECK(back.x == tr.x); // 17 significant digits round-trip doubles exactly
    CHECK(back.h == tr.h);
    CHECK(back.v == tr.v);
    CHECK(back.s == tr.s);

    auto write = [&](const std::string& name, const std::string& text) {
        std::ofstream((dir / name).string()) << text;
        return (dir / name).string();
    };
    CHECK_THROWS_WITH_AS(fit::read_trace_csv(write("a.csv", "step,x,h,v,s\n")),
                         doctest::Contains("spinfire.trace.v1"), data_error);
    const std::string head = "# spinfire.trace.v1 v0=0\nstep,x,h,v,s\n";
    CHECK_THROWS_WITH_AS(fit::read_trace_csv(write("b.csv", head)),
                         doctest::Contains("empty trace"), data_error);
    CHECK_THROWS_WITH_AS(fit::read_trace_csv(write("c.csv", head + "0,1,2,3,0\n1,1,2\n")),
                         doctest::Contains("byte 48"), data_error);
    CHECK_THROWS_WITH_AS(fit::read_trace_csv(write("d.csv", head + "0,1,2,3,5\n")),
                         doctest::Contains("spike must be"), data_error);
    CHECK_THROWS_WITH_AS(fit::read_trace_csv(write("e.csv", head + "1,1,2,3,0\n")),
                         doctest::Contains("out of order"), data_error);
    CHECK_THROWS_AS(fit::read_trace_csv((dir / "missing.csv").string()), data_error);
}

TEST_CASE("fit: fitted-neuron JSON round trip carries model, quality, spread, provenance") {
    const auto dir = test::scratch_dir("fit_json");
    const auto tr = fit::simulate(params(0.7, 0.45, 1.0, 0.8, true, 0.0), random_input(800, 10));
    const auto r = fit::fit_signed_lif(tr);
    fit::fitted_neuron f;
    f.model = r.model;
    f.quality = r.quality;
    f.spread = {0.01, 0.02, 0.03, 0.04, 0.005};
    f.device = {{"W_nm", 10.0}};
    f.protocol = {{"mechanism", "stt"}};
    const auto file = (dir / "n.json").string();
    fit::save(file, f);
    const auto g = fit::load_fitted_neuron(file);
    CHECK(io::to_json(g.model) == io::to_json(f.model));
    CHECK(io::to_json(g.quality) == io::to_json(f.quality));
    CHECK(io::to_json(g.spread) == io::to_json(f.spread));
    CHECK(g.device == f.device);
    CHECK(g.protocol == f.protocol);
    auto j = fit::to_json(f);
    j["model"]["tau"] = 3;
    CHECK_THROWS_WITH_AS(fit::fitted_neuron_from_json(j), doctest::Contains("unknown key 'tau'"),
                         error);
    // a missing model, or a missing key of it, is an error naming it (it fell back to defaults)
    j = fit::to_json(f);
    j["model"].erase("beta");
    CHECK_THROWS_WITH_AS(fit::fitted_neuron_from_json(j), doctest::Contains("'model.beta'"), error);
    j.erase("model");
    CHECK_THROWS_WITH_AS(fit::fitted_neuron_from_json(j), doctest::Contains("'model'"), error);
    { // through the file: the message names the file too
        std::ofstream(file) << j.dump();
        CHECK_THROWS_WITH_AS(fit::load_fitted_neuron(file),
                             doctest::Contains((file + ": ").c_str()), data_error);
    }
    // a "format" that is no string is refused by name (found by tests/fuzz: nlohmann's
    // type_error escaped, a message without the file)
    j = fit::to_json(f);
    j["format"] = io::json::object();
    std::ofstream(file) << j.dump();
    CHECK_THROWS_WITH_AS(fit::load_fitted_neuron(file),
                         doctest::Contains((file + ": fitted neuron: missing or unknown 'format'").c_str()),
                         data_error);
    // gain 0 is refused by name (it became a drive scale of -nan)
    j = fit::to_json(f);
    j["model"]["gain"] = 0.0;
    CHECK_THROWS_WITH_AS(fit::fitted_neuron_from_json(j), doctest::Contains("'model.gain'"),
                         parameter_error);
}
