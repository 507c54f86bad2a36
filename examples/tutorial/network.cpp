// Tutorial 4 (docs/guide.md): a small spiking network as a compile-time graph, trained a few
// SGD steps by BPTT on a toy task, then evaluated on images it has not seen.
#include <cstdio>
#include <type_traits>
#include <vector>

#include <spinfire/core/philox.hpp>
#include <spinfire/neuron/signed_lif.hpp>
#include <spinfire/nn.hpp>

using namespace spinfire;

// 1 x 8 x 8 noise images with a bright 2 x 2 blob; the label says which half holds it.
nn::tensor images(std::size_t batch, std::uint64_t seed, std::vector<int>& labels) {
    nn::tensor x = nn::make_tensor(1, batch, 1, 8, 8); // [T][B][C][H][W]; T = 1: direct encoding
    rng::stream r(seed, 0);
    labels.resize(batch);
    for (std::size_t b = 0; b < batch; ++b) {
        float* img = x.data() + b * 64;
        for (std::size_t i = 0; i < 64; ++i) img[i] = float(0.3 * r.normal());
        labels[b] = int(r.next_u32() % 2);
        const std::size_t row = r.next_u32() % 7, col = 4 * std::size_t(labels[b]) + r.next_u32() % 3;
        for (std::size_t i : {0, 1, 8, 9}) img[row * 8 + col + i] += 1.5f;
    }
    return x;
}

int main() {
    // [graph]
    // Shapes are checked at compile time: a layer that cannot take its
    // predecessor's output is a static_assert naming both.
    auto net = nn::sequential<nn::shape<1, 8, 8>>(
        nn::conv2d<1, 4, 3>{}, nn::batch_norm<4>{}, nn::spiking<neuron::signed_lif>{},
        nn::avg_pool<2>{}, nn::flatten{}, nn::linear<64, 2>{}, nn::mean_over_time{});
    static_assert(std::is_same_v<decltype(net)::output_shape, nn::shape<2>>);
    net.initialize(1);
    std::printf("parameters: %zu\n", net.parameter_count());
    // [/graph]

    // [train]
    // 60 SGD steps of 32 images, T = 4 SNN steps per image.
    nn::sgd opt(net, {0.1, 0.9, 5e-4, true});
    nn::context ctx;
    ctx.steps = 4;
    std::vector<int> labels;
    double first = 0, last = 0;
    for (std::uint64_t it = 0; it < 60; ++it) {
        ctx.iteration = it;
        const nn::tensor x = images(32, 100 + it, labels);
        const auto r = nn::cross_entropy(net.forward(x, ctx), labels);
        net.backward(r.grad, ctx);
        opt.step();
        if (it == 0) first = r.value;
        last = r.value;
        if (it % 20 == 0 || it == 59)
            std::printf("step %2llu  loss %.4f  batch accuracy %.2f\n", (unsigned long long)it,
                        r.value, double(r.correct) / 32);
    }
    // [/train]

    // [evaluate]
    // Inference mode (running batch-norm statistics) on 512 new images.
    ctx.training = false;
    const nn::tensor x = images(512, 7, labels);
    const auto test = nn::cross_entropy(net.forward(x, ctx), labels);
    const double accuracy = double(test.correct) / 512;
    std::printf("loss %.4f -> %.4f; held-out accuracy %.3f\n", first, last, accuracy);
    return last < 0.5 * first && accuracy > 0.9 ? 0 : 1;
    // [/evaluate]
}
