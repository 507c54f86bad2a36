// llg/: the analytic checks of physics.md section 3 (precession and relaxation, Kittel,
// Stoner-Wohlfarth, STT instability, Boltzmann averages, Neel-Brown dwell times, small-signal
// STT response). Each truth is computed here independently of the integrators (closed forms
// or one-dimensional quadrature); tolerances are justified next to each check.
#include <spinfire/device.hpp>
#include <spinfire/llg.hpp>

#include <cmath>
#include <numbers>

#include "test_support.hpp"

using namespace spinfire;
namespace c = spinfire::constants;

namespace {
constexpr double pi = std::numbers::pi;

vec3<double> spherical(double theta, double phi) {
    return {std::sin(theta) * std::cos(phi), std::sin(theta) * std::sin(phi), std::cos(theta)};
}

// Composite Simpson rule on [a, b] with n (even) intervals.
template <class F>
double simpson(F f, double a, double b, int n = 4000) {
    const double h = (b - a) / n;
    double s = f(a) + f(b);
    for (int i = 1; i < n; ++i) s += f(a + i * h) * (i % 2 ? 4 : 2);
    return s * h / 3;
}
} // namespace

TEST_CASE("damped precession in a static field follows the closed-form solution") {
    using sys = llg::system<llg::zeeman>;
    sys::params<double> p;
    const double B = 0.1;
    p.alpha = 0.1;
    p.term<llg::zeeman>().b = {0, 0, B};
    const double gp = p.gamma / (1 + p.alpha * p.alpha);
    // physics.md: B = 0.1 T, alpha = 0.1 precesses at 2.77475 GHz.
    CHECK(gp * B / (2 * pi) == doctest::Approx(2.77475e9).epsilon(2e-6));

    const double th0 = 2.0, ph0 = 0.3, mz0 = std::cos(th0);
    auto exact = [&](double t) {
        const double mz = std::tanh(p.alpha * gp * B * t + std::atanh(mz0));
        const double ph = ph0 + gp * B * t;
        const double s = std::sqrt(1 - mz * mz);
        return vec3<double>{s * std::cos(ph), s * std::sin(ph), mz};
    };

    llg::ensemble<sys> ens(1, p, spherical(th0, ph0));
    llg::run_options o;
    o.dt = 1e-13;
    o.steps = 10000; // 1 ns: 2.8 turns, m_z from -0.42 to +0.70
    o.record_every = 500;
    o.simd = false;
    const auto r = ens.run(o);
    double worst = 0;
    for (std::size_t k = 0; k < r.trace.records; ++k)
        worst = std::max(worst, norm(r.trace.m(0, k) - exact(r.trace.time(k))));
    // RK4 global error ~ t omega^5 dt^4 / 120 per unit time ~ 1e-13 here; renormalization
    // and rounding over 1e4 steps add ~1e-13. 1e-11 leaves margin yet catches any O(dt) slip.
    CHECK(worst < 1e-11);

    // The adaptive Dormand-Prince path reaches the same answer within its tolerance budget.
    std::vector<double> outs;
    for (int k = 1; k <= 10; ++k) outs.push_back(k * 1e-10);
    llg::adaptive_options ao;
    ao.tolerance = 1e-11;
    const auto a = llg::solve_adaptive<sys>(p, spherical(th0, ph0), llg::drive::dc(0), 0, outs, ao);
    double worst_a = 0;
    for (std::size_t k = 0; k < outs.size(); ++k)
        worst_a = std::max(worst_a, norm(a.m[k] - exact(a.t[k])));
    // Local error control at 1e-11 over ~100 accepted steps: global error well below 1e-8.
    CHECK(worst_a < 1e-8);
    CHECK(a.accepted < 2000); // adaptive: far fewer steps than the 1e4 fixed ones
}

