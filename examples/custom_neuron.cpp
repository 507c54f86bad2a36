// A new neuron model end to end: a signed LIF whose threshold rises after each spike and
// decays back (spike-frequency adaptation), defined in a few lines over a generic scalar T,
// then trained with the BPTT the library generates from that definition alone.
//
// Task: a student layer (input weights W, learnable beta/theta0/rho/kappa) learns to match
// the signed spike rates of a random teacher layer of the same model on random analog
// inputs; plain SGD on the mean-squared rate error. Prints the loss per epoch.
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <random>
#include <vector>

#include <spinfire/neuron.hpp>

namespace nrn = spinfire::neuron;

// ---- the model: all it takes ------------------------------------------------------------
struct adaptive_signed_lif {
    template <class T>
    struct params {
        BOOST_HANA_DEFINE_STRUCT(params, (T, beta), (T, theta0), (T, rho), (T, kappa));
    };
    template <class T>
    struct state {
        BOOST_HANA_DEFINE_STRUCT(state, (T, v), (T, a)); // membrane, threshold adaptation
    };
    template <class T>
    static params<T> defaults() {
        return {T(0.6), T(0.8), T(0.7), T(0.3)};
    }
    template <class T>
    static T step(const params<T>& p, state<T>& s, const T& x) {
        const T h = p.beta * s.v + x;
        const T theta = p.theta0 + s.a;
        const T spike = nrn::signed_fire(h, theta, theta, nrn::triangle{});
        s.v = h - theta * spike;                     // soft reset by the current threshold
        s.a = p.rho * s.a + p.kappa * spike * spike; // each spike (+ or -) raises it
        return spike;
    }
};
// -------------------------------------------------------------------------------------------

int main(int argc, char** argv) {
    CLI::App app{"Train a custom neuron model (signed LIF with adaptive threshold) by BPTT"};
    std::size_t epochs = 100, T = 8, batch = 256, inputs = 16, outputs = 8;
    double lr = 3.0;
    unsigned seed = 1;
    app.add_option("--epochs", epochs, "SGD steps");
    app.add_option("--T", T, "time steps (1-65536: the arrays hold T x 256 x 16 floats)")
        ->check(CLI::Range(std::size_t(1), std::size_t(65536)));
    app.add_option("--lr", lr, "learning rate");
    app.add_option("--seed", seed, "random seed");
    CLI11_PARSE(app, argc, argv);
    try {

        using K = nrn::population_kernel<adaptive_signed_lif>;
        std::mt19937 gen(seed);
        std::normal_distribution<float> normal(0.f, 1.f);
        const std::size_t N = batch * outputs; // elements per step: [batch][outputs]
        std::vector<float> in(T * batch * inputs), teacher_w(outputs * inputs), w(outputs * inputs);
        for (auto& v : in) v = normal(gen);
        for (auto& v : teacher_w) v = 0.6f * normal(gen);
        for (auto& v : w) v = 0.2f * normal(gen);

        // currents x[t][b][k] = sum_d W[k][d] in[t][b][d]
        auto currents = [&](const std::vector<float>& weights, std::vector<float>& x) {
            x.assign(T * N, 0.f);
            for (std::size_t t = 0; t < T; ++t)
                for (std::size_t b = 0; b < batch; ++b)
                    for (std::size_t k = 0; k < outputs; ++k)
                        for (std::size_t d = 0; d < inputs; ++d)
                            x[(t * batch + b) * outputs + k] +=
                                weights[k * inputs + d] * in[(t * batch + b) * inputs + d];
        };
        auto rates = [&](const std::vector<float>& s) {
            std::vector<float> r(N, 0.f);
            for (std::size_t t = 0; t < T; ++t)
                for (std::size_t i = 0; i < N; ++i) r[i] += s[t * N + i] / float(T);
            return r;
        };

        auto p = nrn::default_params<adaptive_signed_lif, float>();
        std::vector<float> x, s(T * N), saved(K::saved_per_step * T * N), gs(T * N), gx(T * N);
        currents(teacher_w, x);
        K::forward(p, T, N, x.data(), s.data(), nullptr);
        const auto target = rates(s);

        double first = 0, last = 0;
        for (std::size_t e = 0; e < epochs; ++e) {
            currents(w, x);
            K::forward(p, T, N, x.data(), s.data(), saved.data());
            const auto r = rates(s);
            double loss = 0;
            for (std::size_t i = 0; i < N; ++i)
                loss += double((r[i] - target[i]) * (r[i] - target[i]));
            loss /= double(N);
            // dL/dS[t][i] = 2 (r_i - target_i) / (N T)
            for (std::size_t t = 0; t < T; ++t)
                for (std::size_t i = 0; i < N; ++i)
                    gs[t * N + i] = 2.f * (r[i] - target[i]) / float(N * T);
            K::params_type gp{0, 0, 0, 0};
            K::backward(p, T, N, saved.data(), gs.data(), gx.data(), &gp);
            std::vector<float> gw(outputs * inputs, 0.f);
            for (std::size_t t = 0; t < T; ++t)
                for (std::size_t b = 0; b < batch; ++b)
                    for (std::size_t k = 0; k < outputs; ++k)
                        for (std::size_t d = 0; d < inputs; ++d)
                            gw[k * inputs + d] += gx[(t * batch + b) * outputs + k] *
                                                  in[(t * batch + b) * inputs + d];
            for (std::size_t j = 0; j < w.size(); ++j) w[j] -= float(lr) * gw[j];
            // the neuron's own parameters learn too (kept in their valid ranges)
            p.beta = std::clamp(p.beta - 0.1f * float(lr) * gp.beta, 0.f, 1.f);
            p.theta0 = std::max(0.05f, p.theta0 - 0.1f * float(lr) * gp.theta0);
            p.rho = std::clamp(p.rho - 0.1f * float(lr) * gp.rho, 0.f, 1.f);
            p.kappa = std::max(0.f, p.kappa - 0.1f * float(lr) * gp.kappa);
            if (e == 0) first = loss;
            last = loss;
            if (e % 10 == 0 || e + 1 == epochs)
                fmt::print("epoch {:3d}  rate MSE {:.5f}  beta {:.3f} theta0 {:.3f} rho {:.3f} "
                           "kappa {:.3f}\n",
                           e, loss, p.beta, p.theta0, p.rho, p.kappa);
        }
        fmt::print("loss {:.5f} -> {:.5f} ({:.1f}x lower)\n", first, last,
                   first / std::max(last, 1e-12));
        return last < first ? 0 : 1;
    } catch (const std::exception& e) { // e.g. std::bad_alloc for sizes beyond memory
        fmt::print(stderr, "error: {}\n", e.what());
        return 1;
    }
}
