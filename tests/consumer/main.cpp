// A project that only did find_package(spinfire): uses the umbrella header.
#include <cstdio>
#include <spinfire/spinfire.hpp>

int main() {
    using namespace spinfire;
    const vec3<double> a{1, 0, 0}, b{0, 1, 0};
    const auto c = cross(a, b);
    const auto z = rng::normal4<double>(1, 2, 3);
    std::printf("spinfire %s: cross.z = %g, first normal = %g\n", SPINFIRE_VERSION_STRING, c.z,
                z[0]);
    return c.z == 1.0 ? 0 : 1;
}
