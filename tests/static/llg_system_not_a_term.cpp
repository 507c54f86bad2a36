// expect: template constraint failure|constraints not satisfied
// An LLG system only accepts terms (field, torque or thermal): a plain struct is rejected.
#include <spinfire/llg/field_terms.hpp>
#include <spinfire/llg/system.hpp>

template <class T>
struct not_a_term {
    T k;
};

int main() {
    spinfire::llg::system<spinfire::llg::uniaxial, not_a_term>::params<double> p;
    (void)p;
}
