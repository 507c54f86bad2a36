// Writes the seed corpus of every fuzz target from the library's own writers:
//     fuzz_make_seeds <out-dir> <spinfire source dir> [<shared data dir>]
// <out-dir>/<reader>/ gets valid files of each format (and the real samples of ../shared/data
// where the format has one); fuzzing grows and minimises them into tests/fuzz/corpus.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <spinfire/core/philox.hpp>
#include <spinfire/data/aedat.hpp>
#include <spinfire/data/cifar10_binary.hpp>
#include <spinfire/data/dvs_dataset.hpp>
#include <spinfire/data/nmnist.hpp>
#include <spinfire/device/presets.hpp>
#include <spinfire/fit/fitted_neuron.hpp>
#include <spinfire/fit/protocol_json.hpp>
#include <spinfire/fit/trace.hpp>
#include <spinfire/nn/checkpoint.hpp>
#include <spinfire/nn/optimizer.hpp>
#include <spinfire/train/model_file.hpp>
#include <spinfire/train/networks.hpp>
#include <spinfire/train/neuron_choice.hpp>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

namespace fs = std::filesystem;
using namespace spinfire;

namespace {
fs::path dir(const fs::path& out, const std::string& reader) {
    fs::create_directories(out / reader);
    return out / reader;
}

void copy_if_present(const fs::path& from, const fs::path& to) {
    if (fs::is_regular_file(from)) fs::copy_file(from, to, fs::copy_options::overwrite_existing);
}

data::event_stream some_events(std::size_t n, std::size_t side, std::uint64_t seed) {
    data::event_stream s;
    s.width = s.height = side;
    rng::stream r(seed, 0);
    std::int64_t t = 0;
    for (std::size_t i = 0; i < n; ++i) {
        data::event e;
        t += std::int64_t(r.below(500));
        e.t = t;
        e.x = std::uint16_t(r.below(side));
        e.y = std::uint16_t(r.below(side));
        e.p = std::uint8_t(r.below(2));
        s.events.push_back(e);
    }
    return s;
}

void write(const fs::path& p, const std::vector<std::uint8_t>& b) {
    std::ofstream os(p, std::ios::binary);
    os.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}
} // namespace

int main(int argc, char** argv) try {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s <out-dir> <spinfire source dir> [<shared data dir>]\n",
                     argv[0]);
        return 2;
    }
    const fs::path out = argv[1], src = argv[2], shared = argc > 3 ? argv[3] : "";

    // CIFAR-10 binary: three records
    data::image_set set;
    set.pixels = xt::xtensor<std::uint8_t, 4>::from_shape({3, 3, 32, 32});
    rng::stream r(1, 0);
    for (auto& v : set.pixels) v = std::uint8_t(r.below(256));
    set.labels = {0, 9, 4};
    set.class_names.assign(data::cifar10_classes.begin(), data::cifar10_classes.end());
    data::write_cifar10_binary(dir(out, "cifar10_binary") / "three.bin", set);

    // images: a PNG and a JPEG of the first record (real CIFAR-10 JPEGs: see corpus/README.md)
    {
        std::vector<std::uint8_t> rgb(32 * 32 * 3);
        for (std::size_t c = 0; c < 3; ++c)
            for (std::size_t i = 0; i < 32 * 32; ++i) rgb[i * 3 + c] = set.image(0)[c * 1024 + i];
        const auto png = (dir(out, "image") / "written.png").string();
        const auto jpg = (dir(out, "image") / "written.jpg").string();
        if (!stbi_write_png(png.c_str(), 32, 32, 3, rgb.data(), 32 * 3) ||
            !stbi_write_jpg(jpg.c_str(), 32, 32, 3, rgb.data(), 90))
            throw error("cannot write the image seeds");
    }

    // AEDAT 2.0: the real jAER header and a written recording
    if (!shared.empty())
        copy_if_present(shared / "dvs/jaer-aedat2-header-only.aedat",
                        dir(out, "aedat2") / "jaer-header-only.aedat");
    write(dir(out, "aedat2") / "written.aedat",
          data::format_aedat2(some_events(40, 128, 2), {}, {"a comment"}));

    // N-MNIST: the real sample and a short written one
    if (!shared.empty())
        copy_if_present(shared / "dvs/nmnist-sample.bin", dir(out, "nmnist") / "sample.bin");
    write(dir(out, "nmnist") / "written.bin", data::format_nmnist(some_events(30, 34, 3)));

    // JSON files: the ones the results ship, and the library's defaults written out
    copy_if_present(src / "docs/results/device_in_the_loop/device_x4.json",
                    dir(out, "device_json") / "device_x4.json");
    io::write_json_file(dir(out, "device_json") / "default.json",
                        io::to_json(device::orthogonal_mtj()));
    copy_if_present(src / "docs/results/device_in_the_loop/protocol_half_swing.json",
                    dir(out, "protocol_json") / "half_swing.json");
    io::write_json_file(dir(out, "protocol_json") / "default.json", fit::to_json(fit::protocol{}));
    copy_if_present(src / "docs/results/orthogonal_mtj_fitted.json",
                    dir(out, "fitted_neuron_json") / "orthogonal_mtj_fitted.json");

    // trace CSV: a signed LIF driven by a sine
    fit::trace tr;
    tr.v0 = 0;
    double v = 0;
    for (int t = 0; t < 24; ++t) {
        const double x = 0.6 * std::sin(0.5 * t), h = 0.9 * v + x;
        const int s = h > 1 ? 1 : h < -1 ? -1 : 0;
        v = s ? 0 : h;
        tr.push_back(x, h, v, s);
    }
    fit::write_trace_csv(dir(out, "trace_csv") / "lif.csv", tr);

    // model files: the width-4 cifar10_fast the model-file target loads, bare and as a model
    // file with its metadata; checkpoints: a small network with its optimizer state and a
    // training state as metadata
    auto net = train::cifar10_fast<train::neuron_model, 4>();
    net.initialize(7);
    nn::save_checkpoint(dir(out, "model_file") / "fast4.bin", net);
    train::save_model((dir(out, "model_file") / "fast4_model.bin").string(), net,
                      {{"network", "cifar10_fast<4>"},
                       {"step", 1},
                       {"options", {{"neuron", "ideal"}, {"steps", 2}, {"precision", "f32"}}},
                       {"recorded", {{"test_accuracy", 0.5}, {"isa", train::build_isa()}}}});
    auto small = nn::sequential<nn::shape<4>>(nn::linear<4, 3>{});
    small.initialize(7);
    nn::adamw opt(small, {});
    nn::save_checkpoint(dir(out, "checkpoint") / "linear_adamw.bin", small, &opt, 3,
                        R"({"format": "spinfire.train_state.v1", "step": 3})");

    // DVS frame cache: 3 recordings of 2 x 2 x 4 x 4, the key the target uses
    data::frame_set fs_;
    fs_.frames = xt::xtensor<float, 5>::from_shape({3, 2, 2, 4, 4});
    for (auto& f : fs_.frames) f = float(r.below(4)) * 0.25f;
    fs_.labels = {1, 2, 3};
    data::detail::write_frames_cache(dir(out, "frames_cache") / "three.bin", "fuzz key\n", fs_);
    std::printf("seeds written under %s\n", out.c_str());
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_make_seeds: %s\n", e.what());
    return 1;
}
