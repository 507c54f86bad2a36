// nn: gradients against finite differences, BN folding, bf16 vs f32, thread independence,
// optimizer steps and schedules against their formulas, checkpoints, losses, metrics.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <spinfire/core/philox.hpp>
#include <spinfire/core/threads.hpp>
#include <spinfire/neuron/mtj_signed_lif.hpp>
#include <spinfire/neuron/signed_lif.hpp>
#include <spinfire/nn.hpp>

#include "test_support.hpp"

using namespace spinfire;
using nn::tensor;

namespace {

void fill_normal(float* p, std::size_t n, std::uint64_t seed, double scale = 1.0) {
    rng::stream s(seed, 99);
    for (std::size_t i = 0; i < n; ++i) p[i] = float(scale * s.normal());
}
tensor random_tensor(std::size_t t, std::size_t b, std::size_t c, std::size_t h, std::size_t w,
                     std::uint64_t seed, double scale = 1.0) {
    tensor x = nn::make_tensor(t, b, c, h, w);
    fill_normal(x.data(), x.size(), seed, scale);
    return x;
}
double dot(const float* a, const float* b, std::size_t n) {
    double s = 0;
    for (std::size_t i = 0; i < n; ++i) s += double(a[i]) * b[i];
    return s;
}

/// Directional finite-difference check of a single layer: L = <f(x), r>. Compares
/// <dL/dx, v> and <dL/dp, v_p> for every parameter with central differences.
/// f32 kernels: h is chosen large enough that rounding (~1e-7 |L| / h) stays far below
/// tol, and small enough that the O(h^2) truncation of smooth layers does too.
template <class Layer>
void check_layer(Layer& l, tensor x, const nn::context& ctx, double h, double tol,
                 bool check_input = true) {
    tensor y;
    l.forward(x, y, ctx);
    tensor r =
        random_tensor(y.shape()[0], y.shape()[1], y.shape()[2], y.shape()[3], y.shape()[4], 4242);
    tensor dx;
    l.backward(x, y, r, &dx, ctx);
    auto loss = [&]() {
        tensor yy;
        l.forward(x, yy, ctx);
        return dot(yy.data(), r.data(), yy.size());
    };
    if (check_input) {
        tensor v = random_tensor(x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3],
                                 x.shape()[4], 777);
        const double analytic = dot(dx.data(), v.data(), v.size());
        tensor x0 = x;
        x = x0 + float(h) * v;
        const double lp = loss();
        x = x0 - float(h) * v;
        const double lm = loss();
        x = x0;
        const double fd = (lp - lm) / (2 * h);
        INFO(std::string(Layer::kind) << " input: analytic " << analytic << " fd " << fd);
        CHECK(std::abs(analytic - fd) <= tol * std::max(1.0, std::abs(fd)));
    }
    std::uint64_t seed = 1000;
    l.visit_parameters([&](const char* name, nn::parameter& p) {
        std::vector<float> v(p.size());
        fill_normal(v.data(), v.size(), seed++);
        const double analytic = dot(p.grad.data(), v.data(), v.size());
        std::vector<float> p0(p.value.begin(), p.value.end());
        auto set = [&](double s) {
            for (std::size_t i = 0; i < v.size(); ++i) p.value.data()[i] = p0[i] + float(s) * v[i];
            p.touch();
        };
        set(h);
        const double lp = loss();
        set(-h);
        const double lm = loss();
        set(0);
        const double fd = (lp - lm) / (2 * h);
        INFO(std::string(Layer::kind)
             << " parameter " << std::string(name) << ": analytic " << analytic << " fd " << fd);
        CHECK(std::abs(analytic - fd) <= tol * std::max(1.0, std::abs(fd)));
    });
}

// A smooth stand-in of signed LIF (forward = the surrogate's primitive) for FD checks.
using smooth_lif = neuron::basic_signed_lif<neuron::smooth<neuron::triangle>>;

nn::context train_ctx(std::size_t steps = 4) {
    nn::context c;
    c.training = true;
    c.steps = steps;
    return c;
}

} // namespace

TEST_CASE("linear layers match finite differences (conv2d, linear, pools, flatten, readout)") {
    // These layers are linear in x and in their parameters: central differences are exact
    // up to f32 rounding, so a large h and tol 2e-3 are a strict test.
    const auto ctx = train_ctx();
    {
        nn::conv2d<3, 5, 3> c;
        check_layer(c, random_tensor(2, 3, 3, 6, 6, 1), ctx, 0.5, 2e-3);
    }
    {
        nn::conv2d<2, 4, 3, 2, 1, true> c; // stride 2, with bias
        check_layer(c, random_tensor(1, 2, 2, 7, 7, 2), ctx, 0.5, 2e-3);
    }
    {
        nn::linear<12, 5> f;
        check_layer(f, random_tensor(3, 2, 12, 1, 1, 3), ctx, 0.5, 2e-3);
    }
    {
        nn::avg_pool<2> p;
        check_layer(p, random_tensor(2, 2, 3, 4, 4, 4), ctx, 0.5, 2e-3);
    }
    {
        nn::flatten f;
        check_layer(f, random_tensor(2, 2, 3, 2, 2, 5), ctx, 0.5, 2e-3);
    }
    {
        nn::mean_over_time m;
        check_layer(m, random_tensor(4, 2, 3, 1, 1, 6), ctx, 0.5, 2e-3);
    }
    {
        nn::dropout d(0.3f); // the mask is fixed by (seed, iteration): a linear map
        d.initialize(5, 3);
        check_layer(d, random_tensor(2, 3, 4, 2, 2, 7), ctx, 0.5, 2e-3);
    }
}

TEST_CASE("max pool, batch norm and spiking layers match finite differences") {
    const auto ctx = train_ctx();
    {
        // Max pool is piecewise linear; random inputs keep the arg-max away from ties.
        nn::max_pool<2> p;
        check_layer(p, random_tensor(2, 2, 3, 4, 4, 8), ctx, 1e-3, 5e-3);
    }
    {
        // Batch statistics over T x B x H x W make BN non-linear: h = 1e-2 keeps the
        // O(h^2) truncation ~1e-4 relative; tol 5e-3.
        nn::batch_norm<3> bn;
        bn.visit_parameters([&](const char*, nn::parameter& p) {
            fill_normal(p.value.data(), p.size(), 31, 0.5);
            p.value += 1.0f;
        });
        check_layer(bn, random_tensor(2, 3, 3, 3, 3, 9, 2.0), ctx, 1e-2, 5e-3);
    }
    {
        // Smooth signed LIF (piecewise quadratic, C1): BPTT through T = 5 steps.
        nn::spiking<smooth_lif> s;
        check_layer(s, random_tensor(5, 2, 3, 2, 2, 10, 1.5), train_ctx(5), 1e-3, 1e-2);
        // Direct encoding: a one-step input broadcast over T; its gradient sums over T.
        check_layer(s, random_tensor(1, 2, 3, 2, 2, 11, 1.5), train_ctx(4), 1e-3, 1e-2);
        // Learned neuron parameters (beta and theta) get their BPTT gradients too.
        nn::spiking<smooth_lif> learned(neuron::default_params<smooth_lif, float>(), true);
        std::size_t count = 0;
        learned.visit_parameters([&](const char*, nn::parameter&) { ++count; });
        CHECK(count == 2);
        check_layer(learned, random_tensor(4, 2, 3, 2, 2, 12, 1.5), train_ctx(4), 1e-3, 1e-2);
    }
}

