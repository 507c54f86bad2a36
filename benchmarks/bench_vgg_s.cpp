// VGG-s (DESIGN.md "Reference network") at batch 64, T = 4, 2 threads: training images/s
// (forward, backward, SGD step) and inference images/s, f32 and bf16. The PyTorch
// yardstick is ../shared/bench/torch_vgg_s.py; docs/results/performance.md has the ratios.
//   bench_vgg_s --benchmark_format=json [--threads N] [--batch B] [--steps T]
//               [--retain-memory 0|1]   (1, the default: spinfire::retain_freed_memory())
//   bench_vgg_s --profile-steps N [--profile-bf16 0|1] [--threads N]   (scripts/step_profile.sh)
#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include <spinfire/core/memory.hpp>
#include <spinfire/core/philox.hpp>
#include <spinfire/core/threads.hpp>
#include <spinfire/neuron/signed_lif.hpp>
#include <spinfire/nn.hpp>

namespace {

using namespace spinfire;
using lif = nn::spiking<neuron::signed_lif>; // beta 0.5, theta 1, soft reset, triangle

auto make_vgg_s() {
    return nn::sequential<nn::shape<3, 32, 32>>(
        nn::conv2d<3, 64, 3>{}, nn::batch_norm<64>{}, lif{}, nn::conv2d<64, 128, 3>{},
        nn::batch_norm<128>{}, lif{}, nn::avg_pool<2>{}, nn::conv2d<128, 256, 3>{},
        nn::batch_norm<256>{}, lif{}, nn::avg_pool<2>{}, nn::conv2d<256, 256, 3>{},
        nn::batch_norm<256>{}, lif{}, nn::avg_pool<2>{}, nn::flatten{}, nn::linear<4096, 10>{},
        nn::mean_over_time{});
}

struct settings {
    std::size_t threads = 2, batch = 64, steps = 4;
} cfg;

nn::tensor input_images(std::size_t batch) {
    // direct encoding: one [1, B, 3, 32, 32] image batch, broadcast over T by the first
    // spiking layer (so conv1 + BN1 run once for all T)
    nn::tensor x = nn::make_tensor(1, batch, 3, 32, 32);
    rng::stream s(0, 1);
    for (auto& v : x) v = float(s.normal());
    return x;
}

double peak_rss_mb() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return double(u.ru_maxrss) / 1024.0;
}

/// One training step of VGG-s on fixed images: forward, backward, SGD update.
struct training_step {
    decltype(make_vgg_s()) net = make_vgg_s();
    nn::sgd opt{net, {0.05, 0.9, 0.0, false}};
    nn::context ctx;
    nn::tensor x = input_images(cfg.batch);
    std::vector<int> labels;

    training_step(nn::precision prec, bool int8_spikes) {
        ctx.steps = cfg.steps;
        ctx.prec = prec;
        ctx.int8_spikes = int8_spikes;
        for (std::size_t i = 0; i < cfg.batch; ++i) labels.push_back(int(i % 10));
        (*this)(); // primitives created, buffers sized
    }
    float operator()() {
        const auto r = nn::cross_entropy(net.forward(x, ctx), labels);
        net.backward(r.grad, ctx);
        opt.step();
        ++ctx.iteration;
        return r.value;
    }
};

void train(benchmark::State& state, nn::precision prec, bool int8_spikes = false) {
    threads budget(cfg.threads);
    training_step step(prec, int8_spikes);
    for (auto _ : state) benchmark::DoNotOptimize(step());
    state.SetItemsProcessed(std::int64_t(state.iterations() * cfg.batch));
    state.counters["images_per_s"] =
        benchmark::Counter(double(state.iterations() * cfg.batch), benchmark::Counter::kIsRate);
    state.counters["graph_buffers_MB_per_image"] =
        double(step.net.activation_bytes()) / 1048576.0 / double(cfg.batch);
    state.counters["peak_rss_MB"] = peak_rss_mb();
    state.counters["native_bf16"] = nn::detail::native_bf16() ? 1 : 0;
}

/// --profile-steps N: N training steps after the warm-up one between two marker lines, for
/// scripts/step_profile.sh to split ONEDNN_VERBOSE=1's primitive times from the wall time.
int profile(std::size_t n, bool bf16) {
    threads budget(cfg.threads);
    training_step step(bf16 ? nn::precision::bf16 : nn::precision::f32, false);
    std::printf("spinfire_profile,begin\n");
    std::fflush(stdout);
    const auto t0 = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < n; ++i) step();
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::printf("spinfire_profile,end,%zu,%.3f\n", n, ms);
    return 0;
}

