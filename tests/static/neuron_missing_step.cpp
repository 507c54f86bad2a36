// expect: neuron_model
// A type with params and state but no step function is not a neuron model: using it as one
// must fail at the concept, naming it, not deep inside the kernel. Twin: the step is there.
#include <spinfire/neuron/population.hpp>

struct no_step {
    template <class T>
    struct params {
        BOOST_HANA_DEFINE_STRUCT(params, (T, beta));
    };
    template <class T>
    struct state {
        BOOST_HANA_DEFINE_STRUCT(state, (T, v));
    };
#ifndef SPINFIRE_STATIC_FAIL
    template <class T>
    static T step(const params<T>& p, state<T>& s, const T& x) { return s.v = p.beta * s.v + x; }
#endif
};

int main() {
    float x = 0, s = 0;
    spinfire::neuron::population_kernel<no_step>::forward({1.f}, 1, 1, &x, &s, nullptr);
}
