// The library in an unoptimised (-O0, CMake's Debug) build: it compiles where GCC 12 turns
// AVX-512BW blends into macros (core/intrinsics.hpp), and its SIMD log agrees with std::log.
#include <cmath>
#include <cstdio>

#include <spinfire/spinfire.hpp>

int main() {
    using batch = spinfire::simd::batch<double>;
    double x[batch::size], y[batch::size];
    for (std::size_t i = 0; i < batch::size; ++i) x[i] = 0.25 + 1.5 * double(i);
    spinfire::math::log(batch::load_unaligned(x)).store_unaligned(y);
    for (std::size_t i = 0; i < batch::size; ++i)
        if (std::abs(y[i] - std::log(x[i])) > 1e-15 * std::abs(std::log(x[i])) + 1e-300) {
            std::printf("lane %zu: log(%g) = %.17g, std::log %.17g\n", i, x[i], y[i],
                        std::log(x[i]));
            return 1;
        }
    std::printf("%zu lanes agree with std::log\n", batch::size);
    return 0;
}