TEST_CASE("Kittel frequency of the 10 x 45 x 50 nm prism, with and without a bias field") {
    auto d = device::orthogonal_mtj();
    d.alpha = 0; // undamped: the frequency is exactly the linearized one
    const auto N = device::demag_factors(d);
    const double bms = c::mu0 * d.Ms;
    const double b_bias[2] = {0.0, 0.05};
    auto p0 = device::llg_params(d);
    llg::ensemble<device::mtj_system> ens(2, p0, spherical(1e-3, 0));
    for (int i = 0; i < 2; ++i) {
        auto di = d;
        di.b_ext = {0, 0, b_bias[i]};
        ens.set_params(std::size_t(i), device::llg_params(di));
    }
    llg::run_options o;
    o.dt = 1e-13;
    o.steps = 50000; // 5 ns, ~19 periods
    o.events = {{{1, 0, 0}, 0.0, +1}};
    const auto r = ens.run(o);
    for (int i = 0; i < 2; ++i) {
        const auto& ev = r.events[std::size_t(i)];
        REQUIRE(ev.size() > 10);
        const double period = (ev.back().time - ev.front().time) / double(ev.size() - 1);
        const double B = b_bias[i];
        const double f =
            d.gamma * std::sqrt((B + bms * (N.x - N.z)) * (B + bms * (N.y - N.z))) / (2 * pi);
        // Amplitude 1e-3 rad: nonlinear shift ~1e-6; crossings are interpolated where m_x is
        // linear in t (curvature vanishes at a zero of a sinusoid): 1e-5 relative is ample.
        CHECK(1 / period == doctest::Approx(f).epsilon(1e-5));
        if (i == 0) CHECK(f == doctest::Approx(3.737e9).epsilon(1e-3)); // physics.md value
    }
}

TEST_CASE("Stoner-Wohlfarth switching fields under a slow field ramp") {
    using sys = llg::system<llg::uniaxial, llg::driven_field>;
    const double bk = 0.1;
    const double psis_deg[] = {10, 30, 45, 60, 80};
    const std::size_t n = std::size(psis_deg);
    sys::params<double> p;
    p.alpha = 1; // heavily damped: quasi-static
    p.term<llg::uniaxial>() = {bk, {0, 0, 1}};
    // The drive is the reduced field h = B / B_K, ramped from 0.3 to 1.0 over 400 ns.
    const double t_ramp = 400e-9, h0 = 0.3, h1 = 1.0;
    const auto ramp = llg::drive::sampled(0, t_ramp, {h0, h1}, true);
    llg::ensemble<sys> ens(n, p, {0, 0, 1}, ramp);
    for (std::size_t i = 0; i < n; ++i) {
        const double psi = psis_deg[i] * pi / 180;
        ens.params(i).term<llg::driven_field>().b_per_drive = {bk * std::sin(psi), 0,
                                                               -bk * std::cos(psi)};
    }
    llg::run_options o;
    o.dt = 2e-12;
    o.steps = std::size_t(t_ramp / o.dt);
    o.events = {{{0, 0, 1}, 0.0, -1}};
    o.stop_after = 1;
    const auto r = ens.run(o);
    for (std::size_t i = 0; i < n; ++i) {
        const double psi = psis_deg[i] * pi / 180;
        const double h_sw =
            1 / std::pow(std::pow(std::cos(psi), 2.0 / 3) + std::pow(std::sin(psi), 2.0 / 3), 1.5);
        REQUIRE(r.events[i].size() == 1);
        const double h = ramp(r.events[i][0].time);
        // The ramp (dh/d(gamma' B_K t) ~ 2e-4) delays the saddle-node escape by ~rate^(2/3)
        // ~ 3e-3 plus ~1 ns of transit to m_z = 0 (~2e-3): the field seen is slightly above
        // h_sw, never below it.
        CHECK(h > h_sw - 1e-3);
        CHECK(h < h_sw * 1.015);
        MESSAGE("psi " << psis_deg[i] << " deg: h_sw " << h_sw << ", simulated " << h);
    }
}

