// neuron/: dual numbers and surrogates against calculus, every model's generated BPTT
// against finite differences (smooth surrogate stand-ins), hand-written vs generated
// kernels, scalar vs SIMD vs threaded equality, the MTJ model against its file's equations.
#include <spinfire/core/dual.hpp>
#include <spinfire/core/threads.hpp>
#include <spinfire/fit/fitted_neuron.hpp>
#include <spinfire/neuron.hpp>

#include <array>
#include <cmath>
#include <limits>
#include <random>
#include <span>
#include <vector>

#include "test_support.hpp"

using namespace spinfire;
using namespace spinfire::neuron;

namespace {

/// Signed LIF with an adaptive threshold (2 state variables, 4 parameters): the custom model
/// of examples/custom_neuron, here to test that any model gets a correct generated BPTT.
template <class Surrogate>
struct adaptive_signed_lif {
    template <class T>
    struct params {
        BOOST_HANA_DEFINE_STRUCT(params, (T, beta), (T, theta0), (T, rho), (T, kappa));
    };
    template <class T>
    struct state {
        BOOST_HANA_DEFINE_STRUCT(state, (T, v), (T, a));
    };
    template <class T>
    static T step(const params<T>& p, state<T>& s, const T& x) {
        const T h = p.beta * s.v + x;
        const T theta = p.theta0 + s.a;
        const T spike = signed_fire(h, theta, theta, Surrogate{});
        s.v = h - theta * spike;
        s.a = p.rho * s.a + p.kappa * spike * spike;
        return spike;
    }
};

/// The adaptive model with a synaptic current (3 state variables, 5 parameters):
///   I = alpha I + x, H = beta V + I, theta = theta0 + A, then as adaptive_signed_lif.
template <class Surrogate>
struct synaptic_adaptive_lif {
    template <class T>
    struct params {
        BOOST_HANA_DEFINE_STRUCT(params, (T, beta), (T, theta0), (T, rho), (T, kappa), (T, alpha));
    };
    template <class T>
    struct state {
        BOOST_HANA_DEFINE_STRUCT(state, (T, v), (T, a), (T, i));
    };
    template <class T>
    static T step(const params<T>& p, state<T>& s, const T& x) {
        s.i = p.alpha * s.i + x;
        const T h = p.beta * s.v + s.i;
        const T theta = p.theta0 + s.a;
        const T spike = signed_fire(h, theta, theta, Surrogate{});
        s.v = h - theta * spike;
        s.a = p.rho * s.a + p.kappa * spike * spike;
        return spike;
    }
};

/// Largest |a - b| / (1 + |b|) over two equally long sequences.
template <class A, class B>
double worst_relative(const A& a, const B& b) {
    double w = 0;
    for (std::size_t k = 0; k < std::size(a); ++k)
        w = std::max(w, std::abs(double(a[k]) - double(b[k])) / (1 + std::abs(double(b[k]))));
    return w;
}

std::vector<double> normal_vector(std::size_t n, double mean, double sd, unsigned seed) {
    std::mt19937_64 g(seed);
    std::normal_distribution<double> d(mean, sd);
    std::vector<double> v(n);
    for (auto& e : v) e = d(g);
    return v;
}
template <class S>
std::vector<S> cast(const std::vector<double>& v) {
    return std::vector<S>(v.begin(), v.end());
}

/// Loss sum_t,i w[t][i] S[t][i] of the generated forward, for finite differences.
template <class Model>
double loss(const params_t<Model, double>& p, std::size_t T, std::size_t N,
            const std::vector<double>& x, const std::vector<double>& w,
            const population_options<Model, double>& opt) {
    std::vector<double> s(T * N);
    generated_kernel<Model, double>::forward(p, T, N, x.data(), s.data(), nullptr, opt);
    double l = 0;
    for (std::size_t k = 0; k < s.size(); ++k) l += w[k] * s[k];
    return l;
}

/// Checks Kernel's backward (grad_x and every parameter not in skip) against central
/// differences of the generated forward of a smooth stand-in model.
template <class Model, class Kernel = generated_kernel<Model, double>>
void check_gradients(params_t<Model, double> p, std::size_t T, std::size_t N, double x_mean,
                     std::vector<std::size_t> skip = {},
                     population_options<Model, double> opt = {}) {
    const auto x = normal_vector(T * N, x_mean, 1.0, 11);
    const auto w = normal_vector(T * N, 0.0, 1.0, 12);
    std::vector<double> s(T * N), saved(Kernel::saved_per_step * T * N), gx(T * N);
    auto gp = p;
    fill_fields(gp, [](std::size_t) { return 0.0; });
    if constexpr (requires { Kernel::forward(p, T, N, x.data(), s.data(), saved.data(), opt); }) {
        Kernel::forward(p, T, N, x.data(), s.data(), saved.data(), opt);
        Kernel::backward(p, T, N, saved.data(), w.data(), gx.data(), &gp, opt);
    } else {
        Kernel::forward(p, T, N, x.data(), s.data(), saved.data());
        Kernel::backward(p, T, N, saved.data(), w.data(), gx.data(), &gp);
    }
    const double eps = 1e-6;
    double worst = 0;
    for (std::size_t k = 0; k < T * N; ++k) {
        auto xp = x, xm = x;
        xp[k] += eps;
        xm[k] -= eps;
        const double fd =
            (loss<Model>(p, T, N, xp, w, opt) - loss<Model>(p, T, N, xm, w, opt)) / (2 * eps);
        worst = std::max(worst, std::abs(fd - gx[k]) / (1e-4 + std::abs(fd)));
    }
    CHECK(worst < 1e-4);
    const auto g = to_array<double>(gp);
    const auto names = reflect::field_names<params_t<Model, double>>();
    for (std::size_t j = 0; j < g.size(); ++j) {
        if (std::find(skip.begin(), skip.end(), j) != skip.end()) continue;
        auto pp = p, pm = p;
        fill_fields(
            pp, [&, a = to_array<double>(p)](std::size_t i) { return a[i] + (i == j ? eps : 0); });
        fill_fields(
            pm, [&, a = to_array<double>(p)](std::size_t i) { return a[i] - (i == j ? eps : 0); });
        const double fd =
            (loss<Model>(pp, T, N, x, w, opt) - loss<Model>(pm, T, N, x, w, opt)) / (2 * eps);
        INFO("parameter ", names[j], ": analytic ", g[j], " finite difference ", fd);
        CHECK(std::abs(fd - g[j]) <= 1e-4 * (1e-2 + std::abs(fd)));
    }
}

} // namespace

