// Data pipeline throughput: events decoded per second (AEDAT 2.0, N-MNIST), frames produced
// per second, JPEG images decoded per second, augmented batches per second, emulated
// recordings per second. Inputs are synthetic (written in memory or to a temporary folder);
// set SPINFIRE_CIFAR10_JPEG=<.../cifar10-jpeg> to also time the real JPEG copy.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <stb/stb_image_write.h>

#include <spinfire/core/philox.hpp>
#include <spinfire/data/aedat.hpp>
#include <spinfire/data/cifar10.hpp>
#include <spinfire/data/emulator.hpp>
#include <spinfire/data/frame_source.hpp>
#include <spinfire/data/frames.hpp>
#include <spinfire/data/image_folder.hpp>
#include <spinfire/data/image_source.hpp>
#include <spinfire/data/loader.hpp>
#include <spinfire/data/nmnist.hpp>

using namespace spinfire;
namespace fs = std::filesystem;

namespace {

data::event_stream random_stream(std::size_t n, std::size_t side) {
    data::event_stream s;
    s.width = s.height = side;
    rng::stream r(1, 2);
    std::int64_t t = 0;
    s.events.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        t += r.below(8);
        s.events.push_back({t, std::uint16_t(r.below(std::uint32_t(side))),
                            std::uint16_t(r.below(std::uint32_t(side))), std::uint8_t(r.below(2))});
    }
    return s;
}

// Smooth synthetic images (JPEG-friendly), 10 classes.
data::image_set synthetic_images(std::size_t n) {
    data::image_set s;
    s.pixels = xt::xtensor<std::uint8_t, 4>::from_shape({n, 3, 32, 32});
    s.class_names.assign(data::cifar10_classes.begin(), data::cifar10_classes.end());
    rng::stream r(3, 4);
    for (std::size_t i = 0; i < n; ++i) {
        const double a = r.uniform(0.1, 0.5), b = r.uniform(0.1, 0.5), ph = r.uniform(0, 6.28);
        for (std::size_t c = 0; c < 3; ++c)
            for (std::size_t y = 0; y < 32; ++y)
                for (std::size_t x = 0; x < 32; ++x)
                    s.pixels(i, c, y, x) = std::uint8_t(
                        127 + 100 * std::sin(a * double(x) + b * double(y) + ph + double(c)) +
                        double(r.below(20)));
        s.labels.push_back(std::int32_t(i % 10));
    }
    return s;
}

void BM_aedat2_decode(benchmark::State& st) {
    const auto bytes = data::format_aedat2(random_stream(std::size_t(st.range(0)), 128));
    for (auto _ : st) {
        auto s = data::parse_aedat2(bytes, "mem");
        benchmark::DoNotOptimize(s.events.data());
    }
    st.SetItemsProcessed(st.iterations() * st.range(0));
    st.SetLabel("items = events");
}
BENCHMARK(BM_aedat2_decode)->Arg(200000);

void BM_nmnist_decode(benchmark::State& st) {
    const auto bytes = data::format_nmnist(random_stream(std::size_t(st.range(0)), 34));
    for (auto _ : st) {
        auto s = data::parse_nmnist(bytes, "mem");
        benchmark::DoNotOptimize(s.events.data());
    }
    st.SetItemsProcessed(st.iterations() * st.range(0));
    st.SetLabel("items = events");
}
BENCHMARK(BM_nmnist_decode)->Arg(200000);

// One CIFAR10-DVS-sized recording to T = 10 frames at 48x48 (area resampling) or 128x128.
void BM_frames(benchmark::State& st) {
    const auto s = random_stream(200000, 128);
    const data::frame_options o{10, data::frame_split::by_count, std::size_t(st.range(0)),
                                std::size_t(st.range(0))};
    auto f = xt::xtensor<float, 4>::from_shape({10, 2, o.height, o.width});
    for (auto _ : st) {
        data::integrate_frames(s, o, f.data());
        benchmark::DoNotOptimize(f.data());
    }
    st.SetItemsProcessed(st.iterations() * 10);
    st.counters["events/s"] = benchmark::Counter(double(st.iterations()) * 200000.0,
                                                 benchmark::Counter::kIsRate);
    st.SetLabel("items = frames (200k events into T = 10)");
}
BENCHMARK(BM_frames)->Arg(48)->Arg(128);

