// fit/: protocols on the LLG ensemble: the linear-regime leak against the analytic envelope
// time constant (physics.md section 1), resets, energy bookkeeping, determinism across
// scalar/SIMD paths and thread counts, failure isolation, bad input.
#include <oneapi/tbb/global_control.h>
#include <spinfire/core/constants.hpp>
#include <spinfire/core/philox.hpp>
#include <spinfire/core/threads.hpp>
#include <spinfire/device/presets.hpp>
#include <spinfire/fit/device_protocol.hpp>
#include <spinfire/fit/protocol_json.hpp>
#include <spinfire/fit/signed_lif_fit.hpp>

#include "test_support.hpp"

using namespace spinfire;

namespace {
std::vector<double> gaussian_input(std::size_t n, std::uint64_t seed) {
    rng::stream s(seed, 0);
    std::vector<double> x(n);
    for (auto& e : x) e = s.normal();
    return x;
}
fit::protocol_lane default_lane() { return {device::orthogonal_mtj(), fit::protocol{}, {}}; }
} // namespace

// Small damping-like torque along L, read along W: the linearized LLG (physics.md section 1)
// is a damped oscillator with envelope time constant tau = 2 (1 + a^2) / (a gamma (k_W + k_L)).
// Reading every 4 precession periods samples that envelope, so the fitted leak must be
// exp(-step / tau). k_W, k_L from the prism's demag factors (independent of the LLG code).
// Tolerance 3 %: the sampled phase is 4 x 3.737 GHz x 1.07 ns = 4.0 periods to 0.1 %, and
// the small-signal picture neglects O(m^2) terms (|m_W| < 0.02 here).
TEST_CASE("protocol: linear-regime leak matches the analytic envelope time constant") {
    auto lane = default_lane();
    lane.proto.drive_per_unit = 0.5e-3; // well inside the linear range
    const auto x = gaussian_input(60, 11);
    const auto r = fit::run_protocol(std::span(&lane, 1), x).front();
    REQUIRE(r.failure.empty());
    const auto& d = lane.device;
    const auto n = device::prism_demag(d.width, d.length, d.height);
    const double kw = constants::mu0 * d.Ms * (n.x - n.z), kl = constants::mu0 * d.Ms * (n.y - n.z);
    const double tau = 2 * (1 + d.alpha * d.alpha) / (d.alpha * d.gamma * (kw + kl));
    const auto f = fit::fit_signed_lif(r.tr);
    CHECK(f.model.beta ==
          doctest::Approx(std::exp(-lane.proto.step_ns * 1e-9 / tau)).epsilon(0.03));
    CHECK(f.model.gain > 0); // spin direction -L gives m_W = +a / k_W
    CHECK(f.one_step_r2 > 0.99);
}

TEST_CASE("protocol: ideal reset puts V back to its initial value, relax leaves it") {
    auto lane = default_lane();
    lane.proto.theta_pos = lane.proto.theta_neg = 0.5; // fires often
    const auto x = gaussian_input(40, 12);
    const auto r = fit::run_protocol(std::span(&lane, 1), x).front();
    REQUIRE(r.failure.empty());
    long spikes = 0;
    for (std::size_t t = 0; t < x.size(); ++t) {
        if (r.tr.s[t] == 0) {
            CHECK(r.tr.v[t] == r.tr.h[t]); // no reset window: nothing happens after the read
            continue;
        }
        ++spikes;
        CHECK(r.tr.v[t] == doctest::Approx(r.tr.v0).epsilon(1e-12)); // m = m0 exactly
        CHECK((r.tr.s[t] > 0 ? r.tr.h[t] >= 0.5 : r.tr.h[t] <= -0.5));
    }
    CHECK(spikes > 3);
    lane.proto.reset = fit::reset_mode::relax;
    const auto q = fit::run_protocol(std::span(&lane, 1), x).front();
    CHECK(q.tr.v == q.tr.h);
}

