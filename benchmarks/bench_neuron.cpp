// Neuron population kernels over [T][N] (T = 4, N = 2^20 elements per step: a VGG-s layer
// at batch 16): fused forward/backward (state in registers across T, one pass) against a
// naive per-step loop that materializes H, S and V for every step as an eager framework
// does, hand-written vs generated backward, with and without parameter gradients, on 1 and
// 2 threads. Items = elements x steps.
//
// bm_cost_*: the cost model of a generated kernel (docs/neuron-dsl.md, "Cost of a generated
// kernel"): one synthetic model family with 1, 2 or 3 state variables and 1, 2 or 4
// parameters, forward and backward with and without parameter gradients (tangents =
// states + 1 + learned parameters), both state storages; 1 thread, items / CPU time.
#include <benchmark/benchmark.h>

#include <array>
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
    buffers()
        : x(T * N), s(T * N), saved(3 * T * N), gs(T * N), gx(T * N), h(T * N), v(T * N), tmp(N) {
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

// The synthetic family, written as a user writes a model (a plain inline step, nothing
// forced): NS = 1 is signed_lif (with NP = 2), NS = 2 adds an adaptive threshold A (with
// NP = 4 it is the adaptive_signed_lif of examples/custom_neuron), NS = 3 a synaptic current
// I. Parameters missing from a smaller NP are constants of the same value.
template <std::size_t NS>
struct cost_state;
template <>
struct cost_state<1> {
    template <class T>
    struct type {
        BOOST_HANA_DEFINE_STRUCT(type, (T, v));
    };
};
template <>
struct cost_state<2> {
    template <class T>
    struct type {
        BOOST_HANA_DEFINE_STRUCT(type, (T, v), (T, a));
    };
};
template <>
struct cost_state<3> {
    template <class T>
    struct type {
        BOOST_HANA_DEFINE_STRUCT(type, (T, v), (T, a), (T, i));
    };
};
template <std::size_t NP>
struct cost_params;
template <>
struct cost_params<1> {
    template <class T>
    struct type {
        BOOST_HANA_DEFINE_STRUCT(type, (T, beta));
    };
};
template <>
struct cost_params<2> {
    template <class T>
    struct type {
        BOOST_HANA_DEFINE_STRUCT(type, (T, beta), (T, theta));
    };
};
template <>
struct cost_params<4> {
    template <class T>
    struct type {
        BOOST_HANA_DEFINE_STRUCT(type, (T, beta), (T, theta), (T, rho), (T, kappa));
    };
};

template <std::size_t NS, std::size_t NP>
struct cost_model {
    template <class T>
    using params = typename cost_params<NP>::template type<T>;
    template <class T>
    using state = typename cost_state<NS>::template type<T>;
    template <class T>
    static params<T> defaults() {
        params<T> p;
        fill_fields(p, [](std::size_t j) { return T(std::array{0.5f, 1.f, 0.7f, 0.3f}[j]); });
        return p;
    }
    template <class T>
    static T step(const params<T>& p, state<T>& s, const T& x) {
        T theta(1), rho(0.7), kappa(0.3);
        if constexpr (NP >= 2) theta = p.theta;
        if constexpr (NP >= 4) rho = p.rho, kappa = p.kappa;
        T in = x;
        if constexpr (NS >= 3) in = s.i = T(0.5) * s.i + x;
        const T h = p.beta * s.v + in;
        if constexpr (NS >= 2) theta = theta + s.a;
        const T spike = signed_fire(h, theta, theta, triangle{});
        s.v = h - theta * spike;
        if constexpr (NS >= 2) s.a = rho * s.a + kappa * spike * spike;
        return spike;
    }
};

struct cost_buffers {
    aligned_vector<float> saved, gx;
    cost_buffers() : saved(4 * T * N), gx(T * N) {}
};
cost_buffers& cost_data() {
    static cost_buffers b;
    return b;
}

// arg: 1 = training forward (saves for backward), 0 = inference.
template <class M, state_storage St>
void bm_cost_forward(benchmark::State& st) {
    threads budget(1);
    using K = generated_kernel<M, float, St>;
    auto& b = data();
    auto& c = cost_data();
    const auto p = default_params<M, float>();
    for (auto _ : st) {
        K::forward(p, T, N, b.x.data(), b.s.data(), st.range(0) ? c.saved.data() : nullptr);
        benchmark::DoNotOptimize(b.s.data());
    }
    st.SetItemsProcessed(std::int64_t(st.iterations() * T * N));
}
// arg: 1 = with parameter gradients.
template <class M, state_storage St>
void bm_cost_backward(benchmark::State& st) {
    threads budget(1);
    using K = generated_kernel<M, float, St>;
    auto& b = data();
    auto& c = cost_data();
    const auto p = default_params<M, float>();
    K::forward(p, T, N, b.x.data(), b.s.data(), c.saved.data());
    auto gp = p;
    for (auto _ : st) {
        K::backward(p, T, N, c.saved.data(), b.gs.data(), c.gx.data(), st.range(0) ? &gp : nullptr,
                    grad_mode::assign);
        benchmark::DoNotOptimize(c.gx.data());
    }
    st.SetItemsProcessed(std::int64_t(st.iterations() * T * N));
    st.counters["tangents"] = double(state_count<M> + 1 + (st.range(0) ? param_count<M> : 0));
}
// One training step of the layer: forward (saving) + backward with parameter gradients.
template <class M, state_storage St>
void bm_cost_train(benchmark::State& st) {
    threads budget(1);
    using K = generated_kernel<M, float, St>;
    auto& b = data();
    auto& c = cost_data();
    const auto p = default_params<M, float>();
    auto gp = p;
    for (auto _ : st) {
        K::forward(p, T, N, b.x.data(), b.s.data(), c.saved.data());
        K::backward(p, T, N, c.saved.data(), b.gs.data(), c.gx.data(), &gp, grad_mode::assign);
        benchmark::DoNotOptimize(c.gx.data());
    }
    st.SetItemsProcessed(std::int64_t(st.iterations() * T * N));
}

constexpr auto save = state_storage::save;
constexpr auto recompute = state_storage::recompute;
#define SPINFIRE_COST(NS, NP)                                                                      \
    BENCHMARK(bm_cost_forward<cost_model<NS, NP>, save>)->Arg(0)->Arg(1);                          \
    BENCHMARK(bm_cost_backward<cost_model<NS, NP>, save>)->Arg(0)->Arg(1);                         \
    BENCHMARK(bm_cost_forward<cost_model<NS, NP>, recompute>)->Arg(1);                             \
    BENCHMARK(bm_cost_backward<cost_model<NS, NP>, recompute>)->Arg(0)->Arg(1);                    \
    BENCHMARK(bm_cost_train<cost_model<NS, NP>, save>);                                            \
    BENCHMARK(bm_cost_train<cost_model<NS, NP>, recompute>)
SPINFIRE_COST(1, 1);
SPINFIRE_COST(1, 2);
SPINFIRE_COST(1, 4);
SPINFIRE_COST(2, 1);
SPINFIRE_COST(2, 4);
SPINFIRE_COST(3, 1);
SPINFIRE_COST(3, 4);

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
BENCHMARK(bm_mtj_backward)
    ->ArgsProduct({{1, 2}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

} // namespace

BENCHMARK_MAIN();
