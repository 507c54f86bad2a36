// Tutorial 3 (docs/guide.md): a new neuron model in a dozen lines, the kernels the library
// generates from it (SIMD forward, BPTT backward), checked, and microbenchmarked beside the
// built-in signed LIF with Google Benchmark.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <vector>

#include <spinfire/core/aligned.hpp>
#include <spinfire/core/threads.hpp>
#include <spinfire/neuron.hpp>

using namespace spinfire;

// [model]
// A signed LIF fed through a leaky synaptic current: two state variables.
template <class Surrogate = neuron::triangle>
struct synaptic_signed_lif {
    template <class T>
    struct params {
        BOOST_HANA_DEFINE_STRUCT(params, (T, beta), (T, kappa), (T, theta));
    };
    template <class T>
    struct state {
        BOOST_HANA_DEFINE_STRUCT(state, (T, i), (T, v));
    };
    template <class T>
    static params<T> defaults() { return {T(0.6), T(0.5), T(1)}; }
    template <class T>
    static T step(const params<T>& p, state<T>& s, const T& x) {
        s.i = p.kappa * s.i + x; // synaptic current: a leaky trace of the input
        const T h = p.beta * s.v + s.i;
        const T spike = neuron::signed_fire(h, p.theta, p.theta, Surrogate{});
        s.v = h - p.theta * spike; // soft reset
        return spike;
    }
};
// [/model]

int main(int argc, char** argv) {
    int failures = 0;
    constexpr std::size_t T = 16, N = 1000;

    // [forward]
    // The generated SIMD kernel against the model's own step, one element at a time.
    // beta, kappa and inputs in multiples of 1/8: every sum is exact, so equality is exact.
    using M = synaptic_signed_lif<>;
    const M::params<double> p{0.5, 0.25, 1};
    std::vector<double> x(T * N), s(T * N);
    for (std::size_t k = 0; k < x.size(); ++k) x[k] = double(int(k * 7919 % 33) - 16) / 8;
    neuron::population_kernel<M, double>::forward(p, T, N, x.data(), s.data(), nullptr);
    std::size_t differ = 0;
    for (std::size_t n = 0; n < N; ++n) {
        M::state<double> st{0, 0};
        for (std::size_t t = 0; t < T; ++t) differ += M::step(p, st, x[t * N + n]) != s[t * N + n];
    }
    std::printf("generated forward vs scalar step: %zu of %zu spikes differ\n", differ, T * N);
    failures += differ != 0;
    // [/forward]

    // [backward]
    // With smooth<sigmoid> the forward is differentiable and its exact derivative
    // is the surrogate: d(sum of spikes)/d(beta, kappa, theta) by BPTT against central differences.
    using Ms = synaptic_signed_lif<neuron::smooth<neuron::sigmoid>>;
    using K = neuron::population_kernel<Ms, double>;
    const Ms::params<double> q{0.6, 0.5, 1};
    std::vector<double> saved(K::saved_per_step * T * N), ones(T * N, 1.0), gx(T * N);
    K::forward(q, T, N, x.data(), s.data(), saved.data());
    Ms::params<double> g{0, 0, 0};
    K::backward(q, T, N, saved.data(), ones.data(), gx.data(), &g);
    auto total = [&](Ms::params<double> r) {
        K::forward(r, T, N, x.data(), s.data(), nullptr);
        double sum = 0;
        for (double e : s) sum += e;
        return sum;
    };
    const double h = 1e-6;
    const double fd[3] = {(total({q.beta + h, q.kappa, q.theta}) - total({q.beta - h, q.kappa, q.theta})) / (2 * h),
                          (total({q.beta, q.kappa + h, q.theta}) - total({q.beta, q.kappa - h, q.theta})) / (2 * h),
                          (total({q.beta, q.kappa, q.theta + h}) - total({q.beta, q.kappa, q.theta - h})) / (2 * h)};
    const double bptt[3] = {g.beta, g.kappa, g.theta};
    for (int k = 0; k < 3; ++k) {
        std::printf("d/d%-6s BPTT %12.6f  finite difference %12.6f\n", k == 0 ? "beta" : k == 1 ? "kappa" : "theta",
                    bptt[k], fd[k]);
        failures += std::abs(bptt[k] - fd[k]) > 1e-5 * std::max(1.0, std::abs(fd[k]));
    }
    // [/backward]

    // [benchmark]
    // Forward over [T = 4][N = 2^18] floats: the custom model beside signed_lif.
    threads one(1); // one thread: spinfire::threads bounds TBB and oneDNN together
    static aligned_vector<float> bx(4 << 18, 0.3f), bs(4 << 18);
    auto forward = [](auto model) {
        return [](benchmark::State& st) {
            using Model = decltype(model);
            const auto pp = neuron::default_params<Model, float>();
            for (auto _ : st) {
                neuron::population_kernel<Model>::forward(pp, 4, 1 << 18, bx.data(), bs.data(), nullptr);
                benchmark::DoNotOptimize(bs.data());
            }
            st.SetItemsProcessed(std::int64_t(st.iterations()) * (4 << 18));
        };
    };
    benchmark::RegisterBenchmark("forward/synaptic_signed_lif", forward(M{}))->MinTime(0.2);
    benchmark::RegisterBenchmark("forward/signed_lif", forward(neuron::signed_lif{}))->MinTime(0.2);
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    // [/benchmark]
    return failures == 0 ? 0 : 1;
}