TEST_CASE("protocol: SOT input energy is sum of I^2 R_line t_pulse, pulse reset costs energy") {
    auto lane = default_lane();
    const auto x = gaussian_input(20, 13);
    const auto r = fit::run_protocol(std::span(&lane, 1), x).front();
    // Spin direction along y: the current runs along x (W) through a line L wide, 5 nm thick.
    const double r_line =
        lane.line.resistivity * lane.device.width / (lane.device.length * lane.line.thickness);
    double expect = 0;
    for (double xi : x)
        expect += std::pow(xi * lane.proto.drive_per_unit, 2) * r_line * lane.proto.pulse_ns * 1e-9;
    CHECK(r.input_energy == doctest::Approx(expect).epsilon(1e-12));
    CHECK(r.reset_energy == 0);
    CHECK(r.read_energy > 0);
    // Read energy bounds: R lies between R_P and R_AP.
    const auto ro = device::mtj_readout(lane.device);
    const double per_read =
        lane.proto.read_current * lane.proto.read_current * lane.proto.read_ns * 1e-9;
    CHECK(r.read_energy >= double(x.size()) * per_read / ro.g_p * (1 - 1e-12));
    CHECK(r.read_energy <= double(x.size()) * per_read / ro.g_ap * (1 + 1e-12));

    lane.proto.reset = fit::reset_mode::pulse;
    lane.proto.reset_ns = 0.1;
    lane.proto.reset_drive = 1.0;
    lane.proto.theta_pos = lane.proto.theta_neg = 0.5;
    const auto p = fit::run_protocol(std::span(&lane, 1), x).front();
    REQUIRE(p.spikes() > 0);
    CHECK(p.reset_energy ==
          doctest::Approx(double(p.spikes()) * std::pow(lane.proto.drive_per_unit, 2) * r_line *
                          0.1e-9)
              .epsilon(1e-12));
}

// STT energy integrates I^2 R(theta(t)): with a small drive m stays near +z, perpendicular to
// the pinned axis x, where G = (G_P + G_AP) / 2; the deflection changes R only at second
// order in m_W (|m_W| < 1e-3 here), so the sum of I^2 R_90 t_pulse must match to 1e-3.
TEST_CASE("protocol: STT input energy is int I^2 R(theta) dt through the junction") {
    auto lane = default_lane();
    lane.proto.input = fit::mechanism::stt;
    lane.proto.drive_per_unit = 0.1e-3;
    const auto x = gaussian_input(20, 17);
    const auto r = fit::run_protocol(std::span(&lane, 1), x).front();
    const auto ro = device::mtj_readout(lane.device);
    const double r90 = 2 / (ro.g_p + ro.g_ap);
    double expect = 0;
    for (double xi : x)
        expect += std::pow(xi * lane.proto.drive_per_unit, 2) * r90 * lane.proto.pulse_ns * 1e-9;
    CHECK(r.input_energy == doctest::Approx(expect).epsilon(1e-3));

    // Integrated over the trajectory, not assumed: a free layer held on the pinned axis (easy
    // axis W, m = +-W, polarizer W: a fixed point where every torque vanishes exactly) costs
    // I^2 R_P parallel and I^2 R_AP antiparallel, 2.5x apart at TMR 150 %.
    for (const double side : {1.0, -1.0}) {
        auto held = lane;
        held.device.easy_axis = {1, 0, 0};
        held.device.m0 = {side, 0, 0};
        held.proto.polarizer = {1, 0, 0};
        const auto h = fit::run_protocol(std::span(&held, 1), x).front();
        REQUIRE(h.failure.empty());
        const double r_held = side > 0 ? 1 / ro.g_p : 1 / ro.g_ap;
        double e = 0;
        for (double xi : x)
            e += std::pow(xi * held.proto.drive_per_unit, 2) * r_held * held.proto.pulse_ns * 1e-9;
        CHECK(h.input_energy == doctest::Approx(e).epsilon(1e-9));
    }
}

// SOT through the heavy-metal line, sign and size (physics.md sections 1 and 2): a DC current
// I along W with spin direction sigma = s L gives the damping-like field
// B_DL = hbar theta_SH J / (2 e Ms t_F), J = I / (L t_HM), t_F the free layer's T; the
// linearized LLG about +T then settles at m_W = -s B_DL / k_W, m_L = 0, with
// k_W = mu0 Ms (N_W - N_T). 0.1 mA gives |m_W| ~ 1e-3, where O(m^2) terms are ~1e-6;
// 40 ns is 27 envelope times, so the transient has decayed to e^-27.
TEST_CASE("protocol: SOT drive settles at the analytic small-signal deflection, with its sign") {
    const auto d = device::orthogonal_mtj();
    const fit::sot_line line;
    const double current = 0.1e-3;
    const auto n = device::prism_demag(d.width, d.length, d.height);
    const double kw = constants::mu0 * d.Ms * (n.x - n.z);
    const double j = current / (d.length * line.thickness);
    const double b_dl =
        constants::hbar * line.spin_hall_angle * j / (2 * constants::e * d.Ms * d.height);
    for (const double s : {-1.0, 1.0}) {
        fit::protocol pr;
        pr.polarizer = {0, s, 0};
        llg::ensemble<fit::protocol_system> ens(1, fit::lane_params(d, pr, line), d.m0,
                                                llg::drive::dc(current));
        llg::run_options o;
        o.dt = 0.5e-12;
        o.steps = 80000;
        ens.run(o);
        const auto m = ens.m(0);
        CAPTURE(s);
        CHECK(m.x == doctest::Approx(-s * b_dl / kw).epsilon(1e-4));
        CHECK(std::abs(m.y) < 1e-2 * std::abs(m.x));
    }
}

