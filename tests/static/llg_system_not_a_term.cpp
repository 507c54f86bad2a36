// expect: none of the three kinds
// An LLG system only accepts terms (field, torque or thermal): a plain struct is rejected,
// and the message names the term. Twin (SPINFIRE_STATIC_FAIL undefined): a real term.
#include <spinfire/llg/field_terms.hpp>
#include <spinfire/llg/system.hpp>

template <class T>
struct not_a_term {
    T k;
};

int main() {
#ifdef SPINFIRE_STATIC_FAIL
    spinfire::llg::system<spinfire::llg::uniaxial, not_a_term>::params<double> p;
#else
    spinfire::llg::system<spinfire::llg::uniaxial, spinfire::llg::zeeman>::params<double> p;
#endif
    (void)p;
}
