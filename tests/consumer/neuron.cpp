// spinfire::neuron alone: the generated population kernel of the built-in LIF (beta 0.5,
// theta 1, soft reset) over 19 lanes (SIMD batches and a scalar tail) and 6 steps, against
// the update written out by hand, and against the spike train worked on paper for x = 0.6:
// h = 0.6, 0.9, 1.05 (spike, v = 0.05), 0.625, 0.9125, 1.05625 (spike) -> 0 0 1 0 0 1.
#include <cmath>
#include <cstdio>
#include <vector>

#include <spinfire/neuron.hpp>

int main() {
    using namespace spinfire;
    using kernel = neuron::generated_kernel<neuron::lif, float>;
    constexpr std::size_t T = 6, N = 19;
    const auto p = neuron::lif::defaults<float>();
    std::vector<float> x(T * N), spikes(T * N);
    for (std::size_t t = 0; t < T; ++t)
        for (std::size_t n = 0; n < N; ++n)
            x[t * N + n] =
                n == 0 ? 0.6f : 0.1875f * float(n % 7) - 0.125f * float(t); // exact in binary
    kernel::forward(p, T, N, x.data(), spikes.data(), nullptr);

    int failures = 0;
    for (std::size_t n = 0; n < N; ++n) {
        double v = 0;
        for (std::size_t t = 0; t < T; ++t) {
            const double h = 0.5 * v + double(x[t * N + n]);
            const double s = h >= 1.0 ? 1.0 : 0.0;
            v = h - s;
            failures += spikes[t * N + n] != float(s);
        }
    }
    const float paper[T] = {0, 0, 1, 0, 0, 1};
    for (std::size_t t = 0; t < T; ++t) failures += spikes[t * N] != paper[t];
    std::printf("neuron: %zu lanes x %zu steps, lane 0 spikes %g %g %g %g %g %g, %d wrong\n", N, T,
                spikes[0], spikes[N], spikes[2 * N], spikes[3 * N], spikes[4 * N], spikes[5 * N],
                failures);
    return failures == 0 ? 0 : 1;
}
