// llg/ and device/: demagnetizing factors, invariants (|m|, energy, rotation covariance),
// scalar = SIMD = threaded, reproducible noise, drives, events, readout, JSON, bad input;
// the extension points: steppers, error steppers and observers as types (a user's of each).
#include <spinfire/core/threads.hpp>
#include <spinfire/device.hpp>
#include <spinfire/io/json.hpp>
#include <spinfire/llg.hpp>

#include <cmath>
#include <numbers>

#include "test_support.hpp"

using namespace spinfire;
namespace c = spinfire::constants;

namespace {
constexpr double pi = std::numbers::pi;

// A heterogeneous ensemble of the preset: per-lane geometry, damping, drive and m0.
template <class Real>
llg::ensemble<device::mtj_system, Real> mixed_ensemble(std::size_t n, double temperature) {
    auto d = device::orthogonal_mtj();
    d.temperature = temperature;
    llg::ensemble<device::mtj_system, Real> ens(n, device::llg_params(d), d.m0);
    for (std::size_t i = 0; i < n; ++i) {
        auto di = d;
        di.width = (9 + 0.1 * double(i % 7)) * 1e-9;
        di.alpha = 0.01 + 0.002 * double(i % 5);
        ens.set_params(i, device::llg_params(di));
        const double sign = i % 2 ? -1 : 1;
        if (i % 3 == 0)
            ens.set_drive(i, llg::drive::dc(sign * 1e-4 * double(i % 11)));
        else
            ens.set_drive(i, llg::drive::pulses(2e-3 * sign, 0.2e-9, 0.5e-9, {1, -1, 1}, 0.1e-9));
        const double th = 0.05 + 0.01 * double(i % 13);
        ens.set_m(i, {std::sin(th), 0, std::cos(th)});
    }
    return ens;
}

// The extension points as docs/physics-conventions.md shows them ("Extension points").
// A user's stepper: explicit midpoint, second order.
struct midpoint {
    static constexpr bool stochastic = false; // refused for systems at T > 0
    static constexpr std::array<double, 2> nodes{0.0, 0.5};
    static constexpr const char* name() { return "midpoint"; }

    template <class F, class T>
    SPINFIRE_INLINE llg::step_result<T> step(const F& f, const vec3<T>& m,
                                             const std::array<T, 2>& u, const vec3<T>& b_th,
                                             const T& dt) const {
        const vec3<T> k1 = f(m, u[0], b_th);
        const vec3<T> k2 = f(m + (T(0.5) * dt) * k1, u[1], b_th);
        return llg::renormalize(m + dt * k2);
    }
};

// A user's error stepper: Heun with the Euler step embedded, error O(dt^2).
struct heun_euler {
    static constexpr std::array<double, 2> nodes{0.0, 1.0};
    static constexpr int error_order = 2;
    static constexpr const char* name() { return "heun_euler"; }

    template <class F, class T>
    llg::error_step<T> try_step(const F& f, const vec3<T>& m, const std::array<T, 2>& u,
                                const vec3<T>& b_th, const T& dt) const {
        const vec3<T> k1 = f(m, u[0], b_th);
        const vec3<T> k2 = f(m + dt * k1, u[1], b_th);
        const vec3<T> e = (T(0.5) * dt) * (k2 - k1); // Heun minus Euler
        return {m + (T(0.5) * dt) * (k1 + k2),
                math::max(math::abs(e.x), math::max(math::abs(e.y), math::abs(e.z)))};
    }
};

// A user's observer: the lowest m_z each lane reached, looked at after every step.
struct lowest_mz {
    std::vector<double> lowest;

    void begin(const llg::run_info& r) { lowest.assign(r.lanes, 1.0); }
    template <class T>
    void observe(llg::lane_group<T>& g, std::size_t, double) {
        for (std::size_t i = 0; i < g.real; ++i) // groups run in parallel: own lanes only
            lowest[g.first + i] = std::min(lowest[g.first + i], g.m_of(i).z);
    }
};

// Damped precession about B z (physics.md): m_z = tanh(alpha gp B t + atanh m_z0), phase
// gp B t; the truth for the order tests.
struct damped_precession {
    using sys = llg::system<llg::zeeman>;
    sys::params<double> p;
    double b = 0.1, th0 = 2.0, ph0 = 0.3;
    damped_precession() {
        p.alpha = 0.1;
        p.term<llg::zeeman>().b = {0, 0, b};
    }
    vec3<double> m0() const {
        return {std::sin(th0) * std::cos(ph0), std::sin(th0) * std::sin(ph0), std::cos(th0)};
    }
    vec3<double> exact(double t) const {
        const double gp = p.gamma / (1 + p.alpha * p.alpha);
        const double mz = std::tanh(p.alpha * gp * b * t + std::atanh(std::cos(th0)));
        const double ph = ph0 + gp * b * t;
        const double s = std::sqrt(1 - mz * mz);
        return {s * std::cos(ph), s * std::sin(ph), mz};
    }
    /// |m - exact| after 1 ns with stepper S at time step dt.
    template <class S>
    double error(const S& stepper, double dt) const {
        llg::ensemble<sys> ens(1, p, m0());
        ens.integrate(stepper, dt, std::size_t(std::llround(1e-9 / dt)));
        return norm(ens.m(0) - exact(ens.time()));
    }
};

// m, trace and events of two integrations are the same bits.
template <class Real>
void check_same_bits(const llg::ensemble<device::mtj_system, Real>& a,
                     const llg::ensemble<device::mtj_system, Real>& b) {
    REQUIRE(a.size() == b.size());
    CHECK(a.time() == b.time());
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(norm(a.m(i) - b.m(i)) == 0);
}
template <class Real>
void check_same_bits(const llg::recorded_trace<Real>& a, const llg::recorded_trace<Real>& b) {
    CHECK(a.records == b.records);
    CHECK(a.interval == b.interval);
    CHECK(a.mx == b.mx);
    CHECK(a.my == b.my);
    CHECK(a.mz == b.mz);
}
void check_same_events(const std::vector<std::vector<llg::event>>& a,
                       const std::vector<std::vector<llg::event>>& b) {
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        REQUIRE(a[i].size() == b[i].size());
        for (std::size_t k = 0; k < a[i].size(); ++k) {
            CHECK(a[i][k].spec == b[i][k].spec);
            CHECK(a[i][k].time == b[i][k].time);
        }
    }
}
} // namespace