TEST_CASE("analog twin of a spiking layer: clip and tanh against their formulas and finite "
          "differences, one step in, one step out") {
    nn::spiking<neuron::mtj_signed_lif> s;
    s.params.gain = 0.5f;
    s.params.theta_pos = 1.0f;
    s.params.theta_neg = 2.0f; // slopes gain / theta: 0.5 above zero, 0.25 below
    for (const auto a : {nn::analog_activation::clip, nn::analog_activation::tanh}) {
        s.analog = a;
        const tensor x = random_tensor(1, 2, 3, 2, 2, 40, 3.0);
        tensor y;
        s.forward(x, y, train_ctx(4)); // the twin ignores T: it keeps the input's steps
        REQUIRE(y.shape() == x.shape());
        for (std::size_t i = 0; i < x.size(); ++i) {
            const double v = x.data()[i], u = v >= 0 ? 0.5 * v : 0.25 * v;
            const double expect =
                a == nn::analog_activation::clip ? std::clamp(u, -1.0, 1.0) : std::tanh(u);
            REQUIRE(y.data()[i] == doctest::Approx(expect).epsilon(1e-6));
        }
        check_layer(s, x, train_ctx(1), 1e-3, 1e-2);
    }
}

TEST_CASE("device-faithful spiking: per-neuron parameters and read noise") {
    using mtj = nn::spiking<neuron::mtj_signed_lif>;
    const auto ctx = train_ctx(4);
    const tensor x = random_tensor(4, 3, 2, 2, 2, 95, 1.5); // 8 neurons per sample
    const tensor r = random_tensor(4, 3, 2, 2, 2, 96);
    mtj shared, dev;
    tensor ys, yd, dxs, dxd;
    shared.forward(x, ys, ctx);
    shared.backward(x, ys, r, &dxs, ctx);
    // every neuron given the shared parameters: the same spikes and gradients
    dev.per_neuron.assign(8, dev.params);
    dev.forward(x, yd, ctx);
    dev.backward(x, yd, r, &dxd, ctx);
    CHECK(yd == ys);
    CHECK(dxd == dxs);
    // neuron 5 of every sample with an unreachable threshold never fires; the others are
    // independent of it
    dev.per_neuron[5].theta_pos = dev.per_neuron[5].theta_neg = 1e6f;
    dev.forward(x, yd, ctx);
    for (std::size_t i = 0; i < yd.size(); ++i) {
        if (i % 8 == 5)
            REQUIRE(yd.data()[i] == 0.0f);
        else
            REQUIRE(yd.data()[i] == ys.data()[i]);
    }
    CHECK(std::any_of(ys.begin(), ys.end(), [](float v) { return v != 0; }));
    dev.per_neuron.resize(7);
    CHECK_THROWS_AS(dev.forward(x, yd, ctx), parameter_error);
    // read noise of sd 100 against thresholds of 1: a neuron stays silent only when
    // |h + 100 z| < 1, i.e. |z| < ~0.01 (probability < 1 %)
    mtj noisy;
    noisy.params.read_noise = 100.0f;
    noisy.read_noise = true;
    noisy.noise_seed = 3;
    tensor yn, yn2;
    noisy.forward(x, yn, ctx);
    noisy.forward(x, yn2, ctx);
    CHECK(yn == yn2); // same seed and iteration: the same draws
    double fired = 0;
    for (float v : yn) fired += v != 0;
    CHECK(fired / double(yn.size()) > 0.95);
    nn::context next = ctx;
    next.iteration = 1;
    noisy.forward(x, yn2, next);
    CHECK_FALSE(yn == yn2);
    // a model with a fused kernel has neither
    nn::spiking<neuron::signed_lif> fused;
    fused.read_noise = true;
    CHECK_THROWS_AS(fused.forward(x, yd, ctx), parameter_error);
}

TEST_CASE("BPTT through a small spiking network (T = 4) matches finite differences") {
    // conv - BN - smooth sLIF - avgpool - residual(conv - BN - sLIF) - flatten - linear -
    // mean over T - cross-entropy: d loss / d every parameter and the input.
    auto net = nn::sequential<nn::shape<2, 4, 4>>(
        nn::conv2d<2, 3, 3>{}, nn::batch_norm<3>{}, nn::spiking<smooth_lif>{}, nn::avg_pool<2>{},
        nn::residual(nn::conv2d<3, 3, 3>{}, nn::batch_norm<3>{}, nn::spiking<smooth_lif>{}),
        nn::flatten{}, nn::linear<12, 4>{}, nn::mean_over_time{});
    net.initialize(3);
    const auto ctx = train_ctx(4);
    tensor x = random_tensor(4, 3, 2, 4, 4, 12, 2.0);
    const std::vector<int> labels{0, 3, 1};
    auto loss_of = [&]() { return nn::cross_entropy(net.forward(x, ctx), labels).value; };
    const auto r = nn::cross_entropy(net.forward(x, ctx), labels);
    const tensor dx = net.backward(r.grad, ctx, true);

    const double h = 2e-3;
    std::uint64_t seed = 50;
    std::size_t checked = 0;
    net.visit_parameters([&](const std::string& name, nn::parameter& p) {
        std::vector<float> v(p.size());
        fill_normal(v.data(), v.size(), seed++);
        const double analytic = dot(p.grad.data(), v.data(), v.size());
        std::vector<float> p0(p.value.begin(), p.value.end());
        auto set = [&](double s) {
            for (std::size_t i = 0; i < v.size(); ++i) p.value.data()[i] = p0[i] + float(s) * v[i];
            p.touch();
        };
        set(h);
        const double lp = loss_of();
        set(-h);
        const double lm = loss_of();
        set(0);
        const double fd = (lp - lm) / (2 * h);
        INFO(name << ": analytic " << analytic << " fd " << fd);
        CHECK(std::abs(analytic - fd) <= 2e-2 * std::max(0.05, std::abs(fd)));
        ++checked;
    });
    CHECK(checked == 8); // 2 conv weights, 2 x (gamma, beta), linear weight and bias
    tensor v = random_tensor(4, 3, 2, 4, 4, 13);
    const double analytic = dot(dx.data(), v.data(), v.size());
    const tensor x0 = x;
    x = x0 + float(h) * v;
    const double lp = loss_of();
    x = x0 - float(h) * v;
    const double lm = loss_of();
    const double fd = (lp - lm) / (2 * h);
    INFO("input: analytic " << analytic << " fd " << fd);
    CHECK(std::abs(analytic - fd) <= 2e-2 * std::max(0.05, std::abs(fd)));
}

