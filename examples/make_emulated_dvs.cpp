// Makes an EMULATED CIFAR10-DVS: CIFAR-10 images (image folder or official binary release)
// turned into AEDAT 2.0 recordings by spinfire's event-camera emulator, in the CIFAR10-DVS
// layout <out>/<class>/cifar10_<class>_<i>.aedat, so the DVS pipeline runs without the real
// recordings. Results obtained on it must be labelled "emulated".
//
//   make_emulated_dvs --data build/data/cifar10-jpeg --out build/data/cifar10-dvs-emulated
//                     --per-class 100 --seed 1
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <spinfire/core/threads.hpp>
#include <spinfire/data/cifar10.hpp>
#include <spinfire/data/dvs_dataset.hpp>
#include <spinfire/data/emulated_dvs.hpp>

int main(int argc, char** argv) {
    using namespace spinfire;
    CLI::App app{"Emulated CIFAR10-DVS from CIFAR-10 images (AEDAT 2.0, CIFAR10-DVS layout)"};
    std::string data_dir, out_dir, split = "train", cache_dir, frames_cache;
    std::size_t steps = 10, side = 48;
    std::size_t per_class = 10, n_threads = 0;
    std::uint64_t seed = 1;
    data::emulator_params p;
    app.add_option("--data", data_dir,
                   "CIFAR-10 image-folder root (with train/, test/) or binary release directory")
        ->required();
    app.add_option("--out", out_dir, "output directory (class folders are created)")->required();
    app.add_option("--per-class", per_class, "recordings per class")->check(CLI::Range(1, 6000));
    app.add_option("--seed", seed, "emulator seed (sensor mismatch and noise)");
    app.add_option("--split", split, "CIFAR-10 split the images come from")
        ->check(CLI::IsMember({"train", "test"}));
    app.add_option("--cache", cache_dir, "decoded-image cache directory for image folders");
    app.add_option("--frames-cache", frames_cache,
                   "afterwards, decode both 9:1 splits into frames and cache them here");
    app.add_option("--steps", steps, "frames per sample (T) for --frames-cache")
        ->check(CLI::Range(1, 1000));
    app.add_option("--side", side, "frame side for --frames-cache")->check(CLI::Range(1, 1024));
    app.add_option("--threads", n_threads, "worker threads (0: all)");
    app.add_option("--duration-us", p.duration_us, "recording length in us");
    app.add_option("--step-us", p.step_us, "rendering interval in us");
    app.add_option("--loops", p.loops, "repetitions of the closed movement path");
    app.add_option("--amplitude", p.amplitude_px, "path radius in sensor pixels");
    app.add_option("--threshold", p.contrast_threshold, "contrast threshold (log intensity)");
    app.add_option("--threshold-sigma", p.threshold_sigma, "relative per-pixel threshold spread");
    app.add_option("--refractory-us", p.refractory_us, "refractory period in us");
    app.add_option("--noise-hz", p.noise_rate_hz, "background events per pixel per second");
    CLI11_PARSE(app, argc, argv);

    try {
        p.validate();
        std::unique_ptr<threads> budget;
        if (n_threads > 0) budget = std::make_unique<threads>(n_threads);
        const auto t0 = std::chrono::steady_clock::now();
        const auto s = split == "train" ? data::split::train : data::split::test;
        const data::image_set images = data::load_cifar10(data_dir, s, {per_class, cache_dir});
        fmt::print("read {} CIFAR-10 {} images from {} ({:.1f} s)\n", images.size(), split,
                   data_dir,
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        fmt::print(
            "emulating {} recordings ({} per class) into {} [EMULATED, not DVS recordings]\n",
            images.size(), per_class, out_dir);
        const auto t1 = std::chrono::steady_clock::now();
        std::size_t last_percent = 0;
        const auto sum = data::make_emulated_cifar10_dvs(
            images, out_dir, per_class, p, seed,
            [&](std::size_t done, std::size_t total, std::size_t events) {
                const std::size_t percent = done * 100 / total;
                if (percent == last_percent && done != total) return;
                last_percent = percent;
                const double el =
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
                const double rate = double(done) / el;
                fmt::print(
                    "\r[{:>6}/{}] {:3}%  {:6.1f} files/s  ETA {:5.0f} s  {:.1f} k events/file",
                    done, total, percent, rate, double(total - done) / rate,
                    double(events) / double(done) / 1e3);
                std::fflush(stdout);
            });
        const double el =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
        fmt::print(
            "\nwrote {} files, {} events ({:.1f} k per file) in {:.1f} s; see {}/README.txt\n",
            sum.files, sum.events, double(sum.events) / double(sum.files) / 1e3, el, out_dir);
        if (!frames_cache.empty()) {
            data::dvs_dataset_options o;
            o.frames = {steps, data::frame_split::by_count, side, side};
            o.cache_dir = frames_cache;
            for (const auto sp : {data::split::train, data::split::test}) {
                const auto t2 = std::chrono::steady_clock::now();
                const data::frame_set f = data::load_cifar10_dvs(out_dir, sp, o);
                fmt::print(
                    "{} split: {} samples of {}x2x{}x{} frames, cached in {} ({:.2f} s)\n",
                    data::split_name(sp), f.size(), steps, side, side, frames_cache,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t2).count());
            }
        }
    } catch (const std::exception& e) { // spinfire::error and the standard library's
        fmt::print(stderr, "error: {}\n", e.what());
        return 1;
    }
    return 0;
}
