// bench_llg: device-steps per second of the LLG ensemble on the preset orthogonal MTJ
// (uniaxial + demag + Zeeman + Slonczewski STT + thermal terms), for
//   RK4 at 0 K and stochastic Heun at 300 K, double and float,
//   scalar 1 thread / SIMD 1 thread / SIMD + TBB 2 threads, dc drive (2 mA),
// plus one SIMD + TBB case with a signed pulse train (drive evaluated per lane and stage).
// items_per_second = device-steps per second.
#include <benchmark/benchmark.h>

#include <spinfire/core/threads.hpp>
#include <spinfire/device.hpp>
#include <spinfire/llg.hpp>

using namespace spinfire;

namespace {

enum mode { scalar = 0, simd1 = 1, simd_tbb2 = 2 };

template <class Real, llg::integrator Method>
void bm_llg(benchmark::State& state) {
    const auto m = mode(state.range(0));
    const bool pulsed = state.range(1) != 0;
    threads guard(m == simd_tbb2 ? 2 : 1);
    auto d = device::orthogonal_mtj();
    d.temperature = Method == llg::integrator::heun ? 300 : 0;
    const std::size_t lanes = 4096;
    const auto u = pulsed ? llg::drive::pulses(2e-3, 1e-9, 4e-9, {1, -1}) : llg::drive::dc(2e-3);
    llg::ensemble<device::mtj_system, Real> ens(lanes, device::llg_params(d), d.m0, u);
    llg::run_options o;
    o.dt = 1e-13;
    o.steps = m == scalar ? 25 : 100;
    o.method = Method;
    o.seed = 42;
    o.simd = m != scalar;
    o.parallel = m == simd_tbb2;
    for (auto _ : state) {
        ens.run(o);
        benchmark::DoNotOptimize(ens.m(0));
    }
    state.SetItemsProcessed(std::int64_t(state.iterations()) * std::int64_t(lanes * o.steps));
    state.SetLabel(std::string(m == scalar ? "scalar 1T" : m == simd1 ? "SIMD 1T" : "SIMD+TBB 2T") +
                   (pulsed ? " pulses" : " dc"));
}

void modes(benchmark::internal::Benchmark* b) {
    b->ArgNames({"mode", "pulsed"});
    for (int m : {0, 1, 2}) b->Args({m, 0});
    b->Args({2, 1});
    b->UseRealTime()->Unit(benchmark::kMillisecond);
}

} // namespace

BENCHMARK(bm_llg<double, llg::integrator::rk4>)->Name("rk4/double")->Apply(modes);
BENCHMARK(bm_llg<float, llg::integrator::rk4>)->Name("rk4/float")->Apply(modes);
BENCHMARK(bm_llg<double, llg::integrator::heun>)->Name("heun_300K/double")->Apply(modes);
BENCHMARK(bm_llg<float, llg::integrator::heun>)->Name("heun_300K/float")->Apply(modes);

BENCHMARK_MAIN();
