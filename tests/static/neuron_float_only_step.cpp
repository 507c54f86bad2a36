// expect: steps_on<.*batch
// A step written for float only passes a float-only check and fails deep inside the SIMD
// kernel; the concept also checks an xsimd batch and a dual number, and names the batch.
// Twin: the same step as a template over T.
#include <spinfire/neuron/population.hpp>

struct float_only {
    template <class T>
    struct params {
        BOOST_HANA_DEFINE_STRUCT(params, (T, beta));
    };
    template <class T>
    struct state {
        BOOST_HANA_DEFINE_STRUCT(state, (T, v));
    };
#ifdef SPINFIRE_STATIC_FAIL
    using T = float;
#else
    template <class T>
#endif
    static T step(const params<T>& p, state<T>& s, const T& x) {
        s.v = p.beta * s.v + x;
        return s.v;
    }
};

int main() {
    spinfire::neuron::population_kernel<float_only> kernel;
    (void)kernel;
}
