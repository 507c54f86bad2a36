// bench_device_loop: device-steps per second of LLG neurons inside a network layer
// (neuron::llg_population: the fitted protocol per SNN step, inputs from memory, spikes out)
// against the plain LLG ensemble (llg::ensemble, the engine of bench_llg) on the same
// system (fit::protocol_system, the preset with the default SOT drive), integrator and
// precision, SIMD + TBB on 2 threads. Run both in one process and read the ratio.
//   ensemble:    8192 lanes, one SNN step (2140 substeps of 0.5 ps) at a constant drive
//   population:  4096 neurons x 2 samples, T = 1 SNN step with random inputs
// RK4 at 0 K and stochastic Heun at 300 K. items_per_second = device-steps per second.
#include <benchmark/benchmark.h>

#include <spinfire/core/philox.hpp>
#include <spinfire/core/threads.hpp>
#include <spinfire/device/presets.hpp>
#include <spinfire/fit/device_protocol.hpp>
#include <spinfire/neuron/llg_population.hpp>

#include <vector>

using namespace spinfire;

namespace {

device::mtj preset_at(bool thermal) {
    auto d = device::orthogonal_mtj();
    d.temperature = thermal ? 300 : 0;
    return d;
}

template <class Real, bool Thermal>
void bm_ensemble(benchmark::State& state) {
    threads guard(2);
    const fit::protocol p;
    const auto d = preset_at(Thermal);
    const std::size_t lanes = 8192;
    llg::ensemble<fit::protocol_system, Real> ens(lanes, fit::lane_params(d, p), d.m0,
                                                  llg::drive::dc(0.7 * p.drive_per_unit));
    llg::run_options o;
    o.dt = p.dt_ps * 1e-12;
    o.steps = p.substeps_per_step();
    o.method = Thermal ? llg::integrator::heun : llg::integrator::rk4;
    o.seed = 3;
    for (auto _ : state) {
        ens.run(o);
        benchmark::DoNotOptimize(ens.m(0));
    }
    state.SetItemsProcessed(std::int64_t(state.iterations()) * std::int64_t(lanes * o.steps));
}

template <class Real, bool Thermal>
void bm_population(benchmark::State& state) {
    threads guard(2);
    const fit::protocol p;
    const auto d = preset_at(Thermal);
    const std::size_t n = 4096, batch = 2;
    neuron::llg_population<fit::protocol_system, Real> pop(
        p, n, {fit::lane_params(d, p)}, d.m0, {{fit::mechanism::sot, 90.0, device::mtj_readout(d)}},
        1.0, 3);
    std::vector<float> x(batch * n), y(batch * n);
    rng::stream s(7, 0);
    for (auto& v : x) v = float(s.normal());
    std::uint64_t sample = 0;
    for (auto _ : state) {
        pop.forward(1, 1, batch, x.data(), y.data(), nullptr, sample);
        sample += batch;
        benchmark::DoNotOptimize(y.data());
    }
    state.SetItemsProcessed(std::int64_t(pop.stats().device_steps));
}

void setup(benchmark::internal::Benchmark* b) { b->UseRealTime()->Unit(benchmark::kMillisecond); }

} // namespace

BENCHMARK(bm_ensemble<float, false>)->Name("ensemble/rk4/float")->Apply(setup);
BENCHMARK(bm_population<float, false>)->Name("population/rk4/float")->Apply(setup);
BENCHMARK(bm_ensemble<double, false>)->Name("ensemble/rk4/double")->Apply(setup);
BENCHMARK(bm_population<double, false>)->Name("population/rk4/double")->Apply(setup);
BENCHMARK(bm_ensemble<float, true>)->Name("ensemble/heun_300K/float")->Apply(setup);
BENCHMARK(bm_population<float, true>)->Name("population/heun_300K/float")->Apply(setup);

BENCHMARK_MAIN();