TEST_CASE("demag: cube, sphere, sums, thin film, prolate spheroid, the 10 x 45 x 50 prism") {
    const auto cube = device::prism_demag(3, 3, 3);
    CHECK(cube.x == doctest::Approx(1.0 / 3).epsilon(1e-12));
    CHECK(cube.z == doctest::Approx(1.0 / 3).epsilon(1e-12));
    const auto sphere = device::ellipsoid_demag(2, 2, 2);
    CHECK(sphere.y == doctest::Approx(1.0 / 3).epsilon(1e-12));
    for (auto s : {vec3<double>{10, 45, 50}, vec3<double>{1, 2, 7}, vec3<double>{100, 100, 1}}) {
        const auto a = device::prism_demag(s.x, s.y, s.z),
                   b = device::ellipsoid_demag(s.x, s.y, s.z);
        CHECK(std::abs(a.x + a.y + a.z - 1) < 1e-12);
        CHECK(std::abs(b.x + b.y + b.z - 1) < 1e-12);
        // Scale invariance.
        const auto a2 = device::prism_demag(3 * s.x, 3 * s.y, 3 * s.z);
        CHECK(a2.z == doctest::Approx(a.z).epsilon(1e-12));
    }
    // Thin film: N_z -> 1 - O(t / L); for 1000:1000:1, 1 - N_z ~ (2/pi)(t/L) ln(L/t) ~ 4.6e-3.
    const auto film = device::prism_demag(1000, 1000, 1);
    CHECK(film.z > 0.99);
    CHECK(film.z < 1);
    // Prolate spheroid, semi-axes (1, 1, 3): N_z = (1 - e^2)/e^3 (atanh e - e).
    const double e = std::sqrt(1 - 1.0 / 9);
    const double nz = (1 - e * e) / (e * e * e) * (std::atanh(e) - e);
    const auto pro = device::ellipsoid_demag(1, 1, 3);
    CHECK(pro.z == doctest::Approx(nz).epsilon(1e-12));
    CHECK(pro.x == doctest::Approx((1 - nz) / 2).epsilon(1e-12));
    // physics.md values (4 decimals).
    const auto n = device::prism_demag(10, 45, 50);
    CHECK(n.x == doctest::Approx(0.6840).epsilon(2e-4));
    CHECK(n.y == doctest::Approx(0.1667).epsilon(4e-4));
    CHECK(n.z == doctest::Approx(0.1493).epsilon(4e-4));
    const auto ne = device::ellipsoid_demag(10, 45, 50);
    CHECK(ne.x == doctest::Approx(0.7396).epsilon(2e-4));
    CHECK(ne.y == doctest::Approx(0.1397).epsilon(4e-4));
    CHECK(ne.z == doctest::Approx(0.1207).epsilon(5e-4));
}

TEST_CASE("field terms: B = -dE/dm by central finite differences") {
    using sys = llg::system<llg::uniaxial, llg::demag, llg::zeeman, llg::interlayer>;
    sys::params<double> p;
    p.term<llg::uniaxial>() = {0.3, normalized(vec3<double>{1, 2, 2})};
    p.term<llg::demag>() = {{0.9, 0.2, 0.3}};
    p.term<llg::zeeman>() = {{0.01, -0.02, 0.05}};
    p.term<llg::interlayer>() = {0.04, {0, 1, 0}};
    const vec3<double> m = normalized(vec3<double>{0.3, -0.5, 0.8});
    const auto B = sys::field(p, m);
    const double h = 1e-6;
    for (int k = 0; k < 3; ++k) {
        vec3<double> dp = m, dm = m;
        (k == 0 ? dp.x : k == 1 ? dp.y : dp.z) += h;
        (k == 0 ? dm.x : k == 1 ? dm.y : dm.z) -= h;
        const double g = (sys::energy(p, dp) - sys::energy(p, dm)) / (2 * h);
        CHECK(-g == doctest::Approx(k == 0 ? B.x : k == 1 ? B.y : B.z).epsilon(1e-8));
    }
}

