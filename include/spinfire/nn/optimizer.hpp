#pragma once
// Optimizers over a graph's parameters (PyTorch semantics, so recipes carry over):
//   sgd:   v = mu v + (g + wd w);  w -= lr (nesterov ? g + wd w + mu v : v)
//   adamw: m, v moments with bias correction; decoupled decay w -= lr wd w
// plus global-norm gradient clipping. Every update bumps the parameter's version so layers
// refresh their cached (blocked, bf16, BN-folded) weights.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "spinfire/core/error.hpp"
#include "spinfire/nn/parameter.hpp"

namespace spinfire::nn {

namespace detail {
struct slot {
    std::string name;
    parameter* p;
    std::vector<float> a, b; ///< optimizer state (velocity; or first and second moments)
};
template <class Net>
std::vector<slot> collect(Net& net, bool two) {
    std::vector<slot> s;
    net.visit_parameters([&](const std::string& n, parameter& p) {
        s.push_back({n, &p, std::vector<float>(p.size(), 0.0f),
                     two ? std::vector<float>(p.size(), 0.0f) : std::vector<float>{}});
    });
    return s;
}
} // namespace detail

struct sgd_options {
    double lr = 0.1, momentum = 0.9, weight_decay = 5e-4;
    bool nesterov = true;
};

class sgd {
public:
    sgd_options options;

    template <class Net>
    sgd(Net& net, sgd_options o) : options(o), slots_(detail::collect(net, false)) {
        require_non_negative("sgd.lr", o.lr);
        if (!(o.momentum >= 0 && o.momentum < 1)) throw parameter_error("sgd.momentum", "must be in [0, 1)");
        require_non_negative("sgd.weight_decay", o.weight_decay);
    }
    void set_lr(double lr) { options.lr = lr; }

    void step() {
        const float lr = float(options.lr), mu = float(options.momentum);
        for (auto& s : slots_) {
            float* w = s.p->value.data();
            const float* g = s.p->grad.data();
            float* v = s.a.data();
            const float wd = s.p->decay ? float(options.weight_decay) : 0.0f;
            for (std::size_t i = 0, n = s.a.size(); i < n; ++i) {
                const float gi = g[i] + wd * w[i];
                v[i] = steps_ == 0 ? gi : mu * v[i] + gi; // PyTorch: first step v = g
                w[i] -= lr * (options.nesterov ? gi + mu * v[i] : v[i]);
            }
            s.p->touch();
        }
        ++steps_;
    }

    std::uint64_t steps() const { return steps_; }
    /// Optimizer state for checkpoints: f(name, values) and the step counter.
    template <class F>
    void visit_state(F&& f) {
        for (auto& s : slots_) f(s.name + ".momentum", s.a);
    }
    std::uint64_t& step_counter() { return steps_; }

private:
    std::vector<detail::slot> slots_;
    std::uint64_t steps_ = 0;
};

struct adamw_options {
    double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 1e-2;
};

class adamw {
public:
    adamw_options options;

    template <class Net>
    adamw(Net& net, adamw_options o) : options(o), slots_(detail::collect(net, true)) {
        require_non_negative("adamw.lr", o.lr);
        if (!(o.beta1 >= 0 && o.beta1 < 1)) throw parameter_error("adamw.beta1", "must be in [0, 1)");
        if (!(o.beta2 >= 0 && o.beta2 < 1)) throw parameter_error("adamw.beta2", "must be in [0, 1)");
        require_positive("adamw.eps", o.eps);
        require_non_negative("adamw.weight_decay", o.weight_decay);
    }
    void set_lr(double lr) { options.lr = lr; }

    void step() {
        ++steps_;
        const double c1 = 1 - std::pow(options.beta1, double(steps_));
        const double c2 = 1 - std::pow(options.beta2, double(steps_));
        const float lr = float(options.lr), b1 = float(options.beta1), b2 = float(options.beta2),
                    eps = float(options.eps), ic1 = float(1 / c1), isc2 = float(1 / std::sqrt(c2));
        for (auto& s : slots_) {
            float* w = s.p->value.data();
            const float* g = s.p->grad.data();
            float *m = s.a.data(), *v = s.b.data();
            const float decay = s.p->decay ? 1.0f - lr * float(options.weight_decay) : 1.0f;
            for (std::size_t i = 0, n = s.a.size(); i < n; ++i) {
                m[i] = b1 * m[i] + (1 - b1) * g[i];
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
                w[i] = w[i] * decay - lr * (m[i] * ic1) / (std::sqrt(v[i]) * isc2 + eps);
            }
            s.p->touch();
        }
    }

    std::uint64_t steps() const { return steps_; }
    template <class F>
    void visit_state(F&& f) {
        for (auto& s : slots_) {
            f(s.name + ".m", s.a);
            f(s.name + ".v", s.b);
        }
    }
    std::uint64_t& step_counter() { return steps_; }

private:
    std::vector<detail::slot> slots_;
    std::uint64_t steps_ = 0;
};

/// Scales all gradients so their global L2 norm is at most max_norm; returns the norm
/// before clipping. A non-finite norm is an error (it names the first bad parameter).
template <class Net>
double clip_grad_norm(Net& net, double max_norm) {
    require_positive("clip_grad_norm.max_norm", max_norm);
    double sq = 0;
    net.visit_parameters([&](const std::string& name, parameter& p) {
        double s = 0;
        for (const float g : p.grad) s += double(g) * g;
        if (!std::isfinite(s)) throw numeric_error("gradient of '" + name + "' is not finite");
        sq += s;
    });
    const double norm = std::sqrt(sq);
    if (norm > max_norm) {
        const float k = float(max_norm / (norm + 1e-12));
        net.visit_parameters([&](const std::string&, parameter& p) { p.grad *= k; });
    }
    return norm;
}

} // namespace spinfire::nn