void BM_jpeg_folder_decode(benchmark::State& st) {
    fs::path root;
    std::size_t per_class = 100;
    if (const char* env = std::getenv("SPINFIRE_CIFAR10_JPEG")) {
        root = fs::path(env) / "test";
        per_class = 1000;
    } else {
        root = fs::temp_directory_path() / "spinfire_bench_jpeg" / "test";
        if (!fs::exists(root / "truck" / "0099.jpg")) {
            const auto s = synthetic_images(1000);
            for (std::size_t i = 0; i < s.size(); ++i) {
                const fs::path dir = root / data::cifar10_classes[std::size_t(s.labels[i])];
                fs::create_directories(dir);
                std::vector<std::uint8_t> px(3072);
                for (std::size_t c = 0; c < 3; ++c)
                    for (std::size_t k = 0; k < 1024; ++k) px[k * 3 + c] = s.image(i)[c * 1024 + k];
                char name[32];
                std::snprintf(name, sizeof name, "%04zu.jpg", i / 10);
                stbi_write_jpg((dir / name).c_str(), 32, 32, 3, px.data(), 90);
            }
        }
    }
    data::image_folder_options o;
    o.max_per_class = per_class;
    for (auto _ : st) {
        auto s = data::read_image_folder(root, o);
        benchmark::DoNotOptimize(s.pixels.data());
    }
    st.SetItemsProcessed(st.iterations() * std::int64_t(10 * per_class));
    st.SetLabel("items = images (all threads)");
}
BENCHMARK(BM_jpeg_folder_decode)->Unit(benchmark::kMillisecond)->UseRealTime();

// One augmented, normalized CIFAR-10 batch of 128 (crop 4 + flip + cutout 8).
void BM_augmented_batch(benchmark::State& st) {
    const auto s = synthetic_images(1024);
    const data::image_source src(s, data::cifar10_normalization(),
                                 {4, data::padding_mode::reflect, true, 8});
    data::loader<data::image_source> L(src, 128, true, true, 7);
    const auto order = L.order(0);
    std::size_t k = 0;
    for (auto _ : st) {
        auto b = L.make_batch(order, 0, k++ % L.batches_per_epoch());
        benchmark::DoNotOptimize(b.x.data());
    }
    st.SetItemsProcessed(st.iterations());
    st.SetLabel("items = batches of 128 (all threads)");
}
BENCHMARK(BM_augmented_batch)->UseRealTime();

// Frame batches [T, B, 2, H, W] with flip and shift: T = 10, B = 64, 48x48.
void BM_frame_batch(benchmark::State& st) {
    data::frame_set set;
    set.frames = xt::xtensor<float, 5>::from_shape({256, 10, 2, 48, 48});
    std::fill(set.frames.begin(), set.frames.end(), 1.0f);
    set.labels.assign(256, 0);
    const data::frame_source src(set, {true, 5});
    data::loader<data::frame_source> L(src, 64, true, true, 7);
    const auto order = L.order(0);
    std::size_t k = 0;
    for (auto _ : st) {
        auto b = L.make_batch(order, 0, k++ % L.batches_per_epoch());
        benchmark::DoNotOptimize(b.x.data());
    }
    st.SetItemsProcessed(st.iterations());
    st.SetLabel("items = batches of 64 x T 10 (all threads)");
}
BENCHMARK(BM_frame_batch)->UseRealTime();

// One emulated CIFAR10-DVS recording (default parameters: 1 s, 2 ms steps, 128x128).
void BM_emulate(benchmark::State& st) {
    const auto s = synthetic_images(1);
    std::size_t events = 0;
    for (auto _ : st) {
        auto e = data::emulate_dvs(s.image(0), 3, 32, 32, {}, 1, 0);
        events = e.size();
        benchmark::DoNotOptimize(e.events.data());
    }
    st.SetItemsProcessed(st.iterations());
    st.counters["events"] = double(events);
    st.SetLabel("items = recordings (one thread)");
}
BENCHMARK(BM_emulate)->Unit(benchmark::kMillisecond);

} // namespace

BENCHMARK_MAIN();
