// Trains a spiking network with signed LIF neurons (ideal or MTJ-fitted) on CIFAR-10, from
// the official binary release or an image-folder copy, and evaluates it.
//
//   train_cifar10 --data cifar-10-batches-bin --out runs/ideal --neuron ideal --time-budget 10
//   train_cifar10 --data ... --out runs/mtj --neuron mtj --epochs 30       (Ctrl-C, then --resume)
//   train_cifar10 --data ... --out runs/eval --evaluate runs/mtj/checkpoint.bin
//   train_cifar10 --data ... --out runs/eval --evaluate models/<file>.bin   (a model file:
//       weights only; it names its network, neuron and T and the accuracy it reproduces)
//   train_cifar10 --data ... --out runs/kd --teacher-budget 20 --time-budget 60
//       (an ANN teacher first, in runs/kd/teacher; the SNN starts from it and distils it)
//   mpirun -np 4 train_cifar10 --data ... --out runs/dp --threads 1 [--sync-bn]
//       (built with -DSPINFIRE_WITH_MPI=ON: data-parallel, each rank a quarter of --batch)
//
// Writes <out>/metrics.jsonl (per epoch), metrics.json (final, with test_accuracy),
// evaluation.json, confusion.csv/png, predictions.csv, checkpoint.bin/json, weights/*.npy +
// manifest.json and model.bin (the model file).
#include <charconv>
#include <cstdio>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <spinfire/core/memory.hpp>
#include <spinfire/data/augment.hpp>
#include <spinfire/data/cifar10.hpp>
#include <spinfire/data/image_source.hpp>
#include <spinfire/train.hpp>
#include <spinfire/train/cli.hpp>

#include "training_ranks.hpp"

namespace {

using namespace spinfire;

template <class Net>
int run(Net net, const std::string& name, const data::image_set* train_set,
        const data::image_set& test_set, const train::run_options& o, io::json dataset,
        const std::string& checkpoint, const train::parallel_options& parallel) {
    const auto norm = data::cifar10_normalization();
    const data::image_source test_src(test_set, norm);
    train::run_description d{name, std::move(dataset), test_set.class_names};
    std::size_t macs = 0;
    for (const auto& l : nn::metrics(net, o.steps).layers) macs += l.macs_per_step;
    fmt::print("network {}: {} parameters, {:.1f} M MACs per image and time step\n", name,
               net.parameter_count(), double(macs) * 1e-6);
    if (!checkpoint.empty()) {
        const auto e = train::evaluate_checkpoint(net, test_src, o, d, checkpoint);
        fmt::print("test accuracy {:.2f} % on {} images; {}; {:.3g} SOPs, {:.3g} uJ per image; "
                   "written to {}\n",
                   100 * e.accuracy(), e.samples, train::activity_note(e), e.network.sops,
                   e.network.energy_pj * 1e-6, o.out);
        if (const auto note = train::recorded_note(e); !note.empty()) fmt::print("{}\n", note);
        return 0;
    }
    data::augment_options aug; // random crop with 4-pixel zero padding + flip (+ cutout)
    aug.alternate_flip = o.alternate_flip;
    aug.cutout = o.cutout;
    const data::image_source train_src(*train_set, norm, aug);
    train::train_with_teacher(net, train_src, test_src, o, d, parallel);
    return 0;
}

/// --net and --width of a network as the trainer names it ("cifar10_fast<48>"); nullopt for
/// a name this program does not build.
std::optional<std::pair<std::string, int>> network_options(const std::string& network) {
    if (network == "vgg_s") return std::pair{std::string("vgg_s"), 32};
    for (const std::string kind : {"fast", "deep", "large"}) {
        const std::string prefix = "cifar10_" + kind + "<";
        if (network.rfind(prefix, 0) != 0 || network.back() != '>') continue;
        int width = 0;
        const char* first = network.data() + prefix.size();
        const char* last = network.data() + network.size() - 1;
        if (const auto r = std::from_chars(first, last, width);
            r.ptr == last && r.ec == std::errc{})
            return std::pair{kind, width};
    }
    return std::nullopt;
}

} // namespace