TEST_CASE("protocol: SIMD, scalar and 1 vs 2 threads give the same traces (thermal lanes too)") {
    std::vector<fit::protocol_lane> lanes;
    for (int i = 0; i < 6; ++i) {
        auto l = default_lane();
        l.device.width = (9.5 + 0.2 * i) * 1e-9;
        l.device.temperature = i % 2 ? 300.0 : 0.0;
        lanes.push_back(l);
    }
    const auto x = gaussian_input(8, 14);
    fit::run_settings one, simd_off;
    simd_off.simd = false;
    std::vector<fit::protocol_response> a, b, c;
    {
        threads t(1);
        a = fit::run_protocol(lanes, x, one);
        b = fit::run_protocol(lanes, x, simd_off);
    }
    {
        threads t(2);
        c = fit::run_protocol(lanes, x, one);
    }
    for (std::size_t i = 0; i < lanes.size(); ++i) {
        CHECK(a[i].tr.h == c[i].tr.h); // chunking and threads do not change a lane: bitwise
        CHECK(a[i].input_energy == c[i].input_energy);
        for (std::size_t t = 0; t < x.size(); ++t)
            CHECK(a[i].tr.h[t] == doctest::Approx(b[i].tr.h[t]).epsilon(1e-9)); // FMA contraction
    }
}

TEST_CASE("protocol: a failing lane is isolated and reported, the others are unchanged") {
    std::vector<fit::protocol_lane> lanes(2, default_lane());
    lanes[1].proto.drive_per_unit = 1e3; // 1 kA: the explicit step cannot follow
    const auto x = gaussian_input(3, 15);
    const auto r = fit::run_protocol(lanes, x);
    CHECK(r[0].failure.empty());
    CHECK_FALSE(r[1].failure.empty());
    const auto alone = fit::run_protocol(std::span(lanes.data(), 1), x).front();
    CHECK(alone.tr.h == r[0].tr.h);
}

TEST_CASE("protocol: bad protocols and inputs give clear errors") {
    auto lane = default_lane();
    const auto x = gaussian_input(3, 16);
    CHECK_THROWS_WITH_AS(fit::run_protocol(std::span(&lane, 1), std::vector<double>{}),
                         doctest::Contains("input"), parameter_error);
    CHECK_THROWS_WITH_AS(
        fit::run_protocol(std::span(&lane, 1), std::vector<double>{1.0, std::nan("")}),
        doctest::Contains("step 1"), parameter_error);
    auto bad = lane;
    bad.proto.pulse_ns = 0.5003;
    CHECK_THROWS_WITH_AS(fit::run_protocol(std::span(&bad, 1), x),
                         doctest::Contains("multiple of dt_ps"), parameter_error);
    bad = lane;
    bad.proto.pulse_ns = 1.2;
    CHECK_THROWS_WITH_AS(fit::run_protocol(std::span(&bad, 1), x),
                         doctest::Contains("must not exceed step_ns"), parameter_error);
    bad = lane;
    bad.proto.readout = {1, 1, 0};
    CHECK_THROWS_WITH_AS(fit::run_protocol(std::span(&bad, 1), x),
                         doctest::Contains("protocol.readout"), parameter_error);
    bad = lane;
    bad.proto.polarizer = {0, 0, 1};
    CHECK_THROWS_WITH_AS(fit::run_protocol(std::span(&bad, 1), x),
                         doctest::Contains("SOT spin direction"), parameter_error);
    std::vector<fit::protocol_lane> two(2, lane);
    two[1].proto.step_ns = 2.14;
    CHECK_THROWS_WITH_AS(fit::run_protocol(two, x), doctest::Contains("lane 1"), parameter_error);
    bad = lane;
    bad.device.Ms = -1;
    CHECK_THROWS_WITH_AS(fit::run_protocol(std::span(&bad, 1), x), doctest::Contains("Ms"),
                         parameter_error);
    // Protocol JSON: round trip and unknown keys.
    const auto j = fit::to_json(lane.proto);
    CHECK(fit::to_json(fit::protocol_from_json(j)) == j);
    auto k = j;
    k["pulse_width"] = 1;
    CHECK_THROWS_WITH_AS(fit::protocol_from_json(k), doctest::Contains("unknown key 'pulse_width'"),
                         error);
    k = j;
    k["input"] = "magic";
    CHECK_THROWS_WITH_AS(fit::protocol_from_json(k), doctest::Contains("unknown mechanism"), error);
}