TEST_CASE("dual: derivatives of arithmetic and math functions match calculus") {
    using D = dual<double, 2>;
    const D x = D::variable(0.7, 0), y = D::variable(-1.3, 1);
    const D f =
        math::exp(x * y) / (x - y) + math::sqrt(x) * math::log(x + 2.0) - math::tanh(y) * 3.0;
    const auto fv = [](double a, double b) {
        return std::exp(a * b) / (a - b) + std::sqrt(a) * std::log(a + 2) - std::tanh(b) * 3;
    };
    const double h = 1e-6;
    CHECK(f.v == doctest::Approx(fv(0.7, -1.3)).epsilon(1e-14));
    CHECK(f.d[0] ==
          doctest::Approx((fv(0.7 + h, -1.3) - fv(0.7 - h, -1.3)) / (2 * h)).epsilon(1e-8));
    CHECK(f.d[1] ==
          doctest::Approx((fv(0.7, -1.3 + h) - fv(0.7, -1.3 - h)) / (2 * h)).epsilon(1e-8));
    // Piecewise functions pass the derivative of the chosen branch; detach drops it.
    CHECK(math::abs(y).d[1] == -1.0);
    CHECK(math::max(x, y).d[0] == 1.0);
    CHECK(math::min(x, y).d[1] == 1.0);
    CHECK(math::select(x.v > 0, x * x, y).d[0] == doctest::Approx(1.4));
    CHECK(detach(x * y).d[0] == 0.0);
    // Batches of duals: each lane is its own derivative.
    using B = simd::batch<double>;
    alignas(64) double lanes[B::size];
    for (std::size_t i = 0; i < B::size; ++i) lanes[i] = 0.25 + 0.5 * double(i);
    const auto z = dual<B, 1>::variable(B::load_aligned(lanes), 0);
    const auto e = math::exp(z * z);
    for (std::size_t i = 0; i < B::size; ++i)
        CHECK(simd::lane(e.d[0], i) ==
              doctest::Approx(2 * lanes[i] * std::exp(lanes[i] * lanes[i])));
}

TEST_CASE_TEMPLATE("surrogate: grad is the derivative of primitive and has unit area", Sg, triangle,
                   sigmoid, neuron::atan, straight_through) {
    const double w = 0.8, h = 1e-6;
    double area = 0;
    const double du = 1e-3;
    for (double u = -60; u < 60; u += du) area += Sg::grad(u, 1 / w) * du;
    CHECK(area == doctest::Approx(1.0).epsilon(Sg::grad(50.0, 1 / w) > 0 ? 1e-2 : 1e-3));
    for (double u : {-0.9, -0.31, 0.05, 0.4, 0.77, 1.9}) {
        const double fd = (Sg::primitive(u + h, 1 / w) - Sg::primitive(u - h, 1 / w)) / (2 * h);
        CHECK(Sg::grad(u, 1 / w) == doctest::Approx(fd).epsilon(1e-5));
    }
}

TEST_CASE("fire: Heaviside forward, surrogate derivative in dual mode") {
    using D = dual<double, 2>;
    const D h = D::variable(1.3, 0), th = D::variable(1.0, 1);
    const D s = signed_fire(h, th, th, triangle{});
    CHECK(s.v == 1.0);
    // triangle of width theta around +theta: (1 - 0.3) / 1
    CHECK(s.d[0] == doctest::Approx(0.7));
    CHECK(s.d[1] == doctest::Approx(-0.7));
    const D n = signed_fire(D::variable(-0.6, 0), th, th, triangle{});
    CHECK(n.v == 0.0);
    CHECK(n.d[0] == doctest::Approx(0.6)); // bump around -theta
    CHECK(n.d[1] == doctest::Approx(0.6)); // a larger |theta_neg| makes -1 less likely
    CHECK(signed_fire(-1.0, 1.0, 1.0, triangle{}) == -1.0);
    CHECK(signed_fire(0.999, 1.0, 1.0, triangle{}) == 0.0);
    CHECK(fire(1.0, 1.0, triangle{}) == 1.0);
}