TEST_CASE("losses: cross-entropy and TET against formulas and finite differences") {
    tensor out = random_tensor(3, 2, 4, 1, 1, 20);
    const std::vector<int> labels{2, 0};
    const auto ce = nn::cross_entropy(out, labels, 0.1);
    double expect = 0;
    for (std::size_t b = 0; b < 2; ++b) {
        double z[4] = {0, 0, 0, 0}, mx = -1e30, se = 0;
        for (std::size_t t = 0; t < 3; ++t)
            for (std::size_t k = 0; k < 4; ++k) z[k] += out(t, b, k, 0, 0) / 3.0;
        for (double zk : z) mx = std::max(mx, zk);
        for (double zk : z) se += std::exp(zk - mx);
        for (std::size_t k = 0; k < 4; ++k) {
            const double target = 0.9 * (int(k) == labels[b]) + 0.1 / 4;
            expect -= target * (z[k] - mx - std::log(se)) / 2;
        }
    }
    CHECK(ce.value == doctest::Approx(expect).epsilon(1e-6));
    for (int which = 0; which < 2; ++which) {
        auto f = [&](const tensor& o) {
            return which == 0 ? nn::cross_entropy(o, labels, 0.1) : nn::tet(o, labels, 0.2, 1.0);
        };
        const auto r = f(out);
        tensor v = random_tensor(3, 2, 4, 1, 1, 21);
        const double h = 1e-2;
        const double fd = (f(out + float(h) * v).value - f(out - float(h) * v).value) / (2 * h);
        CHECK(dot(r.grad.data(), v.data(), v.size()) == doctest::Approx(fd).epsilon(1e-3));
    }
    const std::vector<int> bad{2, 4};
    CHECK_THROWS_AS(nn::cross_entropy(out, bad), parameter_error);
    CHECK_THROWS_AS(nn::cross_entropy(out, std::vector<int>{1}), parameter_error);
    out(0, 0, 0, 0, 0) = std::nanf("");
    CHECK_THROWS_AS(nn::cross_entropy(out, labels), numeric_error);
}

TEST_CASE("distillation: alpha 0 is cross-entropy, the soft term against its formula, zero "
          "at the teacher's logits, and finite differences") {
    const tensor out = random_tensor(2, 3, 5, 1, 1, 50, 2.0);
    const tensor teacher = random_tensor(1, 3, 5, 1, 1, 51, 2.0);
    const std::vector<int> labels{1, 4, 0};
    const auto ce = nn::cross_entropy(out, labels, 0.1);
    const auto d0 = nn::distillation(out, labels, teacher, 0.0, 3.0, 0.1);
    CHECK(d0.value == ce.value);
    CHECK(d0.grad == ce.grad);

    const double alpha = 0.6, tau = 3;
    double kl = 0;
    for (std::size_t b = 0; b < 3; ++b) {
        double zs[5], zt[5], ss = 0, st = 0;
        for (std::size_t k = 0; k < 5; ++k) {
            zs[k] = (double(out(0, b, k, 0, 0)) + out(1, b, k, 0, 0)) / 2 / tau;
            zt[k] = teacher(0, b, k, 0, 0) / tau;
            ss += std::exp(zs[k]);
            st += std::exp(zt[k]);
        }
        for (std::size_t k = 0; k < 5; ++k) {
            const double pt = std::exp(zt[k]) / st, ps = std::exp(zs[k]) / ss;
            kl += pt * std::log(pt / ps) / 3;
        }
    }
    const auto d = nn::distillation(out, labels, teacher, alpha, tau, 0.1);
    CHECK(d.value ==
          doctest::Approx((1 - alpha) * ce.value + alpha * tau * tau * kl).epsilon(1e-9));
    CHECK(d.correct == ce.correct);
    tensor v = random_tensor(2, 3, 5, 1, 1, 52);
    const double h = 1e-2;
    auto f = [&](const tensor& o) { return nn::distillation(o, labels, teacher, alpha, tau, 0.1); };
    const double fd = (f(out + float(h) * v).value - f(out - float(h) * v).value) / (2 * h);
    CHECK(dot(d.grad.data(), v.data(), v.size()) == doctest::Approx(fd).epsilon(1e-3));

    // a student that already outputs the teacher's (T-averaged) logits pays only the CE part
    tensor same = out;
    for (std::size_t b = 0; b < 3; ++b)
        for (std::size_t k = 0; k < 5; ++k)
            same(0, b, k, 0, 0) = same(1, b, k, 0, 0) = teacher(0, b, k, 0, 0);
    CHECK(nn::distillation(same, labels, teacher, alpha, tau, 0.1).value ==
          doctest::Approx((1 - alpha) * nn::cross_entropy(same, labels, 0.1).value).epsilon(1e-9));
    CHECK_THROWS_AS(nn::distillation(out, labels, random_tensor(1, 2, 5, 1, 1, 53), alpha, tau),
                    parameter_error);
    CHECK_THROWS_AS(nn::distillation(out, labels, teacher, 1.5, tau), parameter_error);
    CHECK_THROWS_AS(nn::distillation(out, labels, teacher, alpha, 0.0), parameter_error);
}

namespace {
/// Every parameter gradient of a network, concatenated in visiting order.
template <class Net>
std::vector<float> all_grads(Net& net) {
    std::vector<float> g;
    net.visit_parameters([&](const std::string&, nn::parameter& p) {
        g.insert(g.end(), p.grad.begin(), p.grad.end());
    });
    return g;
}

auto make_vgg_mini() {
    return nn::sequential<nn::shape<3, 8, 8>>(
        nn::conv2d<3, 8, 3>{}, nn::batch_norm<8>{}, nn::spiking<neuron::signed_lif>{},
        nn::conv2d<8, 16, 3>{}, nn::batch_norm<16>{}, nn::spiking<neuron::signed_lif>{},
        nn::avg_pool<2>{}, nn::flatten{}, nn::linear<256, 10>{}, nn::mean_over_time{});
}
} // namespace

TEST_CASE("compile-time shapes, metadata and runtime input checks") {
    auto net = make_vgg_mini();
    static_assert(std::is_same_v<decltype(net)::output_shape, nn::shape<10>>);
    static_assert(std::is_same_v<decltype(net)::input_shape_of<7>, nn::shape<16, 4, 4>>);
    static_assert(nn::conv2d<3, 8, 3>::macs<nn::shape<3, 8, 8>> == 8 * 64 * 27);
    CHECK(net.parameter_count() == 8 * 27 + 16 + 16 * 72 + 32 + 2560 + 10);
    nn::context ctx = train_ctx();
    CHECK_THROWS_AS(net.forward(nn::make_tensor(4, 2, 3, 8, 7), ctx), parameter_error);
    CHECK_THROWS_AS(net.forward(nn::make_tensor(3, 2, 3, 8, 8), ctx), parameter_error);
    CHECK_THROWS_AS(nn::dropout(1.0f), parameter_error);
    std::vector<std::string> names;
    net.visit_parameters([&](const std::string& n, nn::parameter&) { names.push_back(n); });
    REQUIRE(names.size() == 8);
    CHECK(names[0] == "0.conv2d.weight");
    CHECK(names[7] == "8.linear.bias");
}

TEST_CASE("no neuron state survives between batches") {
    // The membrane state lives inside one multi-step call: running batch A first must not
    // change the output for batch B.
    auto net = make_vgg_mini();
    nn::context ctx = train_ctx();
    ctx.training = false;
    const tensor a = random_tensor(1, 4, 3, 8, 8, 30, 2.0),
                 b = random_tensor(1, 4, 3, 8, 8, 31, 2.0);
    const tensor yb = net.forward(b, ctx);
    net.forward(a, ctx);
    const tensor yb2 = net.forward(b, ctx);
    CHECK(yb == yb2);
}

