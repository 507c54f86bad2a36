// neuron/llg_population.hpp (device in the loop) against independent implementations: the
// same devices run through llg::ensemble by fit::run_protocol, the fitted signed LIF of the
// committed file on the fit's own input, and itself under other thread counts.
#include <spinfire/core/threads.hpp>
#include <spinfire/device/presets.hpp>
#include <spinfire/fit/device_protocol.hpp>
#include <spinfire/fit/fitted_neuron.hpp>
#include <spinfire/fit/protocol_json.hpp>
#include <spinfire/fit/sweep.hpp>
#include <spinfire/fit/variability.hpp>
#include <spinfire/neuron/llg_population.hpp>
#include <spinfire/neuron/mtj_signed_lif.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "test_support.hpp"

using namespace spinfire;

namespace {

using system_t = fit::protocol_system;

std::vector<double> normal_sequence(std::size_t steps, std::uint64_t seed) {
    fit::sweep_config c;
    c.steps = steps, c.input_seed = seed;
    return fit::sweep_input(c);
}

/// n devices drawn around the preset (W/L/T +-tol, Ms spread) at temperature k.
std::vector<device::mtj> chip(std::size_t n, double tol_nm, double kelvin) {
    fit::variability_spec spec;
    spec.dimension_tol_nm = tol_nm, spec.ku_sigma = 0, spec.ms_rel_sigma = 0.02;
    spec.temperature = kelvin, spec.seed = 5;
    std::vector<device::mtj> out;
    for (std::size_t i = 0; i < n; ++i)
        out.push_back(fit::draw_device(device::orthogonal_mtj(), spec, i));
    return out;
}

neuron::llg_population<system_t, double> population_of(const std::vector<device::mtj>& devs,
                                                       const fit::protocol& p, std::uint64_t seed) {
    std::vector<system_t::params<double>> lp;
    std::vector<neuron::device_energy> en;
    for (const auto& d : devs) {
        lp.push_back(fit::lane_params(d, p));
        en.push_back({p.input, 0, device::mtj_readout(d)});
    }
    return {p, devs.size(), lp, devs.front().m0, en, 1.0, seed};
}

} // namespace

TEST_CASE("llg neuron: a layer gives exactly what llg::ensemble gives for the same devices") {
    // 37 neurons (not a multiple of the SIMD group), two samples with different inputs;
    // sample 1 uses noise streams n + i, i.e. run_protocol with first_stream = n. A sanitizer
    // build runs 8 of the 24 steps.
    const std::size_t n = 37, steps = test::sanitizer_build ? 8 : 24;
    for (const double kelvin : {0.0, 300.0}) {
        CAPTURE(kelvin);
        const auto devs = chip(n, 1.0, kelvin);
        fit::protocol p;
        p.reset = fit::reset_mode::ideal;
        auto pop = population_of(devs, p, 9);
        CHECK(pop.thermal() == (kelvin > 0));
        const auto x0 = normal_sequence(steps, 3), x1 = normal_sequence(steps, 4);
        std::vector<double> x(steps * 2 * n), h(steps * 2 * n);
        std::vector<float> y(steps * 2 * n);
        for (std::size_t t = 0; t < steps; ++t)
            for (std::size_t i = 0; i < n; ++i)
                x[(t * 2 + 0) * n + i] = x0[t], x[(t * 2 + 1) * n + i] = x1[t];
        pop.forward(steps, steps, 2, x.data(), y.data(), h.data(), 0);

        std::vector<fit::protocol_lane> lanes;
        for (const auto& d : devs) lanes.push_back({d, p, {}});
        for (std::size_t b = 0; b < 2; ++b) {
            fit::run_settings rs;
            rs.seed = 9, rs.first_stream = b * n;
            const auto ref = fit::run_protocol(lanes, b ? x1 : x0, rs);
            long spikes = 0;
            for (std::size_t i = 0; i < n; ++i) {
                REQUIRE(ref[i].failure.empty());
                for (std::size_t t = 0; t < steps; ++t) {
                    const std::size_t at = (t * 2 + b) * n + i;
                    CHECK(h[at] == doctest::Approx(ref[i].tr.h[t]).epsilon(1e-9));
                    CHECK(int(y[at]) == ref[i].tr.s[t]);
                    spikes += ref[i].tr.s[t] != 0;
                }
            }
            CHECK(spikes > 0); // the comparison covers resets, not only silent steps
        }
    }
}