int main(int argc, char** argv) {
    train::prefer_passive_openmp(argv);
    retain_freed_memory();
    train::parallel_options parallel;
    const examples::training_ranks ranks(argc, argv, parallel);
    CLI::App app{
        "Train a signed-LIF spiking network on CIFAR-10 (official binary release or image folder)"};
    train::run_options o = train::cifar10_recipe();
    train::add_options(app, o);
    examples::training_ranks::add_options(app, parallel);
    std::string net_name = "fast", cache, checkpoint;
    int width = 32;
    app.add_option(
           "--net", net_name,
           "fast (CPU time-to-accuracy, see --width) | deep (fast + a second conv at 4x4 "
           "and 2x2, width 32) | large (two convs per stage at W, 4W, 4W channels, W = --width 64, "
           "96 or 128) | "
           "vgg_s (DESIGN.md reference)")
        ->check(CLI::IsMember({"fast", "deep", "large", "vgg_s"}))
        ->capture_default_str();
    app.add_option(
           "--width", width,
           "channels of the first conv (fast: x2, x4, x8 after; large: x4 after); MACs grow as "
           "width^2")
        ->check(CLI::IsMember({32, 48, 64, 96, 128}))
        ->capture_default_str();
    app.add_option("--cutout", o.cutout,
                   "side of a square of each training image set to 0 (the channel mean) at a "
                   "random centre, clipped at the border (0: off)")
        ->capture_default_str();
    app.add_option("--cache", cache,
                   "decoded-image cache directory for image folders (decode once)");
    app.add_option("--evaluate", checkpoint,
                   "evaluate this checkpoint or model file on the test set instead of training "
                   "(a model file sets --net and --width unless given)");
    CLI11_PARSE(app, argc, argv);
    try {
        train::check_device_loop(o, !checkpoint.empty());
        // A model file names its network: --net and --width default to it.
        if (!checkpoint.empty() && app.count("--net") == 0 && app.count("--width") == 0)
            if (const auto m = train::read_model_metadata(checkpoint))
                if (const auto nw = network_options(m->value("network", std::string())))
                    std::tie(net_name, width) = *nw;
        // Reject a width the chosen network is not built for before any data is loaded.
        const bool width_ok =
            net_name == "vgg_s" || (net_name == "deep" && width == 32) ||
            (net_name == "large" && (width == 64 || width == 96 || width == 128)) ||
            (net_name == "fast" && width <= 64);
        if (!width_ok)
            throw parameter_error("--width",
                                  fmt::format("--net {} is not built for width {} (fast: "
                                              "32, 48, 64; deep: 32; large: 64, 96, 128)",
                                              net_name, width));
        threads budget(o.threads);
        const bool binary = data::is_cifar10_binary_dir(o.data, data::split::test);
        data::image_set train_set, test_set;
        ranks.root_first([&] { // rank 0 fills the --cache, the others read it
            if (checkpoint.empty())
                train_set =
                    data::load_cifar10(o.data, data::split::train, {o.train_per_class, cache});
            test_set = data::load_cifar10(o.data, data::split::test, {o.test_per_class, cache});
        });
        // rank 0 evaluates alone; the others leave only now, after the cache's barriers
        if (!checkpoint.empty() && !ranks.root()) return 0;
        io::json dataset = {
            {"name", "CIFAR-10"},
            {"source", binary ? "official binary release" : "image folder (e.g. the JPEG copy)"},
            {"path", o.data},
            {"train_samples", train_set.size()},
            {"test_samples", test_set.size()}};
        fmt::print("CIFAR-10 from {} ({}): {} training, {} test images\n", o.data,
                   dataset["source"].get<std::string>(), train_set.size(), test_set.size());
        auto train_or_evaluate = [&](auto net, const std::string& name) {
            return run(std::move(net), name, &train_set, test_set, o, dataset, checkpoint,
                       parallel);
        };
        if (net_name == "vgg_s")
            return train_or_evaluate(train::vgg_s<train::neuron_model>(), "vgg_s");
        if (net_name == "deep")
            return train_or_evaluate(train::cifar10_deep<train::neuron_model, 32>(),
                                     "cifar10_deep<32>");
        if (net_name == "large") {
            const std::string large = fmt::format("cifar10_large<{}>", width);
            if (width == 96)
                return train_or_evaluate(train::cifar10_large<train::neuron_model, 96>(), large);
            if (width == 128)
                return train_or_evaluate(train::cifar10_large<train::neuron_model, 128>(), large);
            return train_or_evaluate(train::cifar10_large<train::neuron_model, 64>(), large);
        }
        const std::string fast = fmt::format("cifar10_fast<{}>", width);
        if (width == 48)
            return train_or_evaluate(train::cifar10_fast<train::neuron_model, 48>(), fast);
        if (width == 64)
            return train_or_evaluate(train::cifar10_fast<train::neuron_model, 64>(), fast);
        return train_or_evaluate(train::cifar10_fast<train::neuron_model, 32>(), fast);
    } catch (const std::exception& e) { // spinfire::error and the standard library's
        fmt::print(stderr, "error: {}\n", e.what());
        ranks.abort_on_error();
        return 1;
    }
}