namespace {
/// A replica group whose sums are the local sums times `copies`: one process (1), or
/// processes that all hold the same shard. Only the synced batch norm's calls matter here.
struct same_shards final : nn::replica_group {
    double copies = 1;
    std::size_t rank() const override { return 0; }
    std::size_t size() const override { return std::size_t(copies); }
    void sum(double* v, std::size_t n) override {
        for (std::size_t i = 0; i < n; ++i) v[i] *= copies;
    }
    void share(std::span<nn::parameter* const>, std::span<nn::buffer* const>) override {}
    void gradient_ready(nn::parameter&) override {}
    void average_gradients() override {}
};

double max_abs(const float* p, std::size_t n) {
    double m = 0;
    for (std::size_t i = 0; i < n; ++i) m = std::max(m, double(std::abs(p[i])));
    return m;
}
/// max |a - b| <= tol max |b|
void check_close(const float* a, const float* b, std::size_t n, double tol, const char* what) {
    double err = 0;
    for (std::size_t i = 0; i < n; ++i) err = std::max(err, double(std::abs(a[i] - b[i])));
    INFO(what << ": max error " << err << " of max " << max_abs(b, n));
    CHECK(err <= tol * max_abs(b, n));
}

/// The synced BN's own loops against oneDNN's BN on the batch every "process" holds a copy
/// of (copies = 1: one process; 2: the same shard twice, so oneDNN sees x stacked twice).
template <std::size_t C>
void check_synced_bn(double copies) {
    CAPTURE(C);
    CAPTURE(copies);
    nn::batch_norm<C> ref, synced;
    fill_normal(ref.gamma().value.data(), C, 61, 0.5);
    ref.gamma().value += 1.0f;
    fill_normal(ref.beta().value.data(), C, 62, 0.5);
    synced.gamma().value = ref.gamma().value;
    synced.beta().value = ref.beta().value;
    same_shards group;
    group.copies = copies;
    nn::context plain = train_ctx(), sync = train_ctx();
    sync.replicas = &group;
    sync.sync_bn = true;
    const std::size_t k = std::size_t(copies);
    for (int step = 0; step < 2; ++step) { // the running statistics of two steps
        tensor x = random_tensor(2, 3, C, 5, 5, 63 + std::uint64_t(step), 2.0);
        x += 0.7f;
        const tensor dy = random_tensor(2, 3, C, 5, 5, 65 + std::uint64_t(step));
        tensor xk = nn::make_tensor(2 * k, 3, C, 5, 5), dyk = xk; // stacked over T
        for (std::size_t c = 0; c < k; ++c) {
            std::copy(x.begin(), x.end(), xk.begin() + std::ptrdiff_t(c * x.size()));
            std::copy(dy.begin(), dy.end(), dyk.begin() + std::ptrdiff_t(c * x.size()));
        }
        tensor y_ref, y, dx_ref, dx;
        ref.forward(xk, y_ref, plain);
        synced.forward(x, y, sync);
        check_close(y.data(), y_ref.data(), y.size(), 1e-5, "y");
        ref.backward(xk, y_ref, dyk, &dx_ref, plain);
        synced.backward(x, y, dy, &dx, sync);
        check_close(dx.data(), dx_ref.data(), dx.size(), 1e-5, "dx");
        // each shard's gamma and beta gradients: its share of the global ones
        std::vector<float> dg(C), db(C);
        for (std::size_t c = 0; c < C; ++c) {
            dg[c] = ref.gamma().grad(c) / float(copies);
            db[c] = ref.beta().grad(c) / float(copies);
        }
        check_close(synced.gamma().grad.data(), dg.data(), C, 1e-5, "dgamma");
        check_close(synced.beta().grad.data(), db.data(), C, 1e-5, "dbeta");
        check_close(synced.running_mean().value.data(), ref.running_mean().value.data(), C, 1e-5,
                    "running mean");
        check_close(synced.running_var().value.data(), ref.running_var().value.data(), C, 1e-5,
                    "running variance");
    }
}
} // namespace

// Layouts: C = 3 plain NCHW, 8 nChw8c, 16 nChw16c on AVX-512 (nChw8c without).
TEST_CASE("synced batch norm equals oneDNN's batch norm on the global batch") {
    for (double copies : {1.0, 2.0}) {
        check_synced_bn<3>(copies);
        check_synced_bn<8>(copies);
        check_synced_bn<16>(copies);
    }
    // and its gradients match finite differences (one process; tolerances as for oneDNN's)
    same_shards one;
    nn::context ctx = train_ctx();
    ctx.replicas = &one;
    ctx.sync_bn = true;
    nn::batch_norm<8> bn;
    bn.visit_parameters([&](const char*, nn::parameter& p) {
        fill_normal(p.value.data(), p.size(), 67, 0.5);
        p.value += 1.0f;
    });
    check_layer(bn, random_tensor(2, 3, 8, 3, 3, 68, 2.0), ctx, 1e-2, 5e-3);
}

TEST_CASE("batch norm folded into the conv equals conv then batch norm (eval)") {
    nn::conv2d<3, 6, 3> conv;
    nn::batch_norm<6> bn;
    conv.initialize(4, 0);
    fill_normal(bn.gamma().value.data(), 6, 41, 0.5);
    fill_normal(bn.beta().value.data(), 6, 42, 0.5);
    bn.gamma().touch();
    nn::context ctx = train_ctx();
    tensor x = random_tensor(2, 3, 3, 5, 5, 40);
    tensor tmp, y;
    for (int i = 0; i < 3; ++i) { // non-trivial running statistics
        conv.forward(x, tmp, ctx);
        bn.forward(tmp, y, ctx);
    }
    ctx.training = false;
    conv.forward(x, tmp, ctx);
    tensor ref;
    bn.forward(tmp, ref, ctx);
    // by hand from the running statistics, independent of oneDNN's BN
    for (std::size_t c = 0; c < 6; ++c) {
        const float s = bn.gamma().value(c) / std::sqrt(bn.running_var().value(c) + bn.epsilon);
        const float v = tmp(1, 2, c, 3, 1);
        CHECK(ref(1, 2, c, 3, 1) ==
              doctest::Approx(s * (v - bn.running_mean().value(c)) + bn.beta().value(c))
                  .epsilon(1e-4));
    }
    const float *scale, *shift;
    std::uint64_t token;
    bn.inference_affine(scale, shift, token);
    tensor folded;
    conv.forward_affine(x, folded, ctx, scale, shift, token);
    REQUIRE(folded.shape() == ref.shape());
    double err = 0, mx = 0;
    for (std::size_t i = 0; i < ref.size(); ++i) {
        err = std::max(err, double(std::abs(folded.data()[i] - ref.data()[i])));
        mx = std::max(mx, double(std::abs(ref.data()[i])));
    }
    CHECK(err <= 1e-5 * mx);
    // the graph folds automatically in eval mode and gives the same output
    auto net = nn::sequential<nn::shape<3, 5, 5>>(nn::conv2d<3, 6, 3>{}, nn::batch_norm<6>{});
    net.layer<0>() = conv;
    net.layer<1>() = bn;
    const tensor& g = net.forward(x, ctx);
    for (std::size_t i = 0; i < ref.size(); ++i)
        CHECK(g.data()[i] == doctest::Approx(ref.data()[i]).epsilon(1e-4).scale(mx));
}