TEST_CASE("llg neuron: on the fit's input, spikes agree with the fitted model as the file says") {
    const std::string file =
        std::string(SPINFIRE_SOURCE_DIR) + "/docs/results/orthogonal_mtj_fitted.json";
    const auto f = fit::load_fitted_neuron(file);
    const auto proto = fit::protocol_from_json(f.protocol);
    const auto dev = device::orthogonal_mtj();
    const auto x = normal_sequence(400, 1); // fit_signed_lif's default input (400 steps, seed 1)
    // The fitted model, scalar, from v0 = 0 (m0 . readout = 0).
    const auto mp = neuron::mtj_signed_lif::from_fit<double>(f);
    neuron::mtj_signed_lif::state<double> st{0.0};
    std::vector<int> model(x.size());
    for (std::size_t t = 0; t < x.size(); ++t)
        model[t] = int(neuron::mtj_signed_lif::step(mp, st, x[t]));

    auto run = [&]<class Real>(Real) {
        neuron::llg_population<system_t, Real> pop(proto, 1, {fit::lane_params(dev, proto)},
                                                   dev.m0);
        std::vector<float> y(x.size());
        pop.forward(x.size(), x.size(), 1, x.data(), y.data());
        std::vector<int> s(x.size());
        for (std::size_t t = 0; t < x.size(); ++t) s[t] = int(y[t]);
        return s;
    };
    const auto sd = run(double{}), sf = run(float{});
    auto agreement = [&](const std::vector<int>& s) {
        std::size_t same = 0;
        for (std::size_t t = 0; t < x.size(); ++t) same += s[t] == model[t];
        return double(same) / double(x.size());
    };
    MESSAGE("agreement with the fitted model: double " << agreement(sd) << ", float "
                                                       << agreement(sf) << ", file "
                                                       << f.quality.spike_agreement);
    CHECK(agreement(sd) >= f.quality.spike_agreement - 1e-12);
    CHECK(agreement(sf) >= f.quality.spike_agreement - 1e-12);
    std::size_t spikes = 0, differ = 0;
    for (std::size_t t = 0; t < x.size(); ++t) spikes += sd[t] != 0, differ += sd[t] != sf[t];
    CHECK(spikes == std::size_t(f.quality.device_spikes)); // the device the file was fitted to
    CHECK(differ == 0);                                    // float lanes: the same spikes
}

TEST_CASE("llg neuron: 1 and 2 threads, serial and parallel, and batch splits agree bitwise") {
    const std::size_t n = 70, steps = 5, batch = 3;
    const auto devs = chip(n, 1.0, 300.0);
    fit::protocol p;
    auto pop = population_of(devs, p, 2);
    std::vector<double> x(batch * n);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37 * double(i)) * 1.5;
    auto run = [&](std::size_t nthreads, bool parallel) {
        threads t(nthreads);
        std::vector<float> y(steps * batch * n);
        std::vector<double> h(y.size());
        pop.forward(steps, 1, batch, x.data(), y.data(), h.data(), 10, parallel);
        return h;
    };
    const auto a = run(1, true), b = run(2, true), c = run(2, false);
    CHECK(a == b);
    CHECK(a == c);
    // Sample 2 alone, as global sample 12: the same reads as inside the batch.
    std::vector<float> y(steps * n);
    std::vector<double> h(steps * n);
    pop.forward(steps, 1, 1, x.data() + 2 * n, y.data(), h.data(), 12);
    for (std::size_t t = 0; t < steps; ++t)
        for (std::size_t i = 0; i < n; ++i) CHECK(h[t * n + i] == a[(t * batch + 2) * n + i]);
}

TEST_CASE("llg neuron: energy is I^2 R_line t_pulse per drive plus I_read^2 R t_read per read") {
    const auto dev = device::orthogonal_mtj();
    fit::protocol p; // SOT
    const double r_line = 123.0;
    const auto ro = device::mtj_readout(dev);
    neuron::llg_population<system_t, double> pop(p, 1, {fit::lane_params(dev, p)}, dev.m0,
                                                 {{fit::mechanism::sot, r_line, ro}});
    const std::vector<double> x = {0.5, -1.0, 0.0};
    std::vector<float> y(3);
    pop.forward(3, 3, 1, x.data(), y.data());
    const double i2 = (0.25 + 1.0) * p.drive_per_unit * p.drive_per_unit;
    CHECK(pop.stats().drive_energy ==
          doctest::Approx(i2 * r_line * p.pulse_ns * 1e-9).epsilon(1e-12));
    // Reads: m stays near +z (m . pinned ~ 0), so R is close to the 90-degree resistance.
    const double r90 = ro.resistance({0, 0, 1});
    CHECK(pop.stats().read_energy ==
          doctest::Approx(3 * p.read_current * p.read_current * r90 * p.read_ns * 1e-9)
              .epsilon(0.05));
    CHECK(pop.stats().device_steps == 3 * p.substeps_per_step());
}

TEST_CASE("llg neuron: bad settings are refused before any simulation") {
    const auto dev = device::orthogonal_mtj();
    fit::protocol p;
    const auto lp = fit::lane_params(dev, p);
    using pop_t = neuron::llg_population<system_t, float>;
    CHECK_THROWS_WITH_AS(pop_t(p, 4, {lp, lp}, dev.m0), doctest::Contains("devices"),
                         parameter_error);
    CHECK_THROWS_AS(pop_t(p, 0, {lp}, dev.m0), parameter_error);
    auto bad = p;
    bad.readout = {0, 0, 0};
    CHECK_THROWS_WITH_AS(pop_t(bad, 1, {lp}, dev.m0), doctest::Contains("readout"),
                         parameter_error);
    auto neg = lp;
    neg.alpha = -0.1;
    CHECK_THROWS_WITH_AS(pop_t(p, 2, {lp, neg}, dev.m0), doctest::Contains("neuron 1"),
                         parameter_error);
    pop_t ok(p, 1, {lp}, dev.m0);
    std::vector<float> x(2), y(2);
    CHECK_THROWS_AS(ok.forward(2, 0, 1, x.data(), y.data()), parameter_error);
    // A tolerance that reaches a dimension is not a spread.
    fit::variability_spec spec;
    spec.dimension_tol_nm = 10;
    CHECK_THROWS_WITH_AS(fit::validate_spread(dev, spec), doctest::Contains("dimension_tol_nm"),
                         parameter_error);
    spec.dimension_tol_nm = 1, spec.temperature = -1;
    CHECK_THROWS_WITH_AS(fit::validate_spread(dev, spec), doctest::Contains("temperature"),
                         parameter_error);
}