// ---- sweeps, variability, export -------------------------------------------------------------
#include <spinfire/fit.hpp>

namespace {
fit::sweep_config small_sweep_config() {
    fit::sweep_config c;
    c.steps = 60;
    c.chunk = 6; // two chunks (split at the temperature change), each two SIMD blocks
    return c;
}
fit::sweep_grid small_grid() {
    fit::sweep_grid g;
    g.width_nm = {9, 10, 11};
    g.amplitude = {1.0e-3, 1.5e-3};
    g.temperature = {0, 300};
    return g;
}
} // namespace

TEST_CASE("sweep: identical CSV rows with 1 and 2 threads, CSV round trip") {
    const auto c = small_sweep_config();
    const auto g = small_grid();
    REQUIRE(fit::grid_size(g) == 12);
    std::vector<fit::sweep_row> a, b;
    std::size_t calls = 0;
    {
        threads t(1);
        a = fit::run_sweep(c, g, [&](std::size_t done, std::size_t total) {
            ++calls;
            CHECK(done <= total);
        });
    }
    {
        threads t(2);
        b = fit::run_sweep(c, g);
    }
    CHECK(calls == 2); // chunks of 6 points
    REQUIRE(a.size() == 12);
    for (std::size_t i = 0; i < a.size(); ++i)
        CHECK(fit::to_csv_line(a[i]) == fit::to_csv_line(b[i]));
    // Grid order: width fastest, temperature slowest.
    CHECK(a[1].point.width_nm == 10);
    CHECK(a[3].point.amplitude == 1.5e-3);
    CHECK(a[6].point.temperature == 300);
    // The nominal point at 0 K is a signed LIF (the default protocol's design point).
    CHECK(a[4].failure.empty());
    CHECK(a[4].model.beta > 0.3);
    CHECK(a[4].model.beta < 0.7);

    const auto dir = test::scratch_dir("fit_sweep");
    const auto file = (dir / "sweep.csv").string();
    fit::write_sweep_csv(file, a);
    const auto back = fit::read_sweep_csv(file);
    REQUIRE(back.size() == a.size());
    for (std::size_t i = 0; i < a.size(); ++i)
        CHECK(fit::to_csv_line(back[i]) == fit::to_csv_line(a[i]));

    const auto msg = fit::write_heatmap(a, "width_nm", "amplitude", (dir / "heat").string());
    CHECK(std::filesystem::exists(dir / "heat.dat"));
    CHECK(std::filesystem::exists(dir / "heat.gp"));
    MESSAGE(msg);
    CHECK_THROWS_WITH_AS(fit::write_heatmap(a, "width", "amplitude", (dir / "x").string()),
                         doctest::Contains("unknown axis 'width'"), parameter_error);

    std::ofstream((dir / "bad.csv").string()) << "index,width_nm\n1,2\n";
    CHECK_THROWS_WITH_AS(fit::read_sweep_csv((dir / "bad.csv").string()),
                         doctest::Contains("header"), data_error);
    std::string text;
    {
        std::ifstream in(file);
        std::getline(in, text);
        text += "\n1,abc\n";
    }
    std::ofstream((dir / "bad2.csv").string()) << text;
    CHECK_THROWS_WITH_AS(fit::read_sweep_csv((dir / "bad2.csv").string()),
                         doctest::Contains("cells"), data_error);
}

TEST_CASE("sweep: a grid with zero points, a non-finite axis or bad JSON is refused") {
    auto g = small_grid();
    g.alpha.clear();
    CHECK_THROWS_WITH_AS(fit::grid_size(g), doctest::Contains("grid.alpha"), parameter_error);
    CHECK_THROWS_AS(fit::run_sweep(small_sweep_config(), g), parameter_error);
    g = small_grid();
    g.height_nm = {50, std::nan("")};
    CHECK_THROWS_WITH_AS(fit::grid_size(g), doctest::Contains("grid.height_nm"), parameter_error);
    // Grid JSON: round trip; unknown axes are named.
    const auto j = io::to_json(small_grid());
    fit::sweep_grid h;
    io::from_json(j, h, "grid");
    CHECK(io::to_json(h) == j);
    auto k = j;
    k["depth_nm"] = {1, 2};
    CHECK_THROWS_WITH_AS(io::from_json(k, h, "grid"), doctest::Contains("unknown key 'depth_nm'"),
                         error);
}