TEST_CASE("invariants: |m| = 1, energy conserved at alpha = 0, rotation covariance") {
    SUBCASE("energy at alpha = 0") {
        auto d = device::orthogonal_mtj();
        d.alpha = 0;
        d.K_u = 2e4;
        d.easy_axis = normalized(vec3<double>{0.2, 0.1, 1});
        d.b_ext = {0.01, 0.02, -0.03};
        const auto p = device::llg_params(d);
        const vec3<double> m0 = normalized(vec3<double>{0.5, 0.4, 0.7});
        llg::ensemble<device::mtj_system> ens(1, p, m0);
        llg::run_options o;
        o.dt = 1e-13;
        o.steps = 20000; // 2 ns, ~8 large-angle periods
        o.record_every = 1000;
        const auto r = ens.run(o);
        const double e0 = device::mtj_system::energy(p, m0);
        for (std::size_t k = 0; k < r.trace.records; ++k) {
            const auto m = r.trace.m(0, k);
            CHECK(std::abs(norm(m) - 1) < 1e-14);
            // RK4 energy drift ~ (omega dt)^4 per period, ~1e-13 of the field scale (0.8 T).
            CHECK(std::abs(device::mtj_system::energy(p, m) - e0) < 1e-10);
        }
    }
    SUBCASE("rotating every input vector rotates the trajectory") {
        using sys = llg::system<llg::uniaxial, llg::zeeman, llg::interlayer, llg::slonczewski,
                                llg::spin_orbit>;
        // Rotation by 0.7 rad about (1, 2, 3)/|.| (Rodrigues).
        const vec3<double> k = normalized(vec3<double>{1, 2, 3});
        const double th = 0.7;
        auto rot = [&](const vec3<double>& v) {
            return std::cos(th) * v + std::sin(th) * cross(k, v) +
                   (dot(k, v) * (1 - std::cos(th))) * k;
        };
        sys::params<double> p;
        p.alpha = 0.05;
        p.term<llg::uniaxial>() = {0.4, {0, 0, 1}};
        p.term<llg::zeeman>() = {{0.02, 0, 0.01}};
        p.term<llg::interlayer>() = {0.01, {0, 1, 0}};
        p.term<llg::slonczewski>() = {{1, 0, 0}, 0.01, 0.3, 0.6, 2.0, 0.5};
        p.term<llg::spin_orbit>() = {{0, 1, 0}, 0.005, -0.002};
        auto q = p;
        q.term<llg::uniaxial>().u = rot(p.term<llg::uniaxial>().u);
        q.term<llg::zeeman>().b = rot(p.term<llg::zeeman>().b);
        q.term<llg::interlayer>().p = rot(p.term<llg::interlayer>().p);
        q.term<llg::slonczewski>().p = rot(p.term<llg::slonczewski>().p);
        q.term<llg::spin_orbit>().sigma = rot(p.term<llg::spin_orbit>().sigma);
        const vec3<double> m0 = normalized(vec3<double>{0.1, 0.2, 0.9});
        llg::ensemble<sys> a(1, p, m0, llg::drive::dc(1.0)), b(1, q, rot(m0), llg::drive::dc(1.0));
        llg::run_options o;
        o.dt = 1e-13;
        o.steps = 20000;
        a.run(o);
        b.run(o);
        // Exact covariance up to rounding: the rotated run differs by ~1e-16 per step.
        CHECK(norm(rot(a.m(0)) - b.m(0)) < 1e-11);
        CHECK(norm(a.m(0) - m0) > 0.1); // it did move
    }
}

TEST_CASE("STT sign: a positive current pulls m toward the pinned direction") {
    auto d = device::orthogonal_mtj();
    const auto p = device::llg_params(d);
    llg::ensemble<device::mtj_system> ens(2, p, d.m0);
    ens.set_drive(0, llg::drive::dc(+20e-3));
    ens.set_drive(1, llg::drive::dc(-20e-3));
    llg::run_options o;
    o.dt = 2e-13;
    o.steps = 50000; // 10 ns
    ens.run(o);
    CHECK(dot(ens.m(0), d.pinned) > 0.9);
    CHECK(dot(ens.m(1), d.pinned) < -0.9);
}

TEST_CASE("scalar, SIMD and multi-threaded paths agree, float follows double") {
    const std::size_t n = 37; // not a multiple of any batch width: exercises padding
    llg::run_options o;
    o.dt = 2e-13;
    o.steps = 5000;
    o.record_every = 250;
    o.events = {{{1, 0, 0}, 0.05, +1, 0.0}};
    auto ref = mixed_ensemble<double>(n, 0);
    o.simd = false;
    o.parallel = false;
    const auto rs = ref.run(o);
    auto vec = mixed_ensemble<double>(n, 0);
    o.simd = true;
    const auto rv = vec.run(o);
    auto par = mixed_ensemble<double>(n, 0);
    o.parallel = true;
    const auto rp = [&] {
        threads guard(2);
        return par.run(o);
    }();
    auto flt = mixed_ensemble<float>(n, 0);
    const auto rf = flt.run(o);
    for (std::size_t i = 0; i < n; ++i) {
        // FMA contraction differs between the scalar and vector code: equal to ~1e-12 (up
        // to 1.5e-12 over these 5000 steps since pulse edges take effect exactly on the grid).
        CHECK(norm(ref.m(i) - vec.m(i)) < 2e-12);
        // Same code, same lane grouping: threading changes nothing at all.
        CHECK(norm(par.m(i) - vec.m(i)) == 0);
        // Single precision (6e-8 per operation) drifts in phase over 5000 large-angle steps.
        CHECK(norm(flt.m(i) - vec.m(i)) < 3e-3);
        for (std::size_t k = 0; k < rs.trace.records; ++k)
            CHECK(norm(rs.trace.m(i, k) - rv.trace.m(i, k)) < 2e-12);
        REQUIRE(rs.events[i].size() == rv.events[i].size());
        for (std::size_t k = 0; k < rs.events[i].size(); ++k)
            CHECK(rs.events[i][k].time == doctest::Approx(rv.events[i][k].time).epsilon(1e-9));
    }
}