TEST_CASE("STT instability threshold |a_J| = alpha B_K and the linear growth rate") {
    // Free layer and polarizer along the easy axis z; a_J < -alpha B_K destabilizes +z.
    using sys = llg::system<llg::uniaxial, llg::slonczewski>;
    const double bk = 0.5, alpha = 0.02;
    sys::params<double> p;
    p.alpha = alpha;
    p.term<llg::uniaxial>() = {bk, {0, 0, 1}};
    p.term<llg::slonczewski>() = {{0, 0, 1}, 1.0, 0.0, 1.0, 1.0, 0.0}; // a_J = drive (tesla)
    const double ratios[] = {0.5, 0.9, 1.1, 1.5, -1.0};
    const std::size_t n = std::size(ratios);
    const double theta0 = 1e-4;
    llg::ensemble<sys> ens(n, p, spherical(theta0, 0.7));
    for (std::size_t i = 0; i < n; ++i) ens.set_drive(i, llg::drive::dc(-ratios[i] * alpha * bk));
    llg::run_options o;
    o.dt = 2e-14; // omega dt = gamma B_K dt = 1.8e-3
    o.steps = 100000;
    ens.run(o);
    const double T = double(o.steps) * o.dt;
    const double gp = p.gamma / (1 + alpha * alpha);
    for (std::size_t i = 0; i < n; ++i) {
        const auto m = ens.m(i);
        const double theta = std::asin(std::hypot(m.x, m.y));
        const double growth = std::log(theta / theta0) / T;
        const double a = -ratios[i] * alpha * bk;
        // Linearized LL: d theta/dt = -gamma' (alpha B_K + a_J) theta.
        const double expected = -gp * (alpha * bk + a);
        // theta stays below 1e-3: nonlinear corrections ~theta^2 ~ 1e-6 of the rate scale.
        CHECK(growth == doctest::Approx(expected).epsilon(1e-4).scale(gp * alpha * bk));
        CHECK((growth > 0) == (ratios[i] > 1));
    }
}

namespace {
// Mean of m.h over the sampled records of lanes [l0, l1).
template <class Trace>
double mean_projection(const Trace& tr, std::size_t l0, std::size_t l1, vec3<double> axis,
                       bool square) {
    double s = 0;
    std::size_t n = 0;
    for (std::size_t l = l0; l < l1; ++l)
        for (std::size_t k = 1; k < tr.records; ++k) {
            const double v = dot(tr.m(l, k), axis);
            s += square ? v * v : v, ++n;
        }
    return s / double(n);
}
} // namespace

TEST_CASE("Boltzmann equilibrium in a Zeeman field at two dampings (Langevin function)") {
    if (test::skip_statistics_under_sanitizers(
            "thermal runs: same seed, same result with 1 and 2 threads and scalar vs SIMD"))
        return;
    using sys = llg::system<llg::zeeman, llg::thermal>;
    const double B = 0.05, T = 300, Ms = 1e6, xi = 2;
    const double V = xi * c::kB * T / (Ms * B); // xi = Ms V B / (kB T)
    const double alphas[2] = {0.1, 1.0};
    const std::size_t per = 512;
    sys::params<double> p;
    p.term<llg::zeeman>().b = {0, 0, B};
    llg::ensemble<sys> ens(2 * per, p, {0, 0, 1});
    for (std::size_t l = 0; l < 2 * per; ++l) {
        auto& q = ens.params(l);
        q.alpha = alphas[l / per];
        q.term<llg::thermal>().sigma_rate = llg::thermal_sigma_rate(q.alpha, T, Ms, V);
    }
    llg::run_options o;
    o.method = llg::integrator::heun;
    o.dt = 1e-12; // gamma B dt = 0.009
    o.seed = 7;
    o.steps = 6000; // ~5 tau_N at alpha = 0.1 (tau_N = 1.16 ns)
    ens.run(o);
    o.steps = 20000;
    o.record_every = 100;
    const auto r = ens.run(o);
    const double langevin = 1 / std::tanh(xi) - 1 / xi;
    for (int a = 0; a < 2; ++a) {
        const double mean = mean_projection(r.trace, a * per, (a + 1) * per, {0, 0, 1}, false);
        // sd(m.h) = 0.42; 512 lanes x ~17 correlation times => SE ~ 0.005 (alpha 0.1), less at
        // alpha 1; Heun's O(dt) weak bias ~ 1e-3. 0.02 is ~4 SE and fails for a noise
        // normalization off by even 10 % (shifts <m.h> by ~0.03).
        CHECK(std::abs(mean - langevin) < 0.02);
        MESSAGE("alpha " << alphas[a] << ": <m.h> = " << mean << ", Langevin " << langevin);
    }
}