TEST_CASE("signed_lif: forward follows the recurrence by hand") {
    // x = 0.6, 0.6, 0.6, -2.5: H = 0.6, 0.9, 1.05 (spike +1, V = 0.05), -2.475 (spike -1)
    const std::vector<float> x{0.6f, 0.6f, 0.6f, -2.5f};
    std::vector<float> s(4);
    population_kernel<signed_lif>::forward(default_params<signed_lif, float>(), 4, 1, x.data(),
                                           s.data(), nullptr);
    CHECK(s == std::vector<float>{0, 0, 1, -1});
}

TEST_CASE("BPTT: generated gradients of every model match finite differences (T = 6)") {
    const std::size_t T = 6, N = 11; // 11: SIMD batches plus a scalar tail
    using smooth_sig = smooth<sigmoid>;
    SUBCASE("signed_lif, reset gradient kept") {
        check_gradients<basic_signed_lif<smooth_sig>>({0.6, 0.9}, T, N, 0.4);
    }
    SUBCASE("signed_lif, hand-written kernel") {
        using M = basic_signed_lif<smooth_sig>;
        check_gradients<M, M::fused_kernel<double>>({0.6, 0.9}, T, N, 0.4);
    }
    SUBCASE("lif, soft and hard reset") {
        check_gradients<basic_lif<smooth_sig>>({0.7, 1.1}, T, N, 0.5);
        check_gradients<basic_lif<smooth_sig, reset_mode::hard>>({0.7, 1.1}, T, N, 0.5);
    }
    SUBCASE("plif: learnable time constant") {
        check_gradients<basic_plif<smooth<neuron::atan>>>({0.3, 0.8}, T, N, 0.8);
    }
    SUBCASE("mtj_signed_lif: saturation, asymmetric thresholds, soft and hard reset") {
        using M = basic_mtj_signed_lif<smooth_sig>;
        // hard_reset (6) is a 0/1 switch, read_noise (7) = 0 sits at its lower bound
        check_gradients<M>({0.8, 1.3, 0.9, 1.2, 0.0, 2.0, 0.0, 0.0}, T, N, 0.2, {6, 7});
        check_gradients<M>({0.8, 1.3, 0.9, 1.2, -0.3, 2.0, 1.0, 0.0}, T, N, 0.2, {6, 7});
    }
    SUBCASE("mtj_signed_lif with read noise and per-neuron parameters") {
        using M = basic_mtj_signed_lif<smooth_sig>;
        fit::fitted_neuron f;
        f.model = {0.7, 1.2, 1.0, 0.8, 0.0, 0.0, false};
        f.spread = {0.05, 0.1, 0.1, 0.1, 0.3};
        const auto neurons = M::sample_neurons<double>(f, N, 3);
        population_options<M, double> opt;
        opt.noise = true;
        opt.seed = 99;
        opt.counter = 5;
        // v_sat (5) = 0: the saturation switch sits at the point; hard_reset (6): a switch
        check_gradients<M>(M::from_fit<double>(f), T, N, 0.3, {5, 6}, opt);
        opt.per_neuron = neurons.data();
        opt.neurons = N;
        std::vector<double> x(T * N, 0.5), s(T * N), sv(2 * T * N), gx(T * N), w(T * N, 1.0);
        auto gp = M::from_fit<double>(f);
        fill_fields(gp, [](std::size_t) { return 0.0; });
        generated_kernel<M, double>::forward(gp, T, N, x.data(), s.data(), sv.data(), opt);
        generated_kernel<M, double>::backward(gp, T, N, sv.data(), w.data(), gx.data(), &gp, opt);
        CHECK(std::isfinite(gp.gain));
    }
    SUBCASE("custom model: signed LIF with adaptive threshold") {
        using M = adaptive_signed_lif<smooth_sig>;
        static_assert(generated_kernel<M, double>::storage == state_storage::recompute);
        check_gradients<M>({0.7, 0.8, 0.6, 0.3}, T, N, 0.4);
        check_gradients<M, generated_kernel<M, double, state_storage::save>>({0.7, 0.8, 0.6, 0.3},
                                                                             T, N, 0.4);
    }
    SUBCASE("custom model: three state variables (synaptic current)") {
        using M = synaptic_adaptive_lif<smooth_sig>;
        check_gradients<M>({0.7, 0.8, 0.6, 0.3, 0.5}, T, N, 0.3);
        check_gradients<M, generated_kernel<M, double, state_storage::save>>(
            {0.7, 0.8, 0.6, 0.3, 0.5}, T, N, 0.3);
    }
}