TEST_CASE("thermal runs: same seed, same result with 1 and 2 threads and scalar vs SIMD") {
    const std::size_t n = 64;
    llg::run_options o;
    o.dt = 1e-13;
    o.steps = 3000;
    o.method = llg::integrator::heun;
    o.seed = 1234;
    auto run = [&](std::size_t nthreads, bool simd) {
        threads guard(nthreads);
        auto ens = mixed_ensemble<double>(n, 300);
        o.simd = simd;
        ens.run(o);
        std::vector<vec3<double>> out;
        for (std::size_t i = 0; i < n; ++i) out.push_back(ens.m(i));
        return out;
    };
    const auto a = run(1, true), b = run(2, true), s = run(1, false);
    for (std::size_t i = 0; i < n; ++i) {
        CHECK(norm(a[i] - b[i]) == 0);
        // Vector log/sincos differ from libm in the last ulp; trajectories stay within 1e-9.
        CHECK(norm(a[i] - s[i]) < 1e-9);
    }
    // Another seed gives another trajectory; noise is per lane (lanes 0 and 7 share params).
    o.seed = 99;
    const auto c2 = run(1, true);
    CHECK(norm(c2[0] - a[0]) > 1e-6);
    // Continuing a run continues the noise counter: 2 x 1500 steps == 3000 steps.
    {
        auto e1 = mixed_ensemble<double>(n, 300);
        o.seed = 1234;
        o.simd = true;
        o.steps = 1500;
        e1.run(o);
        e1.run(o);
        for (std::size_t i = 0; i < n; ++i) CHECK(norm(e1.m(i) - a[i]) < 1e-12);
    }
}

TEST_CASE("events: interpolated crossing times and early exit") {
    using sys = llg::system<llg::zeeman>;
    sys::params<double> p;
    p.alpha = 0;
    const double B = 0.1;
    p.term<llg::zeeman>().b = {0, 0, B};
    const double th = 1.0;
    llg::ensemble<sys> ens(3, p, {std::sin(th), 0, std::cos(th)});
    llg::run_options o;
    o.dt = 1e-12; // omega dt = 0.018: the crossing interpolation is what is tested
    o.steps = 2000;
    // m_y = sin(th) sin(omega t): rising through 0.5 sin(th) at omega t = pi/6 + 2 pi k.
    o.events = {{{0, 1, 0}, 0.5 * std::sin(th), +1}};
    o.stop_after = 3;
    const auto r = ens.run(o);
    const double omega = p.gamma * B;
    for (std::size_t i = 0; i < 3; ++i) {
        REQUIRE(r.events[i].size() == 3);
        for (std::size_t k = 0; k < 3; ++k) {
            const double t = (pi / 6 + 2 * pi * double(k)) / omega;
            // Linear interpolation of a sinusoid over omega dt = 0.018: error
            // <= (omega dt)^2 / 8 * tan(pi/6) / omega ~ 2.3e-5 / omega.
            CHECK(std::abs(r.events[i][k].time - t) < 5e-5 / omega);
        }
        CHECK(r.stop_time[i] == r.events[i][2].time);
        // Frozen at the step after the third crossing.
        const double ts = r.stop_time[i];
        CHECK(std::abs(ens.m(i).y - std::sin(th) * std::sin(omega * ts)) < 0.02);
    }
}