TEST_CASE("Boltzmann equilibrium with uniaxial anisotropy at two dampings (<m_z^2>)") {
    if (test::skip_statistics_under_sanitizers(
            "thermal runs: same seed, same result with 1 and 2 threads and scalar vs SIMD"))
        return;
    using sys = llg::system<llg::uniaxial, llg::thermal>;
    const double bk = 0.1, T = 300, Ms = 1e6, s = 3;
    const double V = 2 * s * c::kB * T / (bk * Ms); // s = K V / (kB T), K = B_K Ms / 2
    const double alphas[2] = {0.1, 1.0};
    const std::size_t per = 512;
    sys::params<double> p;
    p.term<llg::uniaxial>() = {bk, {0, 0, 1}};
    llg::ensemble<sys> ens(2 * per, p, {0, 0, 1});
    for (std::size_t l = 0; l < 2 * per; ++l) {
        auto& q = ens.params(l);
        q.alpha = alphas[l / per];
        q.term<llg::thermal>().sigma_rate = llg::thermal_sigma_rate(q.alpha, T, Ms, V);
    }
    llg::run_options o;
    o.method = llg::integrator::heun;
    o.dt = 1e-12; // gamma B_K dt = 0.018
    o.seed = 11;
    o.steps = 6000;
    ens.run(o);
    o.steps = 20000;
    o.record_every = 100;
    const auto r = ens.run(o);
    const double expected = simpson([&](double x) { return x * x * std::exp(s * x * x); }, 0, 1) /
                            simpson([&](double x) { return std::exp(s * x * x); }, 0, 1);
    for (int a = 0; a < 2; ++a) {
        const double mean = mean_projection(r.trace, a * per, (a + 1) * per, {0, 0, 1}, true);
        // sd(m_z^2) ~ 0.25, same sampling as above: SE ~ 0.003; 0.015 ~ 5 SE.
        CHECK(std::abs(mean - expected) < 0.015);
        MESSAGE("alpha " << alphas[a] << ": <m_z^2> = " << mean << ", expected " << expected);
    }
}

TEST_CASE("Neel-Brown dwell times of a uniaxial macrospin at s = 5") {
    if (test::skip_statistics_under_sanitizers(
            "events: interpolated crossing times and early exit"))
        return;
    using sys = llg::system<llg::uniaxial, llg::thermal>;
    const double bk = 0.1, T = 300, Ms = 1e6, s = 5, alpha = 1;
    const double V = 2 * s * c::kB * T / (bk * Ms);
    sys::params<double> p;
    p.alpha = alpha;
    p.term<llg::uniaxial>() = {bk, {0, 0, 1}};
    p.term<llg::thermal>().sigma_rate = llg::thermal_sigma_rate(alpha, T, Ms, V);
    const std::size_t lanes = 1024;
    llg::ensemble<sys> ens(lanes, p, {0, 0, 1});
    llg::run_options o;
    o.method = llg::integrator::heun;
    o.dt = 1e-12;
    o.steps = 40000;
    o.seed = 3;
    const double zc = 0.5; // a switch: crossing -zc after +zc, or +zc after -zc
    o.events = {{{0, 0, 1}, -zc, -1, zc}, {{0, 0, 1}, zc, +1, -zc}};
    const auto r = ens.run(o);
    // Exposure estimator (memoryless escapes): after each lane's first switch, total observed
    // time over the number of further switches; unbiased by the finite window.
    const double t_end = double(o.steps) * o.dt;
    double exposure = 0;
    std::size_t switches = 0;
    for (const auto& ev : r.events) {
        if (ev.empty()) continue;
        for (std::size_t k = 1; k < ev.size(); ++k) CHECK(ev[k].spec != ev[k - 1].spec);
        exposure += t_end - ev.front().time;
        switches += ev.size() - 1;
    }
    REQUIRE(switches >= 1000);
    const double dwell = exposure / double(switches);
    const double tau_n = Ms * V * (1 + alpha * alpha) / (2 * alpha * c::gamma_e * c::kB * T);
    // Exact mean first-passage time from +zc to -zc for Brown's axially symmetric
    // Fokker-Planck equation: 2 tau_N int_{-zc}^{zc} e^{-s z^2}/(1-z^2) int_z^1 e^{s y^2} dy dz.
    const double exact =
        2 * tau_n *
        simpson(
            [&](double z) {
                return std::exp(-s * z * z) / (1 - z * z) *
                       simpson([&](double y) { return std::exp(s * y * y); }, z, 1, 400);
            },
            -zc, zc, 400);
    const double asymptotic = 2 * tau_n * std::sqrt(pi) / 2 * std::pow(s, -1.5) * std::exp(s);
    MESSAGE(switches << " switches; dwell " << dwell << " s, exact MFPT " << exact
                     << " s, asymptotic " << asymptotic << " s");
    // >= 1000 switches: statistical error <= 3 %; Heun bias at gamma B_K dt = 0.018 ~ 1-2 %.
    CHECK(dwell == doctest::Approx(exact).epsilon(0.08));
    // The high-barrier formula of physics.md is ~9 % below the exact value at s = 5.
    CHECK(dwell == doctest::Approx(asymptotic).epsilon(0.2));
}

