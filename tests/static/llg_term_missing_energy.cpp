// expect: a field term needs `T energy
// A field term without energy(): the message names the missing member, and the line
// "in instantiation of check_term<bias_field<double>>" names the term. Twin: energy() given.
#include <spinfire/llg/field_terms.hpp>
#include <spinfire/llg/system.hpp>

template <class T>
struct bias_field {
    T bx = T(0.01);
    void field(const spinfire::vec3<T>&, spinfire::vec3<T>& b) const { b.x += bx; }
#ifndef SPINFIRE_STATIC_FAIL
    T energy(const spinfire::vec3<T>& m) const { return -bx * m.x; }
#endif
};

int main() {
    spinfire::llg::system<spinfire::llg::uniaxial, bias_field>::params<double> p;
    return spinfire::llg::term<bias_field>(p).bx > 0 ? 0 : 1;
}