TEST_CASE("drive edges: one-sided limits decide a pulse's ends, RK4 keeps 4th order with edges "
          "on the step grid, dopri5 lands on an edge at tolerance 1e-13") {
    // mtj_trace's default drive: 1 ns pulses every 4 ns from 1 ns, signs ++--.
    const auto u = llg::drive::pulses(4e-3, 1e-9, 4e-9, {1, 1, -1, -1}, 1e-9);
    const double dt = 1e-12, eps = 1e-6 * dt;
    // the pulses [1, 2], [5, 6], [9, 10], [13, 14], [17, 18] ns and their values
    std::vector<std::pair<double, double>> segments; // (end of segment, drive on it)
    for (int k = 0; k < 5; ++k) {
        const double on = 4e-3 * (k % 4 < 2 ? 1 : -1);
        segments.push_back({1e-9 + 4e-9 * k, 0.0});
        segments.push_back({2e-9 + 4e-9 * k, on});
        for (double start : {1e-9 + 4e-9 * k, double(1000 + 4000 * k) * dt}) {
            CAPTURE(start);
            CHECK(u.limit(start, -1, eps) == 0);
            CHECK(u.limit(start, +1, eps) == on);
        }
        // the ends at 2, 6, 10, 14, 18 ns, as written and as the step grid reaches them (the
        // plain value there was on for 6-18 ns and off for 2 ns, by rounding)
        for (double end : {2e-9 + 4e-9 * k, double(2000 + 4000 * k) * dt}) {
            CAPTURE(end);
            CHECK(u.limit(end, -1, eps) == on);
            CHECK(u.limit(end, +1, eps) == 0);
        }
    }
    segments.push_back({20e-9, 0.0});
    CHECK(llg::drive::dc(2.5).limit(1, -1, 1e-9) == 2.5);
    const auto sm = llg::drive::sampled(1.0, 0.5, {1, 2, 1});
    CHECK(sm.limit(1.25, -1, 1e-6) == sm(1.25)); // continuous inside: read at t
    CHECK(sm.limit(1.0, -1, 1e-6) == 0);
    CHECK(sm.limit(1.0, +1, 1e-6) == doctest::Approx(1.0));

    // Truth: the same run as a chain of dc segments (a dc drive is constant in every stage).
    // With every edge on the step grid, RK4 on the pulse train is that chain exactly: each
    // step sees one segment's value at all four stages (so RK4 keeps its 4th order). An edge
    // given to the wrong step costs O(dt).
    auto d = device::orthogonal_mtj();
    const auto p = device::llg_params(d);
    llg::run_options o;
    o.dt = dt;
    o.method = llg::integrator::rk4;
    llg::ensemble<device::mtj_system> pulsed(1, p, d.m0, u);
    o.steps = 20000;
    pulsed.run(o);
    llg::ensemble<device::mtj_system> chain(1, p, d.m0, llg::drive::dc(0));
    double t = 0;
    for (const auto& [end, value] : segments) {
        chain.set_drive(0, llg::drive::dc(value));
        o.steps = std::size_t(std::llround((end - t) / dt));
        chain.run(o);
        t = end;
    }
    CHECK(std::abs(chain.time() - 20e-9) < 1e-20);
    CHECK(norm(pulsed.m(0) - chain.m(0)) < 1e-12);

    // dopri5 at tolerance 1e-13 with output times on the edges (steps land on them): no
    // step-size underflow, and the dc chain's result
    std::vector<double> outputs;
    for (const auto& sgm : segments) outputs.push_back(sgm.first);
    llg::adaptive_options ao;
    ao.tolerance = 1e-13;
    const auto r = llg::solve_adaptive<device::mtj_system>(p, d.m0, u, 0, outputs, ao);
    vec3<double> m = d.m0;
    t = 0;
    for (const auto& [end, value] : segments) {
        m = llg::solve_adaptive<device::mtj_system>(p, m, llg::drive::dc(value), t, {end}, ao).m[0];
        t = end;
    }
    MESSAGE("dopri5 at 1e-13, pulse train vs dc chain: " << norm(r.m.back() - m)
                                                         << "; RK4 at 1 ps vs dopri5: "
                                                         << norm(r.m.back() - chain.m(0)));
    CHECK(norm(r.m.back() - m) < 1e-8);
}

TEST_CASE("drives: dc, signed pulse trains, sampled waveforms, spike trains") {
    const auto dc = llg::drive::dc(2.5);
    CHECK(dc(-1) == 2.5);
    CHECK(dc.is_constant());
    const auto pt = llg::drive::pulses(1e-3, 1e-9, 4e-9, {1, -1, 0}, 2e-9, 4);
    CHECK(pt(1.9e-9) == 0);
    CHECK(pt(2.5e-9) == 1e-3);
    CHECK(pt(3.1e-9) == 0); // after the first pulse
    CHECK(pt(6.5e-9) == -1e-3);
    CHECK(pt(10.5e-9) == 0); // sign 0
    CHECK(pt(14.5e-9) == 1e-3);
    CHECK(pt(18.5e-9) == 0); // count = 4
    CHECK(!pt.is_constant());
    CHECK(pt.peak() == 1e-3);
    const auto sm = llg::drive::sampled(1.0, 0.5, {0, 2, 1});
    CHECK(sm(0.9) == 0);
    CHECK(sm(1.25) == doctest::Approx(1.0));
    CHECK(sm(1.75) == doctest::Approx(1.5));
    CHECK(sm(2.01) == 0);
    const auto hold = llg::drive::sampled(0, 1, {3, 4}, false);
    CHECK(hold(0.99) == 3);
    CHECK(hold(1.5) == 4);
    CHECK(hold(2.5) == 0);
    const auto sp = llg::drive::spikes({1, 2, 2.05}, {1, -1, 0.5}, 0.1);
    CHECK(sp(0.5) == 0);
    CHECK(sp(1.05) == 1);
    CHECK(sp(2.07) == -0.5); // overlapping spikes add
    CHECK(sp(2.2) == 0);
    CHECK_THROWS_AS(llg::drive::pulses(1, 2, 1, {1}), parameter_error);
    CHECK_THROWS_AS(llg::drive::spikes({2, 1}, {1, 1}, 0.1), parameter_error);
    CHECK_THROWS_AS(llg::drive::dc(std::nan("")), parameter_error);
}

