// spinfire::train (everything, through the umbrella and the command-line header): a CIFAR-10
// binary file written and read back byte for byte, and the evaluator's class decision
// (argmax of the output averaged over T) on an output worked by hand.
#include <cstdio>
#include <filesystem>

#include <spinfire/data/cifar10_binary.hpp>
#include <spinfire/train.hpp>
#include <spinfire/train/cli.hpp>

int main() {
    using namespace spinfire;
    data::image_set set;
    set.class_names.assign(data::cifar10_classes.begin(), data::cifar10_classes.end());
    set.pixels = xt::xtensor<std::uint8_t, 4>::from_shape({3, 3, 32, 32});
    for (std::size_t i = 0; i < set.pixels.size(); ++i) set.pixels.data()[i] = std::uint8_t(i * 7);
    set.labels = {3, 9, 0};
    const auto file = std::filesystem::temp_directory_path() / "spinfire_consumer_cifar.bin";
    data::write_cifar10_binary(file, set);
    const auto back = data::read_cifar10_binary({file});
    std::filesystem::remove(file);
    int failures = back.labels != set.labels || back.pixels != set.pixels;

    // [T=2][B=2][3 classes]: sample 0 sums to (1, 3, 2) -> class 1 although step 0 says 2;
    // sample 1 sums to (4, 0, 1) -> class 0.
    nn::tensor out = nn::make_tensor(2, 2, 3);
    const float v[12] = {0, 1, 2, 2, 0, 1, /* t = 1 */ 1, 2, 0, 2, 0, 0};
    std::copy(v, v + 12, out.data());
    const auto p = train::predictions(out);
    failures += p.size() != 2 || p[0] != 1 || p[1] != 0;
    std::printf("train: %zu CIFAR-10 records round trip, predictions (%d, %d), %d wrong\n",
                back.size(), p[0], p[1], failures);
    return failures == 0 ? 0 : 1;
}