TEST_CASE("bf16 agrees with f32 within bf16 rounding") {
    // Operands rounded to 8 significant bits (relative 2^-9), products accumulated in f32:
    // a conv output differs by at most ~2^-8 of the sum of |terms|; we bound it by 1e-2 of
    // the largest output (27 terms of comparable size).
    nn::conv2d<3, 8, 3> conv;
    tensor x = random_tensor(2, 4, 3, 8, 8, 50);
    nn::context c32 = train_ctx(), c16 = train_ctx();
    c16.prec = nn::precision::bf16;
    tensor y32, y16;
    conv.forward(x, y32, c32);
    conv.forward(x, y16, c16);
    double err = 0, mx = 0;
    std::size_t differ = 0;
    for (std::size_t i = 0; i < y32.size(); ++i) {
        err = std::max(err, double(std::abs(y32.data()[i] - y16.data()[i])));
        mx = std::max(mx, double(std::abs(y32.data()[i])));
        differ += y32.data()[i] != y16.data()[i];
    }
    CHECK(err <= 1e-2 * mx);
    CHECK(differ > 0); // bf16 really is a different precision
    // Gradients too, through a whole network (spikes are exact in bf16).
    auto a = make_vgg_mini(), b = make_vgg_mini();
    const tensor img = random_tensor(1, 4, 3, 8, 8, 51, 2.0);
    const std::vector<int> labels{1, 2, 3, 4};
    const auto ra = nn::cross_entropy(a.forward(img, c32), labels);
    a.backward(ra.grad, c32);
    const auto rb = nn::cross_entropy(b.forward(img, c16), labels);
    b.backward(rb.grad, c16);
    CHECK(rb.value == doctest::Approx(ra.value).epsilon(3e-2));
    std::vector<const nn::parameter*> pa, pb;
    a.visit_parameters([&](const std::string&, nn::parameter& p) { pa.push_back(&p); });
    b.visit_parameters([&](const std::string&, nn::parameter& p) { pb.push_back(&p); });
    // the last layer's gradient sees only spike counts and bf16 logits: tight agreement
    const auto& ga = pa.back()->grad;
    const auto& gb = pb.back()->grad;
    double gerr = 0, gmx = 0;
    for (std::size_t i = 0; i < ga.size(); ++i) {
        gerr = std::max(gerr, double(std::abs(ga.data()[i] - gb.data()[i])));
        gmx = std::max(gmx, double(std::abs(ga.data()[i])));
    }
    CHECK(gerr <= 5e-2 * gmx);
}

TEST_CASE("training is independent of the thread count") {
    auto run = [](std::size_t n) {
        threads budget(n);
        auto net = make_vgg_mini();
        net.initialize(9);
        nn::sgd opt(net, {});
        nn::context ctx = train_ctx();
        ctx.seed = 3;
        std::vector<float> all;
        for (int it = 0; it < 3; ++it) {
            ctx.iteration = std::uint64_t(it);
            const tensor x = random_tensor(1, 8, 3, 8, 8, 60 + std::uint64_t(it), 2.0);
            const std::vector<int> labels{0, 1, 2, 3, 4, 5, 6, 7};
            const auto r = nn::cross_entropy(net.forward(x, ctx), labels);
            net.backward(r.grad, ctx);
            opt.step();
            all.push_back(float(r.value));
        }
        net.visit_parameters([&](const std::string&, nn::parameter& p) {
            all.insert(all.end(), p.value.begin(), p.value.end());
        });
        return all;
    };
    const auto one = run(1), two = run(2);
    REQUIRE(one.size() == two.size());
    // oneDNN's weight-gradient reductions may split differently across threads: allow
    // f32 reassociation noise, nothing more.
    double err = 0;
    for (std::size_t i = 0; i < one.size(); ++i)
        err = std::max(err, double(std::abs(one[i] - two[i])));
    CHECK(err <= 1e-5);
}

TEST_CASE("SGD (Nesterov) and AdamW steps equal the hand-computed updates") {
    auto net = nn::sequential<nn::shape<3>>(nn::linear<3, 2>{});
    auto& w = net.layer<0>().weight();
    auto& b = net.layer<0>().bias();
    const std::vector<float> w0(w.value.begin(), w.value.end()), b0(b.value.begin(), b.value.end());
    const std::vector<float> g1{0.1f, -0.2f, 0.3f, 0.4f, -0.5f, 0.6f},
        g2{-0.3f, 0.2f, 0.1f, 0.0f, 0.5f, -0.6f};
    auto set_grads = [&](const std::vector<float>& g) {
        std::copy(g.begin(), g.end(), w.grad.begin());
        b.grad(0) = g[0];
        b.grad(1) = g[1];
    };
    {
        nn::sgd opt(net, {0.1, 0.9, 0.01, true});
        set_grads(g1);
        opt.step();
        set_grads(g2);
        opt.step();
        for (std::size_t i = 0; i < 6; ++i) {
            double x = w0[i], v = 0;
            for (const auto* g : {&g1, &g2}) {
                const double gi = (*g)[i] + 0.01 * x;
                v = (g == &g1) ? gi : 0.9 * v + gi;
                x -= 0.1 * (gi + 0.9 * v);
            }
            CHECK(w.value.data()[i] == doctest::Approx(x).epsilon(1e-6));
        }
        // biases are not decayed
        double x = b0[0], v = 0;
        for (const auto* g : {&g1, &g2}) {
            v = (g == &g1) ? (*g)[0] : 0.9 * v + (*g)[0];
            x -= 0.1 * ((*g)[0] + 0.9 * v);
        }
        CHECK(b.value(0) == doctest::Approx(x).epsilon(1e-6));
    }
    std::copy(w0.begin(), w0.end(), w.value.begin());
    {
        nn::adamw opt(net, {0.01, 0.9, 0.99, 1e-8, 0.1});
        set_grads(g1);
        opt.step();
        set_grads(g2);
        opt.step();
        for (std::size_t i = 0; i < 6; ++i) {
            double x = w0[i], m = 0, v = 0;
            int t = 0;
            for (const auto* g : {&g1, &g2}) {
                ++t;
                m = 0.9 * m + 0.1 * (*g)[i];
                v = 0.99 * v + 0.01 * (*g)[i] * (*g)[i];
                const double mh = m / (1 - std::pow(0.9, t)), vh = v / (1 - std::pow(0.99, t));
                x = x * (1 - 0.01 * 0.1) - 0.01 * mh / (std::sqrt(vh) + 1e-8);
            }
            CHECK(w.value.data()[i] == doctest::Approx(x).epsilon(1e-5));
        }
    }
    set_grads(g1);
    const double norm = nn::clip_grad_norm(net, 0.5);
    double sq = 0;
    for (float g : g1) sq += double(g) * g;
    sq += double(g1[0]) * g1[0] + double(g1[1]) * g1[1];
    CHECK(norm == doctest::Approx(std::sqrt(sq)));
    double after = 0;
    net.visit_parameters([&](const std::string&, nn::parameter& p) {
        for (float g : p.grad) after += double(g) * g;
    });
    CHECK(std::sqrt(after) == doctest::Approx(0.5).epsilon(1e-5));
}

TEST_CASE("learning-rate schedules follow their formulas") {
    const double pi = 3.14159265358979323846;
    nn::cosine_schedule cos(0.1, 100, 0.001);
    CHECK(cos(0) == doctest::Approx(0.1));
    CHECK(cos(50) == doctest::Approx(0.001 + 0.099 * 0.5));
    CHECK(cos(25) == doctest::Approx(0.001 + 0.099 * 0.5 * (1 + std::cos(pi / 4))));
    CHECK(cos(100) == doctest::Approx(0.001));
    CHECK(cos(1000) == doctest::Approx(0.001));
    nn::one_cycle_schedule oc(0.4, 1000, 0.25, 25, 1e4);
    CHECK(oc(0) == doctest::Approx(0.4 / 25));
    CHECK(oc(249) == doctest::Approx(0.4));
    CHECK(oc(999) == doctest::Approx(0.4 / 25 / 1e4));
    const double mid = (0.4 / 25 + 0.4) / 2; // halfway up the cosine warm-up
    CHECK(oc(std::size_t(249 / 2.0 + 0.5)) == doctest::Approx(mid).epsilon(0.02));
    auto wu = nn::warmup(10, cos);
    CHECK(wu(0) == doctest::Approx(cos(0) / 10));
    CHECK(wu(4) == doctest::Approx(cos(4) * 0.5));
    CHECK(wu(10) == doctest::Approx(cos(10)));
    CHECK_THROWS_AS(nn::cosine_schedule(0.1, 0), parameter_error);
}