TEST_CASE("readout: conductance, resistance, TMR, device JSON round trip") {
    auto d = device::orthogonal_mtj();
    const auto ro = device::mtj_readout(d);
    CHECK(ro.g_p == doctest::Approx(device::area(d) / d.ra));
    CHECK(ro.conductance(d.pinned) == doctest::Approx(ro.g_p));
    CHECK(ro.conductance(-d.pinned) == doctest::Approx(ro.g_ap));
    CHECK((ro.g_p - ro.g_ap) / ro.g_ap == doctest::Approx(d.tmr));
    CHECK(ro.conductance({0, 0, 1}) == doctest::Approx(0.5 * (ro.g_p + ro.g_ap)));
    CHECK(ro.read_voltage(d.pinned, 1e-6) == doctest::Approx(1e-6 / ro.g_p));

    d.width = 12e-9;
    d.demag = device::demag_model::ellipsoid;
    d.eps = device::eps_form::mtj;
    d.pinned = {0, 1, 0};
    const auto j = io::to_json(d);
    CHECK(j.at("demag") == "ellipsoid");
    device::mtj back;
    io::from_json(j, back);
    CHECK(back.width == d.width);
    CHECK(back.demag == d.demag);
    CHECK(back.eps == d.eps);
    CHECK(back.pinned.y == 1);
    io::json bad = j;
    bad["Ms_typo"] = 1;
    CHECK_THROWS_WITH_AS(io::from_json(bad, back), doctest::Contains("Ms_typo"), error);

    // eps forms against their closed forms at cos theta = 0.3.
    const auto cs = device::eps_coefficients(device::eps_form::slonczewski, 0.6, 2.0);
    CHECK(cs.x / (cs.y + cs.z * 0.3) == doctest::Approx(0.6 * 4 / (5 + 3 * 0.3)));
    const auto cm = device::eps_coefficients(device::eps_form::mtj, 0.6, 1.0);
    CHECK(cm.x / (cm.y + cm.z * 0.3) == doctest::Approx(0.6 / (2 * (1 + 0.36 * 0.3))));
    // Brown field example of physics.md: alpha 0.01, 1 ps, 2.25e-23 m^3, 300 K: ~4.4 mT.
    const double sig = llg::thermal_sigma_rate(0.01, 300, 1.1e6, 2.25e-23) / std::sqrt(1e-12);
    CHECK(sig == doctest::Approx(4.4e-3).epsilon(0.02));
}

TEST_CASE("bad parameters and failing integrations throw errors that name the culprit") {
    auto check_param = [](auto mutate, const char* name) {
        auto d = device::orthogonal_mtj();
        mutate(d);
        CHECK_THROWS_WITH_AS(device::llg_params(d), doctest::Contains(name), parameter_error);
    };
    check_param([](device::mtj& d) { d.Ms = 0; }, "'Ms'");
    check_param([](device::mtj& d) { d.Ms = -1e6; }, "'Ms'");
    check_param([](device::mtj& d) { d.width = 0; }, "'width'");
    check_param([](device::mtj& d) { d.height = -1e-9; }, "'height'");
    check_param([](device::mtj& d) { d.alpha = -0.1; }, "'alpha'");
    check_param([](device::mtj& d) { d.pinned = {1, 1, 0}; }, "'pinned'");
    check_param([](device::mtj& d) { d.easy_axis = {0, 0, 2}; }, "'easy_axis'");
    check_param([](device::mtj& d) { d.polarization = std::nan(""); }, "'polarization'");
    check_param([](device::mtj& d) { d.temperature = -1; }, "'temperature'");
    CHECK_THROWS_AS(device::prism_demag(0, 1, 1), parameter_error);

    auto d = device::orthogonal_mtj();
    llg::ensemble<device::mtj_system> ens(6, device::llg_params(d), d.m0);
    llg::run_options o;
    o.steps = 10;
    o.dt = 0;
    CHECK_THROWS_WITH_AS(ens.run(o), doctest::Contains("'dt'"), parameter_error);
    o.dt = -1e-12;
    CHECK_THROWS_WITH_AS(ens.run(o), doctest::Contains("'dt'"), parameter_error);
    o.dt = 1e-12;
    // Per-lane parameters are validated with the lane named.
    ens.params(4).alpha = -1;
    CHECK_THROWS_WITH_AS(ens.run(o), doctest::Contains("lane 4"), parameter_error);
    try { // the parameter is named once (it was "parameter 'alpha': parameter 'alpha': ...")
        ens.run(o);
    } catch (const parameter_error& e) {
        CHECK(std::string(e.what()).rfind("parameter 'alpha': must", 0) == 0);
        CHECK(std::string(e.what()).find("parameter", 1) == std::string::npos);
    }
    ens.params(4).alpha = 0.01;
    ens.set_m(2, {1, 1, 0});
    CHECK_THROWS_WITH_AS(ens.run(o), doctest::Contains("lane 2"), parameter_error);
    ens.set_m(2, {0, 0, 1});

    // Thermal noise needs heun; rk4 and the adaptive dopri5 refuse it.
    d.temperature = 300;
    ens.set_params(3, device::llg_params(d));
    CHECK_THROWS_WITH_AS(ens.run(o), doctest::Contains("heun"), parameter_error);
    CHECK_THROWS_WITH_AS(llg::solve_adaptive<device::mtj_system>(device::llg_params(d), d.m0,
                                                                 llg::drive::dc(0), 0, {1e-9}),
                         doctest::Contains("temperature"), parameter_error);

    // An unstable time step: a huge field in lane 5 loses |m|; the error says when and where.
    d.temperature = 0;
    ens.set_params(3, device::llg_params(d));
    d.b_ext = {1e4, 0, 0};
    ens.set_params(5, device::llg_params(d));
    try {
        ens.run(o);
        FAIL("expected numeric_error");
    } catch (const numeric_error& e) {
        const std::string msg = e.what();
        CHECK(msg.find("lane 5") != std::string::npos);
        CHECK(msg.find("t = 1e-12 s") != std::string::npos);
    }
}