void infer(benchmark::State& state, nn::precision prec) {
    threads budget(cfg.threads);
    auto net = make_vgg_s();
    nn::context ctx;
    ctx.steps = cfg.steps;
    ctx.prec = prec;
    ctx.training = true;
    const nn::tensor x = input_images(cfg.batch);
    net.forward(x, ctx); // running statistics from one batch
    ctx.training = false;
    net.forward(x, ctx);
    for (auto _ : state) benchmark::DoNotOptimize(net.forward(x, ctx).data());
    state.SetItemsProcessed(std::int64_t(state.iterations() * cfg.batch));
    state.counters["images_per_s"] =
        benchmark::Counter(double(state.iterations() * cfg.batch), benchmark::Counter::kIsRate);
}

void train_f32(benchmark::State& s) { train(s, nn::precision::f32); }
void train_bf16(benchmark::State& s) { train(s, nn::precision::bf16); }
/// The same with spikes packed to int8 until backward: what that storage saves or costs.
void train_f32_int8_spikes(benchmark::State& s) { train(s, nn::precision::f32, true); }
void train_bf16_int8_spikes(benchmark::State& s) { train(s, nn::precision::bf16, true); }
void infer_f32(benchmark::State& s) { infer(s, nn::precision::f32); }
void infer_bf16(benchmark::State& s) { infer(s, nn::precision::bf16); }

} // namespace

BENCHMARK(train_f32)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3.0);
BENCHMARK(train_bf16)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3.0);
BENCHMARK(train_f32_int8_spikes)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3.0);
BENCHMARK(train_bf16_int8_spikes)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3.0);
BENCHMARK(infer_f32)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);
BENCHMARK(infer_bf16)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

int main(int argc, char** argv) {
    // our own options first (Google Benchmark rejects unknown ones)
    std::vector<char*> rest;
    std::size_t retain = 1, profile_steps = 0, profile_bf16 = 1;
    for (int i = 0; i < argc; ++i) {
        auto opt = [&](const char* name, std::size_t& v) {
            if (std::strcmp(argv[i], name) == 0 && i + 1 < argc) {
                v = std::size_t(std::strtoul(argv[++i], nullptr, 10));
                return true;
            }
            return false;
        };
        if (opt("--threads", cfg.threads) || opt("--batch", cfg.batch) ||
            opt("--steps", cfg.steps) || opt("--retain-memory", retain) ||
            opt("--profile-steps", profile_steps) || opt("--profile-bf16", profile_bf16))
            continue;
        rest.push_back(argv[i]);
    }
    if (profile_steps > 0) {
        if (retain) retain_freed_memory();
        return profile(profile_steps, profile_bf16 != 0);
    }
    int n = int(rest.size());
    benchmark::Initialize(&n, rest.data());
    benchmark::AddCustomContext("threads", std::to_string(cfg.threads));
    benchmark::AddCustomContext("batch", std::to_string(cfg.batch));
    benchmark::AddCustomContext("steps", std::to_string(cfg.steps));
    benchmark::AddCustomContext("retain_freed_memory",
                                retain && retain_freed_memory() ? "yes" : "no");
    benchmark::AddCustomContext("onednn_native_bf16", nn::detail::native_bf16() ? "yes" : "no");
    {
        // network statistics for the report (untrained weights, Gaussian images: the spike
        // rates of a trained network differ; these fix what the kernels had to process)
        threads budget(cfg.threads);
        auto net = make_vgg_s();
        nn::context ctx;
        ctx.steps = cfg.steps;
        ctx.collect_metrics = true;
        net.forward(input_images(cfg.batch), ctx);
        const auto m = nn::metrics(net, cfg.steps);
        std::string rates;
        for (const auto& l : m.layers)
            if (l.positive_rate + l.negative_rate > 0)
                rates += l.name + ":+" + std::to_string(l.positive_rate) + "/-" +
                         std::to_string(l.negative_rate) + " ";
        benchmark::AddCustomContext("parameters", std::to_string(m.parameters));
        benchmark::AddCustomContext("spike_rates", rates);
        benchmark::AddCustomContext("first_layer_macs_per_image", std::to_string(m.macs));
        benchmark::AddCustomContext("sops_per_image", std::to_string(m.sops));
        benchmark::AddCustomContext("energy_uJ_per_image", std::to_string(m.energy_pj * 1e-6));
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
}
