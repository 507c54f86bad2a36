#pragma once
// Losses on network outputs [T, B, K, 1, 1] (T may be 1 after mean_over_time):
//   cross_entropy: CE of the output averaged over T (rate readout), label smoothing
//   tet:           (1 - lambda) mean_t CE(O_t, y) + lambda mean_t MSE(O_t, phi)  (TET)
//   distillation:  (1 - alpha) CE(mean_t O_t, y) + alpha tau^2 KL(p_teacher || p_student),
//                  both softmaxes at temperature tau (Hinton et al. 2015): the tau^2 keeps
//                  the soft term's gradient on the scale of the hard one's as tau grows
// Both return the mean loss over the batch and its gradient with respect to the output.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "spinfire/core/error.hpp"
#include "spinfire/nn/tensor.hpp"

namespace spinfire::nn {

struct loss_result {
    double value = 0;
    tensor grad;             ///< d loss / d output, same shape as the output
    std::size_t correct = 0; ///< argmax of the T-averaged output equals the label
};

namespace detail {
inline void check_labels(std::span<const int> labels, std::size_t b, std::size_t k) {
    if (labels.size() != b)
        throw parameter_error("labels", "has " + std::to_string(labels.size()) +
                                            " entries for a batch of " + std::to_string(b));
    for (std::size_t i = 0; i < b; ++i)
        if (labels[i] < 0 || std::size_t(labels[i]) >= k)
            throw parameter_error("labels[" + std::to_string(i) + "]",
                                  "class " + std::to_string(labels[i]) + " outside [0, " +
                                      std::to_string(k) + ")");
}
/// Softmax CE of one row z against a smoothed one-hot target; writes dCE/dz into g.
inline double ce_row(const double* z, std::size_t k, int label, double smoothing, double* g) {
    double mx = z[0];
    for (std::size_t j = 1; j < k; ++j) mx = std::max(mx, z[j]);
    double sum = 0;
    for (std::size_t j = 0; j < k; ++j) sum += std::exp(z[j] - mx);
    const double lse = mx + std::log(sum);
    double loss = 0;
    for (std::size_t j = 0; j < k; ++j) {
        const double target =
            (1 - smoothing) * (int(j) == label ? 1.0 : 0.0) + smoothing / double(k);
        loss -= target * (z[j] - lse);
        g[j] = std::exp(z[j] - lse) - target;
    }
    return loss;
}
/// z = sample i's output rows [T, B, K] averaged over T (the rate readout the losses score).
inline void time_mean(const tensor& out, std::size_t i, std::vector<double>& z) {
    const auto& s = out.shape();
    const std::size_t steps = s[0], b = s[1], k = z.size();
    std::fill(z.begin(), z.end(), 0.0);
    for (std::size_t t = 0; t < steps; ++t)
        for (std::size_t j = 0; j < k; ++j) z[j] += out.data()[(t * b + i) * k + j];
    for (auto& v : z) v /= double(steps);
}
inline void require_finite_output(const tensor& out) {
    for (std::size_t i = 0; i < out.size(); ++i)
        if (!std::isfinite(out.data()[i]))
            throw numeric_error("loss: network output element " + std::to_string(i) +
                                " is not finite");
}
} // namespace detail

/// Cross-entropy of the output averaged over T (softmax over K = C*H*W per sample).
inline loss_result cross_entropy(const tensor& out, std::span<const int> labels,
                                 double label_smoothing = 0.0) {
    const auto& s = out.shape();
    const std::size_t steps = s[0], b = s[1], k = s[2] * s[3] * s[4];
    detail::check_labels(labels, b, k);
    detail::require_finite_output(out);
    if (!(label_smoothing >= 0 && label_smoothing < 1))
        throw parameter_error("label_smoothing", "must be in [0, 1)");
    loss_result r;
    r.grad = tensor(out.shape());
    std::vector<double> z(k), g(k);
    for (std::size_t i = 0; i < b; ++i) {
        detail::time_mean(out, i, z);
        r.value += detail::ce_row(z.data(), k, labels[i], label_smoothing, g.data());
        r.correct +=
            std::size_t(std::max_element(z.begin(), z.end()) - z.begin()) == std::size_t(labels[i]);
        for (std::size_t t = 0; t < steps; ++t)
            for (std::size_t j = 0; j < k; ++j)
                r.grad.data()[(t * b + i) * k + j] = float(g[j] / double(steps * b));
    }
    r.value /= double(b);
    return r;
}

/// TET loss (Deng et al. 2022): per-step CE plus a small MSE pull of every output to phi.
inline loss_result tet(const tensor& out, std::span<const int> labels, double lambda = 1e-3,
                       double phi = 1.0) {
    const auto& s = out.shape();
    const std::size_t steps = s[0], b = s[1], k = s[2] * s[3] * s[4];
    detail::check_labels(labels, b, k);
    detail::require_finite_output(out);
    if (!(lambda >= 0 && lambda <= 1)) throw parameter_error("tet.lambda", "must be in [0, 1]");
    loss_result r;
    r.grad = tensor(out.shape());
    std::vector<double> z(k), g(k), zm(k);
    const double norm = double(steps * b);
    for (std::size_t i = 0; i < b; ++i) {
        std::fill(zm.begin(), zm.end(), 0.0);
        for (std::size_t t = 0; t < steps; ++t) {
            const float* o = out.data() + (t * b + i) * k;
            float* gr = r.grad.data() + (t * b + i) * k;
            for (std::size_t j = 0; j < k; ++j) z[j] = o[j], zm[j] += o[j];
            const double ce = detail::ce_row(z.data(), k, labels[i], 0.0, g.data());
            double mse = 0;
            for (std::size_t j = 0; j < k; ++j) {
                const double d = z[j] - phi;
                mse += d * d / double(k);
                gr[j] = float(((1 - lambda) * g[j] + lambda * 2 * d / double(k)) / norm);
            }
            r.value += ((1 - lambda) * ce + lambda * mse) / norm;
        }
        r.correct += std::size_t(std::max_element(zm.begin(), zm.end()) - zm.begin()) ==
                     std::size_t(labels[i]);
    }
    return r;
}

/// Knowledge distillation of the T-averaged output towards a teacher's logits [Tt, B, K]
/// (averaged over their own Tt steps); alpha = 0 is cross_entropy. correct counts the
/// student's argmax against the labels.
inline loss_result distillation(const tensor& out, std::span<const int> labels,
                                const tensor& teacher, double alpha, double tau,
                                double label_smoothing = 0.0) {
    const auto& s = out.shape();
    const auto& ts = teacher.shape();
    const std::size_t steps = s[0], b = s[1], k = s[2] * s[3] * s[4];
    if (ts[1] != b || ts[2] * ts[3] * ts[4] != k || ts[0] == 0)
        throw parameter_error("distillation teacher", "logits do not match the output's batch "
                                                      "and classes");
    if (!(alpha >= 0 && alpha <= 1))
        throw parameter_error("distillation.alpha", "must be in [0, 1]");
    if (!(tau > 0)) throw parameter_error("distillation.tau", "must be > 0");
    detail::require_finite_output(teacher);
    loss_result r = cross_entropy(out, labels, label_smoothing);
    if (alpha == 0) return r;
    r.value *= 1 - alpha;
    std::vector<double> zs(k), zt(k), ps(k), pt(k);
    auto softmax = [k, tau](const std::vector<double>& z, std::vector<double>& p) {
        const double mx = *std::max_element(z.begin(), z.end());
        double sum = 0;
        for (std::size_t j = 0; j < k; ++j) sum += p[j] = std::exp((z[j] - mx) / tau);
        for (auto& v : p) v /= sum;
    };
    double kl = 0;
    for (std::size_t i = 0; i < b; ++i) {
        detail::time_mean(out, i, zs);
        detail::time_mean(teacher, i, zt);
        softmax(zs, ps);
        softmax(zt, pt);
        for (std::size_t j = 0; j < k; ++j) {
            if (pt[j] > 0) kl += pt[j] * (std::log(pt[j]) - std::log(ps[j]));
            // d(tau^2 KL)/dz_j = tau (ps_j - pt_j), spread evenly over the student's steps
            const float g = float(alpha * tau * (ps[j] - pt[j]) / double(steps * b));
            for (std::size_t t = 0; t < steps; ++t) {
                float& gr = r.grad.data()[(t * b + i) * k + j];
                gr = float((1 - alpha) * double(gr)) + g;
            }
        }
    }
    r.value += alpha * tau * tau * kl / double(b);
    return r;
}

} // namespace spinfire::nn