TEST_CASE("AVX2 Philox lanes are bit-identical to rng::normal4 over batches") {
    for (std::uint64_t c = 0; c < 200; ++c) {
        const std::uint64_t seed = c * 0x9E3779B97F4A7C15ull, stream = (c * 7919) ^ (c << 33);
        const auto a = llg::detail::normal4_lanes<simd::batch<double>>(seed, stream, c * 12345);
        const auto b = rng::normal4<simd::batch<double>>(seed, stream, c * 12345);
        const auto af = llg::detail::normal4_lanes<simd::batch<float>>(seed, stream, c * 12345);
        const auto bf = rng::normal4<simd::batch<float>>(seed, stream, c * 12345);
        // The paired type draws streams [s, s + n) into .lo and [s + n, s + 2n) into .hi.
        using wd = llg::detail::wide<simd::batch<double>>;
        const auto w = llg::detail::normal4_lanes<wd>(seed, stream, c * 12345);
        const auto b2 =
            rng::normal4<simd::batch<double>>(seed, stream + simd::batch<double>::size, c * 12345);
        for (int j = 0; j < 4; ++j) {
            CHECK(xsimd::all(a[j] == b[j]));
            CHECK(xsimd::all(af[j] == bf[j]));
            CHECK(xsimd::all(w[j].lo == b[j]));
            CHECK(xsimd::all(w[j].hi == b2[j]));
        }
    }
}

TEST_CASE("integrate(stepper, dt, steps, observers) is run(options) bit for bit") {
    const std::size_t n = 37;
    for (bool simd : {true, false}) {
        CAPTURE(simd);
        llg::run_options o;
        o.dt = 2e-13;
        o.steps = 3000;
        o.record_every = 250;
        o.events = {{{1, 0, 0}, 0.05, +1, 0.0}, {{0, 1, 0}, -0.02, -1}};
        o.simd = simd;
        // run's flags against the observers they stand for, composed either way round
        auto ref = mixed_ensemble<double>(n, 0);
        const auto r = ref.run(o);
        auto ens = mixed_ensemble<double>(n, 0);
        llg::trace_recorder rec(o.record_every);
        llg::threshold_events ev(o.events);
        llg::integrate_n_steps(ens, llg::rk4{}, o.dt, o.steps, llg::observers(rec, ev), o);
        check_same_bits(ref, ens);
        check_same_bits(r.trace, rec.trace());
        check_same_events(r.events, ev.events());
        // each observer alone (a recorder does not perturb the steps it watches)
        auto alone = mixed_ensemble<double>(n, 0);
        llg::trace_recorder rec2(o.record_every);
        alone.integrate(llg::rk4{}, o.dt, o.steps, rec2, o);
        check_same_bits(ref, alone);
        check_same_bits(r.trace, rec2.trace());
        // freezing after 2 events: stop times, frozen records and final m as run's stop_after
        o.stop_after = 2;
        auto ref_stop = mixed_ensemble<double>(n, 0);
        const auto rs = ref_stop.run(o);
        auto stop = mixed_ensemble<double>(n, 0);
        llg::threshold_events ev2(o.events, o.stop_after);
        llg::trace_recorder<double> rec3(o.record_every);
        stop.integrate(llg::rk4{}, o.dt, o.steps, llg::observers(ev2, rec3), o);
        check_same_bits(ref_stop, stop);
        check_same_bits(rs.trace, rec3.trace());
        check_same_events(rs.events, ev2.events());
        std::size_t stopped = 0;
        for (std::size_t i = 0; i < n; ++i) {
            stopped += !std::isnan(rs.stop_time[i]);
            CHECK((rs.stop_time[i] == ev2.stop_time()[i] ||
                   (std::isnan(rs.stop_time[i]) && std::isnan(ev2.stop_time()[i]))));
        }
        CHECK(stopped > 0);
    }
}

TEST_CASE("integrate(heun) at 300 K is run(heun) bit for bit, double and float") {
    const std::size_t n = 37;
    llg::run_options o;
    o.dt = 1e-13;
    o.steps = 2000;
    o.method = llg::integrator::heun;
    o.seed = 77;
    o.first_stream = 5;
    auto a = mixed_ensemble<double>(n, 300), b = mixed_ensemble<double>(n, 300);
    a.run(o);
    b.integrate(llg::heun{}, o.dt, o.steps, llg::no_observer{}, o);
    check_same_bits(a, b);
    auto af = mixed_ensemble<float>(n, 300), bf = mixed_ensemble<float>(n, 300);
    af.run(o);
    bf.integrate(llg::heun{}, o.dt, o.steps, {}, o);
    check_same_bits(af, bf);
    // a deterministic stepper is refused for thermal lanes, naming itself and heun
    CHECK_THROWS_WITH_AS(bf.integrate(midpoint{}, o.dt, 1),
                         doctest::Contains("midpoint cannot integrate thermal noise"),
                         parameter_error);
}