TEST_CASE_TEMPLATE("signed_lif: hand-written backward equals the generated one", M, signed_lif,
                   signed_lif_detached, basic_signed_lif<sigmoid>) {
    const std::size_t T = 5, N = 3 * 2048 + 37; // several chunks, a tail
    const auto x = cast<float>(normal_vector(T * N, 0.2, 1.2, 1));
    const auto gs = cast<float>(normal_vector(T * N, 0.0, 1.0, 2));
    using F = typename M::template fused_kernel<float>;
    using G = generated_kernel<M, float>;
    static_assert(std::is_same_v<typename population_kernel<M>::base, F>);
    const auto p = typename F::params_type{0.6f, 0.9f};
    std::vector<float> s1(T * N), s2(T * N), sv1(F::saved_per_step * T * N),
        sv2(G::saved_per_step * T * N), g1(T * N), g2(T * N);
    F::forward(p, T, N, x.data(), s1.data(), sv1.data());
    G::forward(p, T, N, x.data(), s2.data(), sv2.data());
    CHECK(s1 == s2);
    auto gp1 = typename F::params_type{0.25f, -0.5f}, gp2 = gp1; // gradients are added
    F::backward(p, T, N, sv1.data(), gs.data(), g1.data(), &gp1);
    G::backward(p, T, N, sv2.data(), gs.data(), g2.data(), &gp2);
    double worst = 0;
    for (std::size_t k = 0; k < T * N; ++k)
        worst = std::max(worst, double(std::abs(g1[k] - g2[k])) / (1.0 + std::abs(g2[k])));
    CHECK(worst < 1e-5);
    CHECK(gp1.beta == doctest::Approx(gp2.beta).epsilon(1e-4));
    CHECK(gp1.theta == doctest::Approx(gp2.theta).epsilon(1e-4));
    CHECK(gp1.beta != doctest::Approx(0.25f)); // something was added
    // int8 spikes are the same values.
    std::vector<std::int8_t> s8(T * N);
    F::forward(p, T, N, x.data(), s8.data(), nullptr);
    CHECK(std::equal(s8.begin(), s8.end(), s1.begin()));
    std::fill(s8.begin(), s8.end(), std::int8_t(7));
    G::forward(p, T, N, x.data(), s8.data(), nullptr);
    CHECK(std::equal(s8.begin(), s8.end(), s1.begin()));
    // Without parameter gradients grad_x is the same (to rounding: another instantiation).
    std::vector<float> g3(T * N);
    F::backward(p, T, N, sv1.data(), gs.data(), g3.data(), nullptr);
    worst = 0;
    for (std::size_t k = 0; k < T * N; ++k)
        worst = std::max(worst, double(std::abs(g3[k] - g1[k])) / (1.0 + std::abs(g1[k])));
    CHECK(worst < 1e-6);
}

TEST_CASE_TEMPLATE("kernels: a broadcast input equals the input repeated at every step", M,
                   signed_lif, mtj_signed_lif) {
    using K = population_kernel<M>;
    const std::size_t T = 4, N = 2048 + 13;
    const auto x1 = cast<float>(normal_vector(N, 0.5, 1.0, 30));
    const auto gs = cast<float>(normal_vector(T * N, 0.0, 1.0, 31));
    std::vector<float> x(T * N);
    for (std::size_t t = 0; t < T; ++t) std::copy(x1.begin(), x1.end(), x.begin() + long(t * N));
    const auto p = default_params<M, float>();
    std::vector<float> s(T * N), sb(T * N), sv(K::saved_per_step * T * N),
        svb(K::saved_per_step * T * N), gx(T * N), gxb(N);
    K::forward(p, T, N, x.data(), s.data(), sv.data());
    K::forward_broadcast(p, T, N, x1.data(), sb.data(), svb.data());
    CHECK(s == sb);
    auto gp = default_params<M, float>(), gpb = gp;
    K::backward(p, T, N, sv.data(), gs.data(), gx.data(), &gp);
    K::backward_broadcast(p, T, N, svb.data(), gs.data(), gxb.data(), &gpb);
    for (std::size_t i = 0; i < N; i += 97) {
        float sum = 0;
        for (std::size_t t = 0; t < T; ++t) sum += gx[t * N + i];
        CHECK(gxb[i] == doctest::Approx(sum).epsilon(1e-5));
    }
    CHECK(to_array<float>(gp) == to_array<float>(gpb));
}

