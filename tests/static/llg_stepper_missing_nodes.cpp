// expect: the stepper has no `nodes`
// A user's stepper without its stage times: the message names the missing member, and the
// line "in instantiation of check_stepper<euler, ...>" names the stepper. Twin: nodes given.
#include <array>
#include <spinfire/llg/ensemble.hpp>
#include <spinfire/llg/field_terms.hpp>
#include <spinfire/llg/system.hpp>

struct euler {
    static constexpr bool stochastic = false;
#ifndef SPINFIRE_STATIC_FAIL
    static constexpr std::array<double, 1> nodes{0.0};
#endif
    static constexpr const char* name() { return "euler"; }
    template <class F, class T>
    SPINFIRE_INLINE spinfire::llg::step_result<T>
    step(const F& f, const spinfire::vec3<T>& m, const std::array<T, 1>& u,
         const spinfire::vec3<T>& b_th, const T& dt) const {
        return spinfire::llg::renormalize(m + dt * f(m, u[0], b_th));
    }
};

int main() {
    using sys = spinfire::llg::system<spinfire::llg::zeeman>;
    sys::params<double> p;
    spinfire::llg::term<spinfire::llg::zeeman>(p).b = {0, 0, 0.1};
    spinfire::llg::ensemble<sys> ens(1, p, {1, 0, 0});
    ens.integrate(euler{}, 1e-13, 10);
    return ens.m(0).z > 0 ? 0 : 1;
}
