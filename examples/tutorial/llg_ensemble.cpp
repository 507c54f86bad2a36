// Tutorial 1 (docs/guide.md): compose LLG systems from terms and run ensembles whose lanes
// carry different parameters; every lane is checked against a closed-form answer.
#include <cmath>
#include <cstdio>
#include <numbers>

#include <spinfire/device/demag.hpp>
#include <spinfire/llg.hpp>

using namespace spinfire;
constexpr double pi = std::numbers::pi;

int main() {
    int failures = 0;

    // [precession]
    // A spin in a static field: one term. Eight lanes, damping 0.01 ... 0.08.
    using spin = llg::system<llg::zeeman>;
    spin::params<double> p;
    p.term<llg::zeeman>().b = {0, 0, 0.1}; // tesla
    const vec3<double> m0{std::sin(2.0), 0, std::cos(2.0)};
    llg::ensemble<spin> ens(8, p, m0);
    for (std::size_t i = 0; i < 8; ++i) ens.params(i).alpha = 0.01 * double(i + 1);
    llg::run_options o;
    o.dt = 1e-13, o.steps = 10000; // 1 ns, rk4
    ens.run(o);
    for (std::size_t i = 0; i < 8; ++i) {
        // m_z(t) = tanh(alpha gamma' B t + atanh(m_z(0))), gamma' = gamma / (1 + alpha^2)
        const double a = ens.params(i).alpha, gp = p.gamma / (1 + a * a);
        const double exact = std::tanh(a * gp * 0.1 * 1e-9 + std::atanh(m0.z));
        const double err = std::abs(ens.m(i).z - exact);
        std::printf("alpha %.2f  m_z(1 ns) %.9f  closed form %.9f  |error| %.1e\n", a, ens.m(i).z,
                    exact, err);
        failures += err > 1e-9;
    }
    // [/precession]

    // [kittel]
    // The free layer's shape alone (a demag term), with a fabrication spread of
    // the width: 9, 9.5, ... 11 nm. Each lane precesses about its easy axis (z, the height)
    // at the Kittel frequency of its own demagnetizing factors.
    using shape_only = llg::system<llg::demag>;
    const double Ms = 1.1e6, bms = constants::mu0 * Ms;
    llg::ensemble<shape_only> prisms(5, {}, {std::sin(1e-3), 0, std::cos(1e-3)}); // tilted 1 mrad
    for (std::size_t i = 0; i < 5; ++i) {
        auto& q = prisms.params(i);
        q.alpha = 0; // undamped: exactly the linearized frequency
        q.term<llg::demag>().b_n = bms * device::prism_demag(9e-9 + 0.5e-9 * double(i), 45e-9, 50e-9);
    }
    o.steps = 50000; // 5 ns
    o.events = {{{1, 0, 0}, 0.0, +1}}; // m_x rising through 0: once per period
    const auto r = prisms.run(o);
    for (std::size_t i = 0; i < 5; ++i) {
        const auto& ev = r.events[i];
        const double f = double(ev.size() - 1) / (ev.back().time - ev.front().time);
        const auto b = prisms.params(i).term<llg::demag>().b_n;
        const double kittel = p.gamma * std::sqrt((b.x - b.z) * (b.y - b.z)) / (2 * pi);
        std::printf("width %.1f nm  f %.6f GHz  Kittel %.6f GHz\n", 9 + 0.5 * double(i),
                    1e-9 * f, 1e-9 * kittel);
        failures += std::abs(f / kittel - 1) > 1e-5;
    }
    // [/kittel]
    return failures == 0 ? 0 : 1;
}
