// spinfire::llg alone: an ensemble of damped spins in a static field, integrated with RK4
// in SIMD lanes (more lanes than one batch, so the scalar tail runs too), against the closed
// form m_z(t) = tanh(alpha gamma' B t + atanh m_z(0)), gamma' = gamma / (1 + alpha^2).
#include <cmath>
#include <cstdio>

#include <spinfire/llg.hpp>

int main() {
    using namespace spinfire;
    using spin = llg::system<llg::zeeman>;
    spin::params<double> p;
    p.term<llg::zeeman>().b = {0, 0, 0.1}; // tesla
    const vec3<double> m0{std::sin(2.0), 0, std::cos(2.0)};
    constexpr std::size_t lanes = 11;
    llg::ensemble<spin> ens(lanes, p, m0);
    for (std::size_t i = 0; i < lanes; ++i) ens.params(i).alpha = 0.01 * double(i + 1);
    llg::run_options o;
    o.dt = 1e-13, o.steps = 5000; // 0.5 ns
    ens.run(o);
    int failures = 0;
    for (std::size_t i = 0; i < lanes; ++i) {
        const double a = ens.params(i).alpha, gp = p.gamma / (1 + a * a);
        const double exact = std::tanh(a * gp * 0.1 * 0.5e-9 + std::atanh(m0.z));
        const auto m = ens.m(i);
        const double norm = std::sqrt(m.x * m.x + m.y * m.y + m.z * m.z);
        failures += std::abs(m.z - exact) > 1e-9 || std::abs(norm - 1) > 1e-9;
    }
    std::printf("llg: %zu lanes, m_z(0.5 ns) of lane 0 %.9f, %d wrong\n", lanes, ens.m(0).z,
                failures);
    return failures == 0 ? 0 : 1;
}