TEST_CASE("kernels: results independent of thread count for a fixed seed") {
    using M = mtj_signed_lif;
    using K = population_kernel<M>;
    fit::fitted_neuron f;
    f.model = {0.6, 1.1, 0.9, 1.1, 0.0, 1.5, false};
    f.spread = {0.05, 0.1, 0.05, 0.05, 0.1};
    const std::size_t T = 4, neurons = 1000, N = 9 * neurons; // 9 samples, 5 chunks
    const auto nrn = M::sample_neurons<float>(f, neurons, 7);
    const population_options<M, float> opt{nrn.data(), neurons, true, 42, 3};
    const auto x = cast<float>(normal_vector(T * N, 0.3, 1.0, 5));
    const auto gs = cast<float>(normal_vector(T * N, 0.0, 1.0, 6));
    const auto p = M::from_fit<float>(f);
    auto run = [&](std::size_t threads, std::vector<float>& s, std::vector<float>& gx,
                   K::params_type& gp) {
        spinfire::threads budget(threads);
        std::vector<float> sv(K::saved_per_step * T * N);
        s.resize(T * N);
        gx.resize(T * N);
        fill_fields(gp, [](std::size_t) { return 0.f; });
        K::forward(p, T, N, x.data(), s.data(), sv.data(), opt);
        K::backward(p, T, N, sv.data(), gs.data(), gx.data(), &gp, opt);
    };
    std::vector<float> s1, s2, g1, g2;
    K::params_type gp1, gp2;
    run(1, s1, g1, gp1);
    run(2, s2, g2, gp2);
    CHECK(s1 == s2);
    CHECK(g1 == g2);
    CHECK(to_array<float>(gp1) == to_array<float>(gp2));
    CHECK(std::count(s1.begin(), s1.end(), 1.f) > 0);
    CHECK(std::count(s1.begin(), s1.end(), -1.f) > 0);

    // The hand-written signed_lif kernel too.
    using F = population_kernel<signed_lif>;
    auto run_fused = [&](std::size_t threads, std::vector<float>& gx, F::params_type& gp) {
        spinfire::threads budget(threads);
        std::vector<float> s(T * N), sv(F::saved_per_step * T * N);
        gx.resize(T * N);
        gp = {0.f, 0.f};
        F::forward(default_params<signed_lif, float>(), T, N, x.data(), s.data(), sv.data());
        F::backward(default_params<signed_lif, float>(), T, N, sv.data(), gs.data(), gx.data(),
                    &gp);
    };
    F::params_type fp1, fp2;
    run_fused(1, g1, fp1);
    run_fused(2, g2, fp2);
    CHECK(g1 == g2);
    CHECK(fp1.beta == fp2.beta);
    CHECK(fp1.theta == fp2.theta);
}

TEST_CASE_TEMPLATE("kernels: SIMD lanes equal the scalar path", M, signed_lif, lif, plif,
                   mtj_signed_lif) {
    // Dyadic inputs (multiples of 1/64) with dyadic parameters keep the linear models exact,
    // so scalar (possibly FMA-contracted) and SIMD arithmetic must agree bit for bit.
    using K = population_kernel<M>;
    const std::size_t T = 5, n = 4 * 8 + 5;
    auto x = cast<float>(normal_vector(T * n, 0.3, 1.0, 8));
    for (auto& v : x) v = std::round(v * 64) / 64;
    const auto gs = cast<float>(normal_vector(T * n, 0.0, 1.0, 9));
    const auto p = default_params<M, float>();
    std::vector<float> sv(K::saved_per_step * T * n), s(T * n), gx(T * n);
    K::forward(p, T, n, x.data(), s.data(), sv.data());
    K::backward(p, T, n, sv.data(), gs.data(), gx.data(), nullptr);
    std::size_t spikes = 0;
    for (std::size_t i = 0; i < n; ++i) {
        std::vector<float> x1(T), s1(T), sv1(K::saved_per_step * T), g1(T), gs1(T);
        for (std::size_t t = 0; t < T; ++t) x1[t] = x[t * n + i], gs1[t] = gs[t * n + i];
        K::forward(p, T, 1, x1.data(), s1.data(), sv1.data()); // N = 1: scalar path only
        K::backward(p, T, 1, sv1.data(), gs1.data(), g1.data(), nullptr);
        for (std::size_t t = 0; t < T; ++t) {
            CHECK(s1[t] == s[t * n + i]);
            CHECK(g1[t] == doctest::Approx(gx[t * n + i]).epsilon(1e-6));
            spikes += s1[t] != 0;
        }
    }
    CHECK(spikes > 0);
}

TEST_CASE("population: stepping T times equals the multi-step kernel") {
    const std::size_t T = 6, N = 300;
    const auto x = cast<float>(normal_vector(T * N, 0.4, 1.0, 13));
    const auto p = default_params<plif, float>();
    std::vector<float> s(T * N), s1(N);
    population_kernel<plif>::forward(p, T, N, x.data(), s.data(), nullptr);
    population<plif> pop(N, p);
    for (int pass = 0; pass < 2; ++pass) { // reset() brings back the rest state
        for (std::size_t t = 0; t < T; ++t) {
            pop.step(x.data() + t * N, s1.data());
            CHECK(std::equal(s1.begin(), s1.end(), s.begin() + long(t * N)));
        }
        pop.reset();
    }
}

TEST_CASE("mtj_signed_lif: loads the fitted-neuron file and follows its equations") {
    const auto dir = test::scratch_dir("neuron_mtj");
    fit::fitted_neuron f;
    f.model = {0.75, 1.4, 0.9, 1.3, -0.2, 1.6, true};
    f.spread = {0.02, 0.03, 0.04, 0.05, 0.0};
    fit::save((dir / "n.json").string(), f);
    const auto p =
        mtj_signed_lif::from_fit<double>(fit::load_fitted_neuron((dir / "n.json").string()));
    CHECK(p.gain == 1.4);
    CHECK(p.hard_reset == 1.0);
    const std::size_t T = 8, N = 9;
    const auto x = normal_vector(T * N, 0.3, 1.0, 21);
    std::vector<double> s(T * N);
    population_kernel<mtj_signed_lif, double>::forward(p, T, N, x.data(), s.data(), nullptr);
    // Independent scalar transcription of fit/fitted_neuron.hpp's model.
    for (std::size_t i = 0; i < N; ++i) {
        double v = 0;
        for (std::size_t t = 0; t < T; ++t) {
            double h = 0.75 * v + 1.4 * x[t * N + i];
            h = 1.6 * std::tanh(h / 1.6);
            const double spike = h >= 0.9 ? 1 : (h <= -1.3 ? -1 : 0);
            v = spike != 0 ? -0.2 : h;
            CHECK(s[t * N + i] == spike);
        }
    }
    // A broken file is a data_error naming the file.
    {
        std::ofstream(dir / "bad.json")
            << R"({"format": "spinfire.fitted_neuron.v1", "model": {"beta": 2}})";
    }
    CHECK_THROWS_AS(
        mtj_signed_lif::from_fit<float>(fit::load_fitted_neuron((dir / "bad.json").string())),
        data_error);
}

