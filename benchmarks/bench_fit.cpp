// fit/: fit time per trace length, and sweep throughput (grid points per second with their
// trace length; also device-steps per second through the LLG ensemble).
#include <benchmark/benchmark.h>
#include <spinfire/core/philox.hpp>
#include <spinfire/core/threads.hpp>
#include <spinfire/fit.hpp>

using namespace spinfire;

static void BM_fit_signed_lif(benchmark::State& state) {
    const auto n = std::size_t(state.range(0));
    std::vector<double> x(n);
    rng::stream s(1, 0);
    for (auto& e : x) e = s.normal();
    fit::signed_lif_params p{0.8, 0.4, 1.0, 0.9, 0.0, 1.5, true};
    const auto tr = fit::simulate(p, x);
    for (auto _ : state) {
        auto r = fit::fit_signed_lif(tr);
        benchmark::DoNotOptimize(r.model.beta);
    }
    state.SetItemsProcessed(state.iterations() * std::int64_t(n)); // trace steps per second
    state.counters["steps"] = double(n);
}
BENCHMARK(BM_fit_signed_lif)->Arg(200)->Arg(1000)->Arg(10000)->Unit(benchmark::kMicrosecond);

// A 16-point grid (W x L) of the default protocol; Arg(0) = SNN steps per point,
// Arg(1) = threads. items = grid points.
static void BM_sweep(benchmark::State& state) {
    fit::sweep_config c;
    c.steps = std::size_t(state.range(0));
    fit::sweep_grid g;
    g.width_nm = {9, 9.5, 10, 10.5};
    g.length_nm = {43, 44, 45, 46};
    const threads budget(std::size_t(state.range(1)));
    const auto points = fit::grid_size(g);
    for (auto _ : state) {
        auto rows = fit::run_sweep(c, g);
        benchmark::DoNotOptimize(rows.data());
    }
    state.SetItemsProcessed(state.iterations() * std::int64_t(points));
    const double substeps = double(points) * double(c.steps) * double(c.proto.substeps_per_step());
    state.counters["device_steps_per_s"] =
        benchmark::Counter(substeps * double(state.iterations()), benchmark::Counter::kIsRate);
    state.counters["snn_steps"] = double(c.steps);
}
BENCHMARK(BM_sweep)->Args({100, 1})->Args({100, 2})->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