TEST_CASE("variability: identical devices give no spread, tolerances give spread and errors") {
    std::vector<double> x(40);
    rng::stream s(21, 0);
    for (auto& e : x) e = s.normal();
    fit::variability_spec none;
    none.dimension_tol_nm = 0, none.ku_sigma = 0, none.ms_rel_sigma = 0, none.temperature = 0;
    none.devices = 4;
    const fit::protocol p;
    const auto r0 = fit::run_variability(device::orthogonal_mtj(), p, none, x);
    REQUIRE(r0.fits.size() == 4);
    CHECK(r0.beta.std == 0);
    CHECK(r0.spread.gain_rel == 0);
    CHECK(r0.sign_error_rate == 0);
    // Every device is the nominal one: its fit is the nominal fit.
    CHECK(r0.beta.mean == doctest::Approx(r0.nominal.model.beta).epsilon(1e-12));

    fit::variability_spec spec;
    spec.devices = 8;
    const auto r = fit::run_variability(device::orthogonal_mtj(), p, spec, x);
    CHECK(r.fits.size() + r.failures.size() == 8);
    CHECK(r.beta.std > 0);
    CHECK(r.spread.gain_rel > 0);
    CHECK(r.read_noise.mean > 0); // 300 K: the membrane jitters
    const auto j = fit::to_json(r);
    CHECK(j.contains("sign_error_rate"));
}

TEST_CASE("export: fitted-neuron file from a device fit loads back, non-LIF fits are refused") {
    const auto dir = test::scratch_dir("fit_export");
    auto lane = default_lane();
    const auto x = gaussian_input(60, 22);
    const auto r = fit::run_protocol(std::span(&lane, 1), x).front();
    const auto f = fit::fit_signed_lif(r.tr);
    const auto n = fit::make_fitted_neuron(f, lane.device, lane.proto, {0.1, 0.1, 0.1, 0.1, 0.01});
    fit::save((dir / "n.json").string(), n);
    const auto back = fit::load_fitted_neuron((dir / "n.json").string());
    CHECK(back.model.beta == f.model.beta);
    CHECK(back.device.at("width") == lane.device.width);
    CHECK(fit::protocol_from_json(back.protocol).step_ns == lane.proto.step_ns);
    auto bad = f;
    bad.model.beta = 1.2;
    CHECK_THROWS_WITH_AS(fit::make_fitted_neuron(bad, lane.device, lane.proto),
                         doctest::Contains("model.beta"), parameter_error);
}

// physics.md section 1: the 10 x 45 x 50 nm prism precesses at about 3.737 GHz at zero field
// (Kittel with the Aharoni factors; gamma' = gamma / (1 + alpha^2) changes it by 1e-4).
TEST_CASE("sweep: precession-matched steps follow each device's Kittel frequency") {
    const auto d = device::orthogonal_mtj();
    CHECK(fit::kittel_frequency(d) == doctest::Approx(3.737e9).epsilon(1e-3));
    auto flat = d;
    flat.length = 60e-9; // L > T: the shape easy axis leaves z
    CHECK_THROWS_WITH_AS(fit::kittel_frequency(flat), doctest::Contains("not a stable equilibrium"),
                         parameter_error);
    auto c = small_sweep_config();
    c.steps = 20;
    c.match_periods = 4;
    fit::sweep_grid g;
    g.width_nm = {9, 10};
    g.length_nm = {45, 60};
    const auto rows = fit::run_sweep(c, g);
    REQUIRE(rows.size() == 4);
    for (int i : {0, 1}) {
        const auto dev = fit::sweep_lane(c, rows[std::size_t(i)].point).device;
        CHECK(rows[std::size_t(i)].step_ns ==
              doctest::Approx(4 / fit::kittel_frequency(dev) * 1e9).epsilon(1e-3));
        CHECK(rows[std::size_t(i)].failure.empty());
    }
    CHECK(rows[0].step_ns != rows[1].step_ns);
    CHECK_FALSE(rows[2].failure.empty()); // L = 60 nm: nothing to match
    CHECK(rows[2].cls == fit::device_class::unstable);
}