TEST_CASE("mtj_signed_lif: read noise statistics and per-neuron variability") {
    using M = mtj_signed_lif;
    fit::fitted_neuron f;
    // beta tiny: each step forgets the last, so P(spike) = P(0.9 + 0.1 z >= 1) = 1 - Phi(1).
    f.model = {1e-6, 1.0, 1.0, 1.0, 0.0, 0.0, false};
    f.spread = {0.1, 0.2, 0.1, 0.1, 0.1};
    const std::size_t T = 10, N = 20000;
    std::vector<float> x(T * N, 0.9f), s(T * N), s2(T * N);
    population_options<M, float> opt;
    opt.noise = true;
    opt.seed = 1;
    population_kernel<M>::forward(M::from_fit<float>(f), T, N, x.data(), s.data(), nullptr, opt);
    const double rate = double(std::count(s.begin(), s.end(), 1.f)) / double(T * N);
    CHECK(rate == doctest::Approx(0.158655).epsilon(0.03));
    opt.counter = 1; // the next batch draws new noise
    population_kernel<M>::forward(M::from_fit<float>(f), T, N, x.data(), s2.data(), nullptr, opt);
    CHECK(s != s2);
    opt.noise = false;
    population_kernel<M>::forward(M::from_fit<float>(f), T, N, x.data(), s2.data(), nullptr, opt);
    CHECK(std::count(s2.begin(), s2.end(), 0.f) == long(T * N));

    // Variability: a neuron's draw depends on (seed, index) only; spreads as requested.
    const auto a = M::sample_neurons<double>(f, 20000, 5);
    const auto b = M::sample_neurons<double>(f, 10, 5);
    CHECK(to_array<double>(a[7]) == to_array<double>(b[7]));
    double mean = 0, sq = 0;
    for (const auto& q : a) mean += q.gain, sq += q.gain * q.gain;
    mean /= double(a.size());
    const double sd = std::sqrt(sq / double(a.size()) - mean * mean);
    CHECK(mean == doctest::Approx(1.0).epsilon(0.01));
    CHECK(sd == doctest::Approx(0.2).epsilon(0.03));
}

TEST_CASE("neuron: bad parameters and options are errors naming the parameter") {
    std::vector<float> x(8, 0.f), s(8);
    auto p = default_params<signed_lif, float>();
    p.theta = 0;
    CHECK_THROWS_WITH_AS(
        population_kernel<signed_lif>::forward(p, 2, 4, x.data(), s.data(), nullptr),
        doctest::Contains("signed_lif.theta"), parameter_error);
    p = default_params<signed_lif, float>();
    p.beta = 1.5f;
    CHECK_THROWS_WITH_AS(population<signed_lif>(4, p), doctest::Contains("signed_lif.beta"),
                         parameter_error);
    auto q = default_params<mtj_signed_lif, float>();
    q.hard_reset = 0.5f;
    CHECK_THROWS_AS(
        population_kernel<mtj_signed_lif>::forward(q, 2, 4, x.data(), s.data(), nullptr),
        parameter_error);
    const auto nrn = std::vector<params_t<lif, float>>(3, default_params<lif, float>());
    const population_options<lif, float> opt{nrn.data(), 3};
    CHECK_THROWS_WITH_AS(generated_kernel<lif>::forward(default_params<lif, float>(), 2, 4,
                                                        x.data(), s.data(), nullptr, opt),
                         doctest::Contains("population_options.neurons"), parameter_error);
}

