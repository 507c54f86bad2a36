// expect: step_takes_state_by_reference
// A step that takes its state by value compiles in plain C++ and never integrates (it updates
// a copy): the concept rejects it and names the rule. Twin: the state by reference.
#include <spinfire/neuron/population.hpp>

struct copied_state {
    template <class T>
    struct params {
        BOOST_HANA_DEFINE_STRUCT(params, (T, beta));
    };
    template <class T>
    struct state {
        BOOST_HANA_DEFINE_STRUCT(state, (T, v));
    };
    template <class T>
#ifdef SPINFIRE_STATIC_FAIL
    static T step(const params<T>& p, state<T> s, const T& x) {
#else
    static T step(const params<T>& p, state<T>& s, const T& x) {
#endif
        s.v = p.beta * s.v + x;
        return s.v;
    }
};

int main() {
    spinfire::neuron::population_kernel<copied_state> kernel;
    (void)kernel;
}