TEST_CASE("a user's observer sees every step of every lane") {
    auto ens = mixed_ensemble<double>(21, 0), ref = mixed_ensemble<double>(21, 0);
    lowest_mz low;
    llg::trace_recorder every(1);                     // m after every step
    llg::threshold_events ev({{{1, 0, 0}, 0.0, +1}}); // rising zero crossings of m_x
    ens.integrate(llg::rk4{}, 2e-13, 1500, llg::observers(low, every, ev));
    llg::run_options o;
    o.dt = 2e-13;
    o.steps = 1500;
    o.events = ev.specs();
    const auto r = ref.run(o);
    check_same_bits(ens, ref);
    check_same_events(ev.events(), r.events);
    for (std::size_t i = 0; i < 21; ++i) {
        double lowest = 1;
        for (std::size_t k = 1; k < every.trace().records; ++k)
            lowest = std::min(lowest, every.trace().m(i, k).z);
        CHECK(low.lowest[i] == lowest);
    }
}

TEST_CASE("steppers as types: a user's midpoint is second order, dopri5 fifth order as a fixed "
          "stepper, rk4 fourth") {
    const damped_precession dp;
    // Halving dt divides the global error by 2^order. Errors here are 1e-5 (midpoint), 1e-7
    // (rk4) and 1e-11 (dopri5; log2 ratio 4.5 at 8 -> 4 ps, 4.8 here, 4.9 at 1 -> 0.5 ps as
    // it approaches 5) after 1 ns: far above rounding (1e-16 per step, 1e3-1e4 steps).
    const double e1 = dp.error(midpoint{}, 4e-13), e2 = dp.error(midpoint{}, 2e-13);
    MESSAGE("midpoint: " << e1 << " -> " << e2);
    CHECK(e1 / e2 == doctest::Approx(4).epsilon(0.1));
    const double r1 = dp.error(llg::rk4{}, 4e-12), r2 = dp.error(llg::rk4{}, 2e-12);
    MESSAGE("rk4: " << r1 << " -> " << r2);
    CHECK(std::log2(r1 / r2) == doctest::Approx(4).epsilon(0.1));
    const double d1 = dp.error(llg::dopri5{}, 2e-12), d2 = dp.error(llg::dopri5{}, 1e-12);
    MESSAGE("dopri5 (fixed steps): " << d1 << " -> " << d2);
    CHECK(std::log2(d1 / d2) > 4.5);
    CHECK(std::log2(d1 / d2) < 5.5);
    // the SIMD path runs a user's stepper too: 9 lanes (padding) equal the scalar path's
    llg::ensemble<damped_precession::sys> v(9, dp.p, dp.m0()), s(9, dp.p, dp.m0());
    v.integrate(midpoint{}, 2e-13, 1000);
    llg::integrate_options scalar;
    scalar.simd = false;
    s.integrate(midpoint{}, 2e-13, 1000, llg::no_observer{}, scalar);
    for (std::size_t i = 0; i < 9; ++i) CHECK(norm(v.m(i) - s.m(i)) < 1e-13);
}

TEST_CASE("a user's Heun-Euler error stepper drives solve_adaptive") {
    const damped_precession dp;
    std::vector<double> outs;
    for (int k = 1; k <= 10; ++k) outs.push_back(k * 1e-10);
    auto worst = [&](const llg::adaptive_result& a) {
        double w = 0;
        for (std::size_t k = 0; k < outs.size(); ++k)
            w = std::max(w, norm(a.m[k] - dp.exact(a.t[k])));
        return w;
    };
    llg::adaptive_options ao;
    ao.tolerance = 1e-8;
    const auto loose = llg::solve_adaptive<damped_precession::sys, heun_euler>(
        dp.p, dp.m0(), llg::drive::dc(0), 0, outs, ao);
    ao.tolerance = 1e-10;
    const auto tight = llg::solve_adaptive<damped_precession::sys, heun_euler>(
        dp.p, dp.m0(), llg::drive::dc(0), 0, outs, ao);
    const auto dp5 =
        llg::solve_adaptive<damped_precession::sys>(dp.p, dp.m0(), llg::drive::dc(0), 0, outs, ao);
    MESSAGE("heun_euler: " << worst(loose) << " (" << loose.accepted << " steps), " << worst(tight)
                           << " (" << tight.accepted << " steps); dopri5: " << worst(dp5) << " ("
                           << dp5.accepted << " steps)");
    CHECK(loose.t == outs);
    // Error per step ~ tolerance, about (omega h)^2 / 2: h ~ sqrt(2 tol) / omega, and the
    // global error of the accepted (Heun) solution stays far below the tolerance's scale.
    CHECK(worst(loose) < 1e-6);
    CHECK(worst(tight) < worst(loose) / 10);
    // a second-order pair needs ~sqrt(100) = 10x the steps for 100x the accuracy, and
    // far more than the fifth-order one
    CHECK(double(tight.accepted) / double(loose.accepted) == doctest::Approx(10).epsilon(0.2));
    CHECK(tight.accepted > 20 * dp5.accepted);
}
