// Neuron population kernels over [T][N] (T = 4, N = 2^20 elements per step: a VGG-s layer
// at batch 16): fused forward/backward (state in registers across T, one pass) against a
// naive per-step loop that materializes H, S and V for every step as an eager framework
// does, hand-written vs generated backward, with and without parameter gradients, on 1 and
// 2 threads. Items = elements x steps.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include <spinfire/core/aligned.hpp>
#include <spinfire/core/threads.hpp>
#include <spinfire/neuron.hpp>

using namespace spinfire;
using namespace spinfire::neuron;

namespace {

constexpr std::size_t T = 4, N = std::size_t(1) << 20;

struct buffers {
    aligned_vector<float> x, s, saved, gs, gx, h, v, tmp;
    buffers() : x(T * N), s(T * N), saved(3 * T * N), gs(T * N), gx(T * N), h(T * N), v(T * N),
                tmp(N) {
        std::mt19937 g(1);
        std::normal_distribution<float> d(0.2f, 1.f);
        for (auto& e : x) e = d(g);
        for (auto& e : gs) e = d(g);
    }
};
buffers& data() {
    static buffers b;
    return b;
}

template <class Kernel>
void bm_forward(benchmark::State& st) {
    threads budget(std::size_t(st.range(0)));
    const bool save = st.range(1) != 0;
    auto& b = data();
    const auto p = default_params<signed_lif, float>();
    for (auto _ : st) {
        Kernel::forward(p, T, N, b.x.data(), b.s.data(), save ? b.saved.data() : nullptr);
        benchmark::DoNotOptimize(b.s.data());
    }
    st.SetItemsProcessed(std::int64_t(st.iterations() * T * N));
}

void bm_forward_int8(benchmark::State& st) {
    threads budget(std::size_t(st.range(0)));
    auto& b = data();
    std::vector<std::int8_t> s8(T * N);
    const auto p = default_params<signed_lif, float>();
    for (auto _ : st) {
        population_kernel<signed_lif>::forward(p, T, N, b.x.data(), s8.data(), nullptr);
        benchmark::DoNotOptimize(s8.data());
    }
    st.SetItemsProcessed(std::int64_t(st.iterations() * T * N));
}

template <class Kernel>
void bm_backward(benchmark::State& st) {
    threads budget(std::size_t(st.range(0)));
    const bool with_p = st.range(1) != 0;
    auto& b = data();
    const auto p = default_params<signed_lif, float>();
    Kernel::forward(p, T, N, b.x.data(), b.s.data(), b.saved.data());
    auto gp = p;
    for (auto _ : st) {
        Kernel::backward(p, T, N, b.saved.data(), b.gs.data(), b.gx.data(), with_p ? &gp : nullptr);
        benchmark::DoNotOptimize(b.gx.data());
    }
    st.SetItemsProcessed(std::int64_t(st.iterations() * T * N));
}

// Direct encoding: one input [N] for all T steps, forward + backward (training step of the
// neuron layer). arg 1 = broadcast kernels; 0 = tile the input T times, then reduce grad_x
// over t (what a layer without the broadcast overloads does).
void bm_direct_encoding(benchmark::State& st) {
    threads budget(std::size_t(st.range(0)));
    const bool broadcast = st.range(1) != 0;
    auto& b = data();
    using K = population_kernel<signed_lif>;
    const auto p = default_params<signed_lif, float>();
    const float* x1 = b.x.data(); // first step's slice as the one input
    for (auto _ : st) {
        if (broadcast) {
            K::forward_broadcast(p, T, N, x1, b.s.data(), b.saved.data());
            K::backward_broadcast(p, T, N, b.saved.data(), b.gs.data(), b.tmp.data(), nullptr);
        } else {
            for (std::size_t t = 0; t < T; ++t) std::copy(x1, x1 + N, b.h.data() + t * N);
            K::forward(p, T, N, b.h.data(), b.s.data(), b.saved.data());
            K::backward(p, T, N, b.saved.data(), b.gs.data(), b.gx.data(), nullptr);
            std::copy(b.gx.data(), b.gx.data() + N, b.tmp.data());
            for (std::size_t t = 1; t < T; ++t)
                for (std::size_t i = 0; i < N; ++i) b.tmp[i] += b.gx[t * N + i];
        }
        benchmark::DoNotOptimize(b.tmp.data());
    }
    st.SetItemsProcessed(std::int64_t(st.iterations() * T * N));
}

// The naive reference: per step, separate element-wise passes that store H, S and V (what a
// per-step loop of tensor operations does), parallel over the same chunks.
template <class F>
void parallel_elements(F&& f) {
    oneapi::tbb::parallel_for(oneapi::tbb::blocked_range<std::size_t>(0, N, 2048),
                              [&](const auto& r) { f(r.begin(), r.end()); });
}
void bm_naive_forward(benchmark::State& st) {
    threads budget(std::size_t(st.range(0)));
    auto& b = data();
    const float beta = 0.5f, theta = 1.f;
    for (auto _ : st) {
        for (std::size_t t = 0; t < T; ++t) {
            const float* x = b.x.data() + t * N;
            float* h = b.h.data() + t * N;
            float* s = b.s.data() + t * N;
            float* v = b.v.data() + t * N;
            const float* vp = t ? b.v.data() + (t - 1) * N : nullptr;
            parallel_elements([&](std::size_t lo, std::size_t hi) {
                for (std::size_t i = lo; i < hi; ++i) h[i] = (vp ? beta * vp[i] : 0.f) + x[i];
            });
            parallel_elements([&](std::size_t lo, std::size_t hi) {
                for (std::size_t i = lo; i < hi; ++i)
                    s[i] = float(h[i] >= theta) - float(h[i] <= -theta);
            });
            parallel_elements([&](std::size_t lo, std::size_t hi) {
                for (std::size_t i = lo; i < hi; ++i) v[i] = h[i] - theta * s[i];
            });
        }
        benchmark::DoNotOptimize(b.s.data());
    }
    st.SetItemsProcessed(std::int64_t(st.iterations() * T * N));
}
void bm_naive_backward(benchmark::State& st) {
    threads budget(std::size_t(st.range(0)));
    auto& b = data();
    const float beta = 0.5f, theta = 1.f;
    float* adj = b.tmp.data();
    for (auto _ : st) {
        std::fill(b.tmp.begin(), b.tmp.end(), 0.f);
        for (std::size_t t = T; t-- > 0;) {
            const float* h = b.h.data() + t * N;
            const float* g = b.gs.data() + t * N;
            float* gx = b.gx.data() + t * N;
            float* sg = b.saved.data(); // surrogate per element (a temporary)
            parallel_elements([&](std::size_t lo, std::size_t hi) {
                for (std::size_t i = lo; i < hi; ++i)
                    sg[i] = std::max(0.f, 1.f - std::abs(std::abs(h[i]) - theta) / theta) / theta;
            });
            parallel_elements([&](std::size_t lo, std::size_t hi) {
                for (std::size_t i = lo; i < hi; ++i)
                    gx[i] = g[i] * sg[i] + adj[i] * (1.f - theta * sg[i]);
            });
            parallel_elements([&](std::size_t lo, std::size_t hi) {
                for (std::size_t i = lo; i < hi; ++i) adj[i] = beta * gx[i];
            });
        }
        benchmark::DoNotOptimize(b.gx.data());
    }
    st.SetItemsProcessed(std::int64_t(st.iterations() * T * N));
}

using fused = population_kernel<signed_lif>;
using generated = generated_kernel<signed_lif>;
using generated_mtj = generated_kernel<mtj_signed_lif>;

void bm_mtj_forward(benchmark::State& st) {
    threads budget(std::size_t(st.range(0)));
    auto& b = data();
    const auto p = default_params<mtj_signed_lif, float>();
    for (auto _ : st) {
        generated_mtj::forward(p, T, N, b.x.data(), b.s.data(), b.saved.data());
        benchmark::DoNotOptimize(b.s.data());
    }
    st.SetItemsProcessed(std::int64_t(st.iterations() * T * N));
}
void bm_mtj_backward(benchmark::State& st) {
    threads budget(std::size_t(st.range(0)));
    auto& b = data();
    const auto p = default_params<mtj_signed_lif, float>();
    generated_mtj::forward(p, T, N, b.x.data(), b.s.data(), b.saved.data());
    auto gp = p;
    for (auto _ : st) {
        generated_mtj::backward(p, T, N, b.saved.data(), b.gs.data(), b.gx.data(),
                                st.range(1) ? &gp : nullptr);
        benchmark::DoNotOptimize(b.gx.data());
    }
    st.SetItemsProcessed(std::int64_t(st.iterations() * T * N));
}

// Args: {threads, save (forward) / parameter gradients (backward)}
#define SPINFIRE_ARGS ->ArgsProduct({{1, 2}, {0, 1}})->Unit(benchmark::kMillisecond)->UseRealTime()
BENCHMARK(bm_forward<fused>) SPINFIRE_ARGS;
BENCHMARK(bm_forward_int8)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(bm_forward<generated>) SPINFIRE_ARGS;
BENCHMARK(bm_naive_forward)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(bm_backward<fused>) SPINFIRE_ARGS;
BENCHMARK(bm_backward<generated>) SPINFIRE_ARGS;
BENCHMARK(bm_naive_backward)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(bm_direct_encoding) SPINFIRE_ARGS;
BENCHMARK(bm_mtj_forward)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(bm_mtj_backward)->ArgsProduct({{1, 2}, {0, 1}})->Unit(benchmark::kMillisecond)->UseRealTime();

} // namespace

BENCHMARK_MAIN();
