// spinfire::nn alone: a linear layer through oneDNN on a [T=2][B=2][3] input against the
// products worked by hand, under a one-thread budget that must also size the OpenMP team
// oneDNN loaded (the program links no OpenMP itself).
#include <cmath>
#include <cstdio>

#include <dlfcn.h>

#include <spinfire/core/threads.hpp>
#include <spinfire/nn/linear.hpp>

int main() {
    using namespace spinfire;
    const threads budget(1);
    nn::linear<3, 2> layer;
    const float w[2][3] = {{1, 2, 3}, {-1, 0.5f, 0}}, b[2] = {0.25f, -1};
    for (std::size_t o = 0; o < 2; ++o) {
        for (std::size_t i = 0; i < 3; ++i) layer.weight().value(o, i) = w[o][i];
        layer.bias().value(o) = b[o];
    }
    nn::tensor x = nn::make_tensor(2, 2, 3), y;
    const float in[4][3] = {{1, 0, 0}, {0, 1, -1}, {2, 4, 8}, {-0.5f, 0.5f, 0.25f}};
    for (std::size_t s = 0; s < 4; ++s)
        for (std::size_t i = 0; i < 3; ++i) x.data()[s * 3 + i] = in[s][i];
    nn::context ctx;
    ctx.training = false, ctx.steps = 2;
    layer.forward(x, y, ctx);

    // y = W x + b per sample: (1.25, -2), (-0.75, -0.5), (34.25, -1), (1.5, -0.25)
    const float expect[4][2] = {{1.25f, -2}, {-0.75f, -0.5f}, {34.25f, -1}, {1.5f, -0.25f}};
    int failures = y.size() != 8;
    for (std::size_t s = 0; s < 4 && !failures; ++s)
        for (std::size_t o = 0; o < 2; ++o)
            failures += std::abs(y.data()[s * 2 + o] - expect[s][o]) > 1e-5f;

    const auto omp_threads =
        reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "omp_get_max_threads"));
    const int team = omp_threads ? omp_threads() : -1;
    failures += team != 1;
    std::printf("nn: linear 3 -> 2 on 4 samples, y[2] = (%g, %g), OpenMP team %d, %d wrong\n",
                y.data()[4], y.data()[5], team, failures);
    return failures == 0 ? 0 : 1;
}