TEST_CASE("EMA of weights follows shadow = d shadow + (1 - d) w") {
    auto net = nn::sequential<nn::shape<4>>(nn::linear<4, 3>{});
    nn::ema avg(net, 0.9);
    auto& w = net.layer<0>().weight();
    const float w0 = w.value.data()[0];
    w.value.data()[0] = w0 + 1.0f;
    avg.update(net);
    w.value.data()[0] = w0 + 2.0f;
    avg.update(net);
    auto copy = nn::sequential<nn::shape<4>>(nn::linear<4, 3>{});
    copy.initialize(77);
    avg.copy_to(copy);
    const double expect = 0.9 * (0.9 * w0 + 0.1 * (w0 + 1)) + 0.1 * (w0 + 2);
    CHECK(copy.layer<0>().weight().value.data()[0] == doctest::Approx(expect).epsilon(1e-6));
}

TEST_CASE("checkpoint round trip resumes training exactly") {
    const auto dir = test::scratch_dir("nn_checkpoint");
    const std::string path = (dir / "ck.bin").string();
    auto data = [](int it) { return random_tensor(1, 4, 3, 8, 8, 70 + std::uint64_t(it), 2.0); };
    const std::vector<int> labels{1, 3, 5, 7};
    auto train_step = [&](auto& net, auto& opt, int it) {
        nn::context ctx = train_ctx();
        ctx.iteration = std::uint64_t(it);
        const tensor x = data(it);
        const auto r = nn::cross_entropy(net.forward(x, ctx), labels);
        net.backward(r.grad, ctx);
        opt.step();
        return r.value;
    };
    auto a = make_vgg_mini();
    nn::adamw oa(a, {});
    for (int it = 0; it < 2; ++it) train_step(a, oa, it);
    nn::save_checkpoint(path, a, &oa, 2);
    auto b = make_vgg_mini();
    b.initialize(1234); // different weights before loading
    nn::adamw ob(b, {});
    CHECK(nn::load_checkpoint(path, b, &ob) == 2);
    CHECK(ob.steps() == 2);
    const double la = train_step(a, oa, 2), lb = train_step(b, ob, 2);
    CHECK(la == lb);
    std::vector<float> va, vb;
    a.visit_parameters([&](const std::string&, nn::parameter& p) {
        va.insert(va.end(), p.value.begin(), p.value.end());
    });
    b.visit_parameters([&](const std::string&, nn::parameter& p) {
        vb.insert(vb.end(), p.value.begin(), p.value.end());
    });
    CHECK(va == vb);
    // a truncated file and a different architecture are rejected with the file named
    const auto size = std::filesystem::file_size(path);
    std::filesystem::resize_file(path, size - 7);
    CHECK_THROWS_AS(nn::load_checkpoint(path, b, &ob), data_error);
    nn::save_checkpoint(path, a, &oa, 3);
    auto other = nn::sequential<nn::shape<3, 8, 8>>(nn::conv2d<3, 4, 3>{});
    CHECK_THROWS_AS(nn::load_checkpoint(path, other), data_error);
    CHECK_THROWS_AS(nn::load_checkpoint((dir / "missing.bin").string(), b), data_error);
}

TEST_CASE("checkpoint: declared sizes are checked against the file before allocating, a hash "
          "and a finiteness check guard the values, metadata travels in the same file") {
    const auto dir = test::scratch_dir("nn_checkpoint_guard");
    auto bytes_of = [](const std::string& f) {
        std::ifstream is(f, std::ios::binary);
        return std::vector<char>(std::istreambuf_iterator<char>(is), {});
    };
    auto write_bytes = [](const std::string& f, const std::vector<char>& b) {
        std::ofstream(f, std::ios::binary).write(b.data(), std::streamsize(b.size()));
    };
    auto net = nn::sequential<nn::shape<3, 8, 8>>(nn::conv2d<3, 4, 3>{});
    net.initialize(5);
    const std::string good = (dir / "good.bin").string();
    nn::save_checkpoint(good, net, static_cast<nn::no_optimizer*>(nullptr), 4, "{\"a\": 1}");
    std::string meta;
    auto back = nn::sequential<nn::shape<3, 8, 8>>(nn::conv2d<3, 4, 3>{});
    CHECK(nn::load_checkpoint(good, back, static_cast<nn::no_optimizer*>(nullptr), &meta) == 4);
    CHECK(meta == "{\"a\": 1}");
    const auto& w0 = net.layer<0>().weight().value;
    CHECK(std::equal(w0.begin(), w0.end(), back.layer<0>().weight().value.begin()));

    // a 51-byte file whose one record declares 2^33 values (32 GiB): refused by size, not
    // allocated (before: std::bad_alloc or a 32 GiB allocation)
    std::vector<char> tiny(8 + 24 + 4 + 7 + 8, 0);
    std::memcpy(tiny.data(), "SPFNNCK2", 8);
    tiny[24] = 1;                                // record count
    tiny[32] = 7;                                // name length
    std::memcpy(tiny.data() + 36, "param.w", 7); // name
    tiny[43 + 4] = 2;                            // count = 2^33 (little-endian byte 4)
    REQUIRE(tiny.size() == 51);
    const std::string huge = (dir / "huge.bin").string();
    write_bytes(huge, tiny);
    CHECK_THROWS_WITH_AS(nn::read_checkpoint(huge), doctest::Contains("declares 8589934592 values"),
                         data_error);
    tiny[24] = char(0xff), tiny[31] = 0x7f; // a record count no file of this size can hold
    write_bytes(huge, tiny);
    CHECK_THROWS_WITH_AS(nn::read_checkpoint(huge), doctest::Contains("record count"), data_error);

    // one flipped bit in a weight: the hash names the corruption
    std::vector<char> b = bytes_of(good);
    b[b.size() / 2] ^= 0x10;
    const std::string flipped = (dir / "flipped.bin").string();
    write_bytes(flipped, b);
    CHECK_THROWS_WITH_AS(nn::load_checkpoint(flipped, back), doctest::Contains("hash mismatch"),
                         data_error);

    // a NaN weight saved with a valid hash is refused, naming the record and the index
    net.layer<0>().weight().value.data()[3] = std::numeric_limits<float>::quiet_NaN();
    const std::string nan = (dir / "nan.bin").string();
    nn::save_checkpoint(nan, net);
    CHECK_THROWS_WITH_AS(nn::load_checkpoint(nan, back), doctest::Contains("value 3 is not finite"),
                         data_error);
}