TEST_CASE("small-signal STT response of the orthogonal MTJ: m_L = a_J / k_L, m_W = 0") {
    auto d = device::orthogonal_mtj();
    d.alpha = 0.05; // faster ring-down; the steady state does not depend on alpha
    const auto N = device::demag_factors(d);
    const double k_l = c::mu0 * d.Ms * (N.y - N.z);
    const auto p = device::llg_params(d);
    const auto& stt = p.term<llg::slonczewski>();
    // Drive for a_J = 0.02 k_L (eps = P/2 with Lambda = 1).
    const double eps = stt.c0 / stt.c1;
    const double current = 0.02 * k_l / (stt.a_per_drive * eps);
    llg::ensemble<device::mtj_system> ens(1, p, d.m0, llg::drive::dc(current));
    llg::run_options o;
    o.dt = 1e-12;
    o.steps = 20000; // 20 ns = 60 ring-down times at alpha 0.05
    ens.run(o);
    const auto m = ens.m(0);
    // Linear theory, corrections O(m_L^2) = 4e-4 relative.
    CHECK(m.y == doctest::Approx(0.02).epsilon(2e-3));
    CHECK(std::abs(m.x) < 1e-5);
}

TEST_CASE("in-plane film STT threshold a_c = alpha (B_K + B + mu0 Ms / 2) (J_c0, first order)") {
    // Easy axis x in the film plane, thin-film demag N = (0, 0, 1), field B along x,
    // polarizer along x. Linearized about m = +x with stiffnesses k_y = B_K + B and
    // k_z = B_K + B + mu0 Ms, the deviation grows at -gamma' (alpha (k_y + k_z)/2 + a) (+ an
    // alpha^2 a shift from the alpha-mixed field-like term), i.e. a_c = -alpha (B_K + B + mu0
    // Ms/2): the J_c0 formula of physics.md, for which a_J = hbar eta J / (e Ms t).
    using sys = llg::system<llg::uniaxial, llg::demag, llg::zeeman, llg::slonczewski>;
    const double bk = 0.05, B = 0.01, bms = c::mu0 * 1.1e6, alpha = 0.01;
    sys::params<double> p;
    p.alpha = alpha;
    p.term<llg::uniaxial>() = {bk, {1, 0, 0}};
    p.term<llg::demag>() = {{0, 0, bms}};
    p.term<llg::zeeman>() = {{B, 0, 0}};
    p.term<llg::slonczewski>() = {{1, 0, 0}, 1.0, 0.0, 1.0, 1.0, 0.0}; // a_J = drive (tesla)
    const double a_c = -alpha * (bk + B + bms / 2);
    const double ratios[] = {0.9, 0.97, 1.03, 1.1};
    const std::size_t n = std::size(ratios);
    const vec3<double> m0 = normalized(vec3<double>{1, 1e-4, 0});
    llg::ensemble<sys> ens(n, p, m0);
    for (std::size_t i = 0; i < n; ++i) ens.set_drive(i, llg::drive::dc(ratios[i] * a_c));
    const double ky = bk + B, kz = bk + B + bms;
    auto q = [&](const vec3<double>& m) { return ky * m.y * m.y + kz * m.z * m.z; };
    llg::run_options o;
    o.dt = 5e-13; // omega dt = gamma sqrt(k_y k_z) dt = 0.023
    o.steps = 100000;
    ens.run(o);
    const double T = double(o.steps) * o.dt;
    const double gp = p.gamma / (1 + alpha * alpha);
    for (std::size_t i = 0; i < n; ++i) {
        const double a = ratios[i] * a_c;
        const double expected = -gp * (alpha * (ky + kz - 2 * alpha * a) / 2 + a);
        // q is the orbit's energy, constant over a period up to O(alpha): sampled at
        // arbitrary phases it adds <= alpha / (2 |lambda| T) ~ 1e-3 to the rate estimate.
        const double growth = std::log(q(ens.m(i)) / q(m0)) / (2 * T);
        CHECK(std::abs(growth - expected) < 0.02 * std::abs(expected));
        CHECK((growth > 0) == (ratios[i] > 1));
    }
}