TEST_CASE_TEMPLATE("generated: recomputed states give the saved states' outputs and gradients", M,
                   adaptive_signed_lif<triangle>, synaptic_adaptive_lif<triangle>,
                   adaptive_signed_lif<sigmoid>) {
    using R = generated_kernel<M, float, state_storage::recompute>;
    using Sv = generated_kernel<M, float, state_storage::save>;
    static_assert(std::is_same_v<generated_kernel<M, float>, R>); // >= 2 states: the default
    static_assert(R::saved_per_step == 1 && Sv::saved_per_step == state_count<M> + 1);
    const std::size_t T = 6, N = 2 * 2048 + 29; // several chunks, a scalar tail
    const auto x = cast<float>(normal_vector(T * N, 0.3, 1.0, 40));
    const auto gs = cast<float>(normal_vector(T * N, 0.0, 1.0, 41));
    params_t<M, float> p;
    fill_fields(p, [](std::size_t j) { return std::array{0.7f, 0.8f, 0.6f, 0.3f, 0.5f}[j]; });
    std::vector<float> s1(T * N), s2(T * N), sv1(R::saved_per_step * T * N),
        sv2(Sv::saved_per_step * T * N), g1(T * N), g2(T * N), gb1(N), gb2(N);
    R::forward(p, T, N, x.data(), s1.data(), sv1.data());
    Sv::forward(p, T, N, x.data(), s2.data(), sv2.data());
    CHECK(s1 == s2);
    CHECK(std::count(s1.begin(), s1.end(), 0.f) < long(T * N)); // it fires
    // The replay runs the forward's arithmetic on the same values; the two instantiations
    // may contract a different set of a*b+c into FMAs, hence float rounding, not bitwise.
    params_t<M, float> gp1, gp2;
    R::backward(p, T, N, sv1.data(), gs.data(), g1.data(), &gp1, grad_mode::assign);
    Sv::backward(p, T, N, sv2.data(), gs.data(), g2.data(), &gp2, grad_mode::assign);
    INFO("grad_x ", worst_relative(g1, g2), " grad_p ",
         worst_relative(to_array<float>(gp1), to_array<float>(gp2)));
    CHECK(worst_relative(g1, g2) < 1e-6);
    CHECK(worst_relative(to_array<float>(gp1), to_array<float>(gp2)) < 1e-5);
    R::forward_broadcast(p, T, N, x.data(), s1.data(), sv1.data());
    Sv::forward_broadcast(p, T, N, x.data(), s2.data(), sv2.data());
    CHECK(s1 == s2);
    R::backward_broadcast(p, T, N, sv1.data(), gs.data(), gb1.data(), &gp1, grad_mode::assign);
    Sv::backward_broadcast(p, T, N, sv2.data(), gs.data(), gb2.data(), &gp2, grad_mode::assign);
    CHECK(worst_relative(gb1, gb2) < 1e-6);
    CHECK(worst_relative(to_array<float>(gp1), to_array<float>(gp2)) < 1e-5);
}

TEST_CASE("generated: recompute replays read noise and per-neuron parameters") {
    using M = mtj_signed_lif; // one state: save by default, recompute on request
    using R = generated_kernel<M, float, state_storage::recompute>;
    using Sv = generated_kernel<M, float>;
    static_assert(Sv::storage == state_storage::save);
    fit::fitted_neuron f;
    f.model = {0.6, 1.1, 0.9, 1.1, 0.0, 1.5, false};
    f.spread = {0.05, 0.1, 0.05, 0.05, 0.2};
    const std::size_t T = 5, neurons = 300, N = 3 * neurons;
    const auto nrn = M::sample_neurons<float>(f, neurons, 7);
    const population_options<M, float> opt{nrn.data(), neurons, true, 42, 3};
    const auto x = cast<float>(normal_vector(T * N, 0.3, 1.0, 42));
    const auto gs = cast<float>(normal_vector(T * N, 0.0, 1.0, 43));
    const auto p = M::from_fit<float>(f);
    std::vector<float> s1(T * N), s2(T * N), sv1(R::saved_per_step * T * N),
        sv2(Sv::saved_per_step * T * N), g1(T * N), g2(T * N);
    R::forward(p, T, N, x.data(), s1.data(), sv1.data(), opt);
    Sv::forward(p, T, N, x.data(), s2.data(), sv2.data(), opt);
    CHECK(s1 == s2);
    params_t<M, float> gp1, gp2;
    R::backward(p, T, N, sv1.data(), gs.data(), g1.data(), &gp1, opt, grad_mode::assign);
    Sv::backward(p, T, N, sv2.data(), gs.data(), g2.data(), &gp2, opt, grad_mode::assign);
    INFO("grad_x ", worst_relative(g1, g2), " grad_p ",
         worst_relative(to_array<float>(gp1), to_array<float>(gp2)));
    CHECK(worst_relative(g1, g2) < 1e-6);
    CHECK(worst_relative(to_array<float>(gp1), to_array<float>(gp2)) < 1e-5);
}

TEST_CASE_TEMPLATE("kernels: grad_mode::assign writes what accumulate adds to zeros", M, lif,
                   adaptive_signed_lif<triangle>, signed_lif) {
    using K = population_kernel<M>; // signed_lif: the fused kernel, assign by zeroing first
    const std::size_t T = 4, N = 2048 + 21;
    const auto x = cast<float>(normal_vector(T * N, 0.4, 1.0, 50));
    const auto gs = cast<float>(normal_vector(T * N, 0.0, 1.0, 51));
    params_t<M, float> p;
    fill_fields(p, [](std::size_t j) { return std::array{0.6f, 0.9f, 0.6f, 0.3f}[j]; });
    std::vector<float> s(T * N), sv(K::saved_per_step * T * N), g(T * N), gb(N);
    K::forward(p, T, N, x.data(), s.data(), sv.data());
    params_t<M, float> zero, garbage;
    fill_fields(zero, [](std::size_t) { return 0.f; });
    fill_fields(garbage, [](std::size_t) { return std::numeric_limits<float>::quiet_NaN(); });
    auto acc = zero, asg = garbage;
    K::backward(p, T, N, sv.data(), gs.data(), g.data(), &acc);
    K::backward(p, T, N, sv.data(), gs.data(), g.data(), &asg, grad_mode::assign);
    CHECK(to_array<float>(acc) == to_array<float>(asg));
    CHECK(to_array<float>(acc) != to_array<float>(zero));
    auto twice = acc; // accumulate adds (the default, unchanged)
    K::backward(p, T, N, sv.data(), gs.data(), g.data(), &twice);
    CHECK(to_array<float>(twice)[0] == doctest::Approx(2 * to_array<float>(acc)[0]));
    acc = zero, asg = garbage;
    K::forward_broadcast(p, T, N, x.data(), s.data(), sv.data());
    K::backward_broadcast(p, T, N, sv.data(), gs.data(), gb.data(), &acc);
    K::backward_broadcast(p, T, N, sv.data(), gs.data(), gb.data(), &asg, grad_mode::assign);
    CHECK(to_array<float>(acc) == to_array<float>(asg));
}