TEST_CASE("metrics: spike rates, synaptic operations and energy") {
    auto net = make_vgg_mini();
    nn::context ctx = train_ctx();
    ctx.collect_metrics = true;
    const tensor x = random_tensor(1, 4, 3, 8, 8, 80, 3.0);
    net.forward(x, ctx);
    // independent count of the first spiking layer's output
    nn::context c2 = ctx;
    c2.collect_metrics = false;
    auto& body = net.body();
    (void)body;
    tensor h1, h2, s1;
    net.layer<0>().forward(x, h1, c2);
    net.layer<1>().forward(h1, h2, c2);
    net.layer<2>().forward(h2, s1, c2);
    double pos = 0, neg = 0;
    for (float v : s1) pos += v > 0, neg += v < 0;
    const auto m = nn::metrics(net, 4);
    REQUIRE(m.layers.size() == 10);
    CHECK(m.layers[2].positive_rate == doctest::Approx(pos / double(s1.size())));
    CHECK(m.layers[2].negative_rate == doctest::Approx(neg / double(s1.size())));
    CHECK(m.layers[2].negative_rate > 0); // signed neurons fire both ways
    // conv2 sees the spikes of layer 2: SOP = MACs x T x event rate
    CHECK(m.layers[3].input_rate == doctest::Approx((pos + neg) / double(s1.size())));
    // the 1-step (directly encoded) input runs the first conv once for all 4 steps
    const double mac0 = 8.0 * 64 * 27;
    CHECK(m.macs == doctest::Approx(mac0));
    CHECK(m.macs_all_steps == doctest::Approx(4 * mac0));
    const double sop_expect =
        double(16 * 64 * 72) * 4 * m.layers[3].input_rate + 2560.0 * 4 * m.layers[8].input_rate;
    CHECK(m.sops == doctest::Approx(sop_expect));
    CHECK(m.energy_pj == doctest::Approx(4.6 * mac0 + 0.9 * sop_expect));
    CHECK(m.parameters == net.parameter_count());
}

TEST_CASE("blocked (nChw8c / nChw16c) and plain layouts give the same forward and gradients") {
    // The plain path is checked against finite differences above; the blocked path must
    // reproduce it (up to f32 reassociation inside oneDNN's kernels). On AVX-512 builds the
    // 8-channel layer stays nChw8c and the 16-channel one is nChw16c, so the mixed case runs.
    auto a = make_vgg_mini(), b = make_vgg_mini();
    nn::context cb = train_ctx(), cp = train_ctx();
    cp.blocked = false;
    const tensor x = random_tensor(1, 4, 3, 8, 8, 90, 2.0);
    const std::vector<int> labels{9, 8, 7, 6};
    const auto ra = nn::cross_entropy(a.forward(x, cb), labels);
    const tensor dxa = a.backward(ra.grad, cb, true);
    const auto rb = nn::cross_entropy(b.forward(x, cp), labels);
    const tensor dxb = b.backward(rb.grad, cp, true);
    CHECK(ra.value == doctest::Approx(rb.value).epsilon(1e-5));
    const std::vector<float> ga = all_grads(a), gb = all_grads(b);
    REQUIRE(ga.size() == gb.size());
    double err = 0, mx = 0;
    for (std::size_t i = 0; i < ga.size(); ++i) {
        err = std::max(err, double(std::abs(ga[i] - gb[i])));
        mx = std::max(mx, double(std::abs(gb[i])));
    }
    CHECK(err <= 1e-4 * mx);
    REQUIRE(dxa.shape() == dxb.shape());
    double derr = 0, dmx = 0;
    for (std::size_t i = 0; i < dxa.size(); ++i) {
        derr = std::max(derr, double(std::abs(dxa.data()[i] - dxb.data()[i])));
        dmx = std::max(dmx, double(std::abs(dxb.data()[i])));
    }
    CHECK(derr <= 1e-4 * dmx);
    // eval mode (BN folded) too
    cb.training = cp.training = false;
    const tensor ya = a.forward(x, cb);
    const tensor yb = b.forward(x, cp);
    for (std::size_t i = 0; i < ya.size(); ++i)
        CHECK(ya.data()[i] == doctest::Approx(yb.data()[i]).epsilon(1e-4).scale(1.0));
}

TEST_CASE("int8 spike storage: same loss and gradients as f32 storage, less memory") {
    auto a = make_vgg_mini(), b = make_vgg_mini();
    nn::context packed = train_ctx(), plain = train_ctx();
    packed.int8_spikes = true;
    plain.int8_spikes = false;
    const tensor x = random_tensor(4, 4, 3, 8, 8, 92, 2.0);
    const std::vector<int> labels{1, 3, 5, 7};
    const auto ra = nn::cross_entropy(a.forward(x, packed), labels);
    const std::size_t bytes_packed = a.activation_bytes();
    const tensor dxa = a.backward(ra.grad, packed, true);
    const auto rb = nn::cross_entropy(b.forward(x, plain), labels);
    const std::size_t bytes_plain = b.activation_bytes();
    const tensor dxb = b.backward(rb.grad, plain, true);
    CHECK(ra.value == rb.value);
    // both spike tensors (4 x 4 x 8 x 8 x 8 and 4 x 4 x 16 x 8 x 8) cost 1 byte, not 4
    CHECK(bytes_plain - bytes_packed == 3 * 4 * 4 * (8 + 16) * 64);
    const std::vector<float> ga = all_grads(a), gb = all_grads(b);
    REQUIRE(ga.size() == gb.size());
    for (std::size_t i = 0; i < ga.size(); ++i) REQUIRE(ga[i] == gb[i]);
    REQUIRE(dxa.shape() == dxb.shape());
    for (std::size_t i = 0; i < dxa.size(); ++i) REQUIRE(dxa.data()[i] == dxb.data()[i]);
}

TEST_CASE("int8 spike packing is exact and refuses graded values") {
    std::vector<std::int8_t> q;
    tensor s = nn::make_tensor(2, 1, 3);
    const float v[] = {-1, 0, 1, 1, 0, -1};
    std::copy(std::begin(v), std::end(v), s.data());
    REQUIRE(nn::detail::pack_spikes(s, q));
    tensor back;
    nn::detail::unpack_spikes(q, s.shape(), back);
    CHECK(back == s);
    s.data()[4] = 0.5f; // a graded output (e.g. a custom neuron) must stay f32
    CHECK_FALSE(nn::detail::pack_spikes(s, q));
    s.data()[4] = std::numeric_limits<float>::quiet_NaN();
    CHECK_FALSE(nn::detail::pack_spikes(s, q));
}

TEST_CASE("a network ending in a convolution returns plain NCHW") {
    // output C = 8 would be blocked inside the graph; the network converts it back
    auto net = nn::sequential<nn::shape<8, 4, 4>>(nn::conv2d<8, 8, 1, 1, 0>{});
    nn::conv2d<8, 8, 1, 1, 0> ref = net.layer<0>();
    nn::context ctx = train_ctx(), plain = train_ctx();
    plain.blocked = false;
    const tensor x = random_tensor(2, 3, 8, 4, 4, 91);
    const tensor y = net.forward(x, ctx);
    tensor y2;
    ref.forward(x, y2, plain);
    for (std::size_t i = 0; i < y.size(); ++i)
        CHECK(y.data()[i] == doctest::Approx(y2.data()[i]).epsilon(1e-5).scale(1.0));
    // and a hand-computed element: y[t,b,o,h,w] = sum_i W[o,i] x[t,b,i,h,w]
    double s = 0;
    for (std::size_t i = 0; i < 8; ++i) s += ref.weight().value(5, i, 0, 0) * x(1, 2, i, 3, 1);
    CHECK(y(1, 2, 5, 3, 1) == doctest::Approx(s).epsilon(1e-5));
}

