// Trains a VGGSNN-like spiking network with signed LIF neurons (ideal or MTJ-fitted) on
// CIFAR10-DVS: a directory of class folders holding cifar10_<class>_<i>.aedat (the real
// recordings, or the EMULATED set made by examples/make_emulated_dvs). Events become
// T = 10 frames of 2 x 48 x 48 by equal event count; decoded frames are cached.
//
//   train_cifar10_dvs --data CIFAR10-DVS --out runs/dvs --neuron mtj --split 9:1
//   train_cifar10_dvs --data ... --out runs/eval --evaluate runs/dvs/checkpoint.bin
//   mpirun -np 2 train_cifar10_dvs --data ... --out runs/dp --threads 1 [--sync-bn]
//       (built with -DSPINFIRE_WITH_MPI=ON: data-parallel, each rank half of --batch)
//
// Same options, progress, metrics, checkpoints and outputs as train_cifar10.
#include <charconv>
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <spinfire/core/memory.hpp>
#include <spinfire/data/dvs_dataset.hpp>
#include <spinfire/data/frame_source.hpp>
#include <spinfire/train.hpp>
#include <spinfire/train/cli.hpp>

#include "training_ranks.hpp"

namespace {

using namespace spinfire;

/// The width W of a network the trainer names "vggsnn<W>"; 0 for any other name.
std::size_t vggsnn_width(const std::string& network) {
    const std::string prefix = "vggsnn<";
    if (network.rfind(prefix, 0) != 0 || network.back() != '>') return 0;
    std::size_t w = 0;
    const char* first = network.data() + prefix.size();
    const char* last = network.data() + network.size() - 1;
    const auto r = std::from_chars(first, last, w);
    return r.ptr == last && r.ec == std::errc{} ? w : 0;
}

} // namespace

int main(int argc, char** argv) {
    train::prefer_passive_openmp(argv);
    retain_freed_memory();
    train::parallel_options parallel;
    const examples::training_ranks ranks(argc, argv, parallel);
    CLI::App app{"Train a signed-LIF spiking network on CIFAR10-DVS (real or emulated)"};
    train::run_options o = train::cifar10_dvs_recipe();
    train::add_options(app, o);
    examples::training_ranks::add_options(app, parallel);
    std::string split = "9:1", cache, checkpoint;
    // W = 8 (8, 16, 32, 32, 64 x 4 channels) trains T = 10 at 48 x 48 at ~29 samples/s per
    // core: ~21 epochs of the full emulated set in 105 minutes, and underfits there
    // (docs/results/cifar10_dvs.md); 16 has 4x the MACs. TET's VGGSNN is 64.
    std::size_t width = 8;
    app.add_option("--width", width,
                   "VGGSNN width W (channels W, 2W, 4W, 4W, 8W x 4); MACs grow as W^2 (a model "
                   "file sets it unless given)")
        ->check(CLI::IsMember({8, 16}))
        ->capture_default_str();
    app.add_option("--split", split,
                   "9:1 (per class, the last tenth by index is test) | 0-699 (TET: 0-699 train, "
                   "700-999 test) "
                   "| all (with --evaluate: every recording is test, e.g. a held-out emulated set)")
        ->check(CLI::IsMember({"9:1", "0-699", "all"}))
        ->capture_default_str();
    app.add_option("--cache", cache, "frame cache directory (default: <out>/frames)");
    app.add_option("--evaluate", checkpoint,
                   "evaluate this checkpoint or model file on the test split instead of training");
    CLI11_PARSE(app, argc, argv);
    try {
        train::check_device_loop(o, !checkpoint.empty());
        // A model file names its network: --width defaults to it.
        if (!checkpoint.empty() && app.count("--width") == 0)
            if (const auto m = train::read_model_metadata(checkpoint))
                if (const auto w = vggsnn_width(m->value("network", std::string())); w != 0)
                    width = w;
        if (width != 8 && width != 16)
            throw parameter_error("--width", "this program builds vggsnn<8> and vggsnn<16>, not " +
                                                 std::to_string(width));
        threads budget(o.threads);
        data::dvs_dataset_options dopt;
        dopt.frames.steps = o.steps;
        dopt.frames.height = dopt.frames.width = 48;
        if (split == "all" && checkpoint.empty())
            throw parameter_error("split",
                                  "'all' leaves nothing to train on: use it with --evaluate");
        dopt.rule = split == "9:1"     ? data::dvs_split_rule::per_class_9_1
                    : split == "0-699" ? data::dvs_split_rule::index_700
                                       : data::dvs_split_rule::all_test;
        dopt.cache_dir = cache.empty() ? o.out + "/frames" : cache;
        std::filesystem::create_directories(dopt.cache_dir);
        data::frame_set train_set, test_set;
        ranks.root_first([&] { // rank 0 fills the frame cache, the others read it
            if (checkpoint.empty()) {
                dopt.max_per_class = o.train_per_class;
                train_set = data::load_cifar10_dvs(o.data, data::split::train, dopt);
            }
            dopt.max_per_class = o.test_per_class;
            test_set = data::load_cifar10_dvs(o.data, data::split::test, dopt);
        });
        const bool emulated = std::filesystem::exists(std::filesystem::path(o.data) / "README.txt");
        io::json dataset = {
            {"name", emulated ? "CIFAR10-DVS (EMULATED, see README.txt)" : "CIFAR10-DVS"},
            {"path", o.data},
            {"split", split},
            {"frames", "T x 2 x 48 x 48, equal event count"},
            {"train_samples", train_set.size()},
            {"test_samples", test_set.size()}};
        fmt::print("{} from {}: {} training, {} test recordings (split {})\n",
                   dataset["name"].get<std::string>(), o.data, train_set.size(), test_set.size(),
                   split);

        auto train_or_evaluate = [&](auto net) {
            const std::string name = "vggsnn<" + std::to_string(width) + ">";
            std::size_t macs = 0;
            for (const auto& l : nn::metrics(net, o.steps).layers) macs += l.macs_per_step;
            fmt::print("network {}: {} parameters, {:.1f} M MACs per sample and time step\n", name,
                       net.parameter_count(), double(macs) * 1e-6);
            const data::frame_source test_src(test_set);
            train::run_description d{name, dataset, test_set.class_names};
            if (!checkpoint.empty()) {
                if (!ranks.root()) return; // rank 0 evaluates alone
                const auto e = train::evaluate_checkpoint(net, test_src, o, d, checkpoint);
                fmt::print("test accuracy {:.2f} % on {} recordings; {}; written to {}\n",
                           100 * e.accuracy(), e.samples, train::activity_note(e), o.out);
                if (const auto note = train::recorded_note(e); !note.empty())
                    fmt::print("{}\n", note);
                return;
            }
            data::frame_augment_options aug; // flip + shifts up to 5 pixels
            aug.alternate_flip = o.alternate_flip;
            const data::frame_source train_src(train_set, aug);
            train::train_with_teacher(net, train_src, test_src, o, d, parallel);
        };
        if (width == 16)
            train_or_evaluate(train::vggsnn<train::neuron_model, 16>());
        else
            train_or_evaluate(train::vggsnn<train::neuron_model, 8>());
    } catch (const std::exception& e) {
        fmt::print(stderr, "error: {}\n", e.what());
        ranks.abort_on_error();
        return 1;
    }
    return 0;
}
