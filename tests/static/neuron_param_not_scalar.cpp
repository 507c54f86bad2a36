// expect: neuron_model
// Every parameter and state field must be the generic scalar T (the library seeds one dual
// tangent per field): a model with an int parameter is rejected by the concept. Twin: T.
#include <spinfire/neuron/population.hpp>

struct int_param {
    template <class T>
    struct params {
#ifdef SPINFIRE_STATIC_FAIL
        BOOST_HANA_DEFINE_STRUCT(params, (T, beta), (int, steps));
#else
        BOOST_HANA_DEFINE_STRUCT(params, (T, beta), (T, steps));
#endif
    };
    template <class T>
    struct state {
        BOOST_HANA_DEFINE_STRUCT(state, (T, v));
    };
    template <class T>
    static T step(const params<T>& p, state<T>& s, const T& x) {
        s.v = p.beta * s.v + x;
        return s.v;
    }
};

int main() {
    spinfire::neuron::population_kernel<int_param> kernel;
    (void)kernel;
}