/// doctest::Contains of a built message.
static doctest::Contains contains(const std::string& s) { return doctest::Contains(s.c_str()); }

TEST_CASE_TEMPLATE("kernels: span overloads equal the pointer versions and check every size", K,
                   generated_kernel<adaptive_signed_lif<triangle>>, generated_kernel<lif>,
                   population_kernel<adaptive_signed_lif<triangle>>,
                   population_kernel<signed_lif>) {
    const std::size_t T = 3, N = 2048 + 7;
    const auto x = cast<float>(normal_vector(T * N, 0.4, 1.0, 60));
    const auto gs = cast<float>(normal_vector(T * N, 0.0, 1.0, 61));
    typename K::params_type p;
    fill_fields(p, [](std::size_t j) { return std::array{0.6f, 0.9f, 0.6f, 0.3f}[j]; });
    std::vector<float> s1(T * N), s2(T * N), sv1(K::saved_per_step * T * N),
        sv2(K::saved_per_step * T * N), g1(T * N), g2(T * N), gb1(N), gb2(N);
    K::forward(p, T, N, x.data(), s1.data(), sv1.data());
    K::forward(p, T, N, x, s2, sv2); // containers convert to spans
    CHECK(s1 == s2);
    CHECK(sv1 == sv2);
    auto gp1 = p, gp2 = p;
    K::backward(p, T, N, sv1.data(), gs.data(), g1.data(), &gp1);
    K::backward(p, T, N, sv2, gs, g2, &gp2);
    CHECK(g1 == g2);
    CHECK(to_array<float>(gp1) == to_array<float>(gp2));
    K::forward(p, T, N, x, s2, {}); // inference: empty saved
    CHECK(s1 == s2);
    K::forward_broadcast(p, T, N, x.data(), s1.data(), sv1.data());
    K::forward_broadcast(p, T, N, std::span(x).first(N), s2, sv2);
    CHECK(s1 == s2);
    K::backward_broadcast(p, T, N, sv1.data(), gs.data(), gb1.data(), &gp1, grad_mode::assign);
    K::backward_broadcast(p, T, N, sv2, gs, gb2, &gp2, grad_mode::assign);
    CHECK(gb1 == gb2);
    CHECK(to_array<float>(gp1) == to_array<float>(gp2));

    // A wrong size names the argument and both sizes, before anything is written.
    const std::span<const float> xs(x);
    const std::span<float> ss(s2), svs(sv2), gxs(g2);
    const auto n = std::to_string(T * N), n1 = std::to_string(T * N - 1);
    CHECK_THROWS_WITH_AS(K::forward(p, T, N, xs.first(T * N - 1), ss, svs),
                         contains("'x': has " + n1 + " elements, expected " + n), parameter_error);
    CHECK_THROWS_WITH_AS(K::forward(p, T, N, xs, ss.first(N), svs),
                         contains("'spikes': has " + std::to_string(N)), parameter_error);
    CHECK_THROWS_WITH_AS(K::forward(p, T, N, xs, ss, svs.first(T * N - 1)),
                         contains("'saved': has " + n1), parameter_error);
    CHECK_THROWS_WITH_AS(
        K::forward_broadcast(p, T, N, xs, ss, svs),
        contains("'x': has " + n + " elements, expected " + std::to_string(N) + " (N)"),
        parameter_error);
    CHECK_THROWS_WITH_AS(
        K::backward(p, T, N, svs.first(1), xs, gxs, nullptr),
        contains("'saved': has 1 elements, expected " + std::to_string(K::saved_per_step * T * N)),
        parameter_error);
    CHECK_THROWS_WITH_AS(K::backward(p, T, N, svs, xs.first(N), gxs, nullptr),
                         contains("'grad_spikes'"), parameter_error);
    CHECK_THROWS_WITH_AS(K::backward(p, T, N, svs, xs, gxs.first(T * N - 1), nullptr),
                         contains("'grad_x': has " + n1), parameter_error);
    CHECK_THROWS_WITH_AS(
        K::backward_broadcast(p, T, N, svs, xs, gxs, nullptr),
        contains("'grad_x': has " + n + " elements, expected " + std::to_string(N) + " (N)"),
        parameter_error);
    CHECK_THROWS_WITH_AS(K::backward(p, T, N, std::span<const float>{}, xs, gxs, nullptr),
                         contains("'saved'"), parameter_error); // backward needs it
}