TEST_CASE("direct encoding: a 1-step input equals the image repeated over T") {
    // conv1 + BN1 on B images broadcast over T must equal running them on T*B copies
    // (BN statistics of T identical copies are those of one), gradients included.
    auto a = make_vgg_mini(), b = make_vgg_mini();
    const nn::context ctx = train_ctx(4);
    const tensor img = random_tensor(1, 3, 3, 8, 8, 95, 2.0);
    tensor rep = nn::make_tensor(4, 3, 3, 8, 8);
    for (std::size_t t = 0; t < 4; ++t)
        std::copy(img.begin(), img.end(), rep.begin() + std::ptrdiff_t(t * img.size()));
    const std::vector<int> labels{4, 5, 6};
    const auto ra = nn::cross_entropy(a.forward(img, ctx), labels);
    a.backward(ra.grad, ctx);
    const auto rb = nn::cross_entropy(b.forward(rep, ctx), labels);
    b.backward(rb.grad, ctx);
    CHECK(ra.value == doctest::Approx(rb.value).epsilon(1e-5));
    const auto& ga = a.layer<0>().weight().grad;
    const auto& gb = b.layer<0>().weight().grad;
    double err = 0, mx = 0;
    for (std::size_t i = 0; i < ga.size(); ++i) {
        err = std::max(err, double(std::abs(ga.data()[i] - gb.data()[i])));
        mx = std::max(mx, double(std::abs(gb.data()[i])));
    }
    CHECK(err <= 1e-4 * mx);
}

TEST_CASE("direct encoding: the first BN's running variance is unbiased over the B*H*W "
          "distinct values, not the T*B*H*W copies") {
    // The T copies of a direct-encoded input repeat the same B*H*W values, so they add no
    // sample: the unbiased estimate of the variance uses m = B*H*W (docs/results/reliability.md).
    const tensor img = random_tensor(1, 3, 3, 8, 8, 96, 2.0);
    nn::conv2d<3, 4, 3> conv;
    conv.initialize(11, 0);
    auto only_conv = nn::sequential<nn::shape<3, 8, 8>>(nn::conv2d<3, 4, 3>{});
    only_conv.layer<0>() = conv;
    const tensor& y = only_conv.forward(img, train_ctx(1)); // [1, B, 4, 8, 8]
    const double m = 3 * 8 * 8;
    for (std::size_t T : {1, 4}) {
        CAPTURE(T);
        auto net = nn::sequential<nn::shape<3, 8, 8>>(nn::conv2d<3, 4, 3>{}, nn::batch_norm<4>{});
        net.layer<0>() = conv;
        net.forward(img, train_ctx(T));
        for (std::size_t c = 0; c < 4; ++c) {
            double sum = 0, sq = 0;
            for (std::size_t b = 0; b < 3; ++b)
                for (std::size_t k = 0; k < 64; ++k) {
                    const double v = y.data()[(b * 4 + c) * 64 + k];
                    sum += v, sq += v * v;
                }
            const double mean = sum / m, biased = sq / m - mean * mean;
            const double momentum = net.layer<1>().momentum;
            const double want = (1 - momentum) * 1.0 + momentum * biased * m / (m - 1);
            const double wrong = (1 - momentum) * 1.0 + momentum * biased * (4 * m) / (4 * m - 1);
            const double got = net.layer<1>().running_var().value(c);
            CHECK(got == doctest::Approx(want).epsilon(1e-5));
            CHECK(std::abs(got - want) < 0.2 * std::abs(wrong - want)); // the two are told apart
        }
    }
}

TEST_CASE("dropout drops a fraction p, rescales by 1/(1-p), shares the mask over T") {
    nn::dropout d(0.25f);
    d.initialize(1, 7);
    nn::context ctx = train_ctx(3);
    ctx.seed = 11;
    tensor x = nn::make_tensor(3, 4, 16, 8, 8);
    x.fill(1.0f);
    tensor y;
    d.forward(x, y, ctx);
    const std::size_t n = 4 * 16 * 64;
    std::size_t zeros = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const float v = y.data()[i];
        zeros += v == 0.0f;
        CHECK((v == 0.0f || v == doctest::Approx(1.0f / 0.75f)));
        CHECK(y.data()[n + i] == v); // same mask at every step
        CHECK(y.data()[2 * n + i] == v);
    }
    const double sigma = std::sqrt(n * 0.25 * 0.75);
    CHECK(std::abs(double(zeros) - 0.25 * n) < 4 * sigma);
    tensor y2;
    ctx.iteration = 1; // a new mask next iteration
    d.forward(x, y2, ctx);
    CHECK(y2 != y);
    ctx.training = false; // identity in eval
    d.forward(x, y2, ctx);
    CHECK(y2 == x);
}

namespace {
/// Runs a spiking layer on x [1, B, ...] (broadcast kernels) and a twin on its T-fold copy;
/// spikes must be equal, dx the copy's gradient summed over t and parameter gradients equal,
/// both up to the summation order.
template <class Layer>
void check_broadcast(Layer a, Layer b, bool with_dx) {
    const auto ctx = train_ctx(4);
    const tensor x = random_tensor(1, 3, 2, 2, 2, 195, 1.5);
    tensor rep = nn::make_tensor(4, 3, 2, 2, 2);
    for (std::size_t t = 0; t < 4; ++t)
        std::copy(x.begin(), x.end(), rep.begin() + std::ptrdiff_t(t * x.size()));
    const tensor r = random_tensor(4, 3, 2, 2, 2, 196);
    tensor ya, yb, dxa, dxb;
    a.forward(x, ya, ctx);
    b.forward(rep, yb, ctx);
    REQUIRE(ya == yb);
    CHECK(std::any_of(ya.begin(), ya.end(), [](float v) { return v != 0; }));
    a.backward(x, ya, r, with_dx ? &dxa : nullptr, ctx);
    b.backward(rep, yb, r, with_dx ? &dxb : nullptr, ctx);
    if (with_dx) {
        REQUIRE(dxa.size() == x.size());
        for (std::size_t i = 0; i < x.size(); ++i) {
            double sum = 0;
            for (std::size_t t = 0; t < 4; ++t) sum += dxb.data()[t * x.size() + i];
            CHECK(dxa.data()[i] == doctest::Approx(sum).epsilon(1e-5).scale(1));
        }
    }
    std::vector<float> ga, gb;
    a.visit_parameters([&](const char*, nn::parameter& p) { ga.push_back(p.grad(0)); });
    b.visit_parameters([&](const char*, nn::parameter& p) { gb.push_back(p.grad(0)); });
    REQUIRE(ga.size() == gb.size());
    for (std::size_t i = 0; i < ga.size(); ++i)
        CHECK(ga[i] == doctest::Approx(gb[i]).epsilon(1e-5).scale(1));
}
} // namespace

TEST_CASE("direct encoding: the broadcast kernels equal the layer on a T-fold copy") {
    SUBCASE("signed LIF, hand-written fused kernel") {
        check_broadcast(nn::spiking<neuron::signed_lif>{}, nn::spiking<neuron::signed_lif>{}, true);
    }
    SUBCASE("learned parameters, with and without dx") {
        const auto p = neuron::default_params<smooth_lif, float>();
        nn::spiking<smooth_lif> a(p, true), b(p, true);
        check_broadcast(a, b, true);
        check_broadcast(a, b, false);
    }
    SUBCASE("generated kernel with per-neuron parameters and read noise") {
        nn::spiking<neuron::mtj_signed_lif> a;
        a.per_neuron.assign(8, a.params);
        for (std::size_t k = 0; k < 8; ++k) a.per_neuron[k].theta_pos *= 0.8f + 0.05f * float(k);
        a.params.read_noise = 0.3f;
        for (auto& q : a.per_neuron) q.read_noise = 0.3f;
        a.read_noise = true;
        a.noise_seed = 11;
        check_broadcast(a, a, true);
    }
}
