#pragma once
// ANN teacher and hybrid initialisation of an SNN (issue 31 item 2; docs/results/cifar10.md,
// "Teacher, hybrid initialisation and distillation").
//
// The teacher is the SNN's own network with every spiking layer switched to its analog twin
// (nn::analog_activation: the signed rate f(gain x / theta) at one step), so both share
// weights, layout and batch norms, and the teacher trains as a plain ANN at a fraction of an
// SNN step's cost. The SNN then starts from the teacher's weights (copy_weights), and
// calibrate_to_teacher scales the batch norm in front of each neuron, layer by layer from the
// input, until the neuron's spike rate on a batch of training images equals the teacher's
// mean |activation| there: the teacher's activations are rates, and a spike's magnitude is 1,
// so equal magnitudes put each layer at the operating point the teacher learned. The T-step
// leak and thresholds make the spiking rate a staircase of the drive, not the teacher's
// clip, which is what the scale corrects to first order; surrogate-gradient fine-tuning
// (with the teacher's outputs as soft targets) does the rest.
#include <cmath>
#include <cstddef>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include "spinfire/core/error.hpp"
#include "spinfire/io/json.hpp"
#include "spinfire/nn/graph.hpp"
#include "spinfire/nn/spiking.hpp"

namespace spinfire::train {

inline nn::analog_activation parse_activation(const std::string& s) {
    if (s == "clip") return nn::analog_activation::clip;
    if (s == "tanh") return nn::analog_activation::tanh;
    if (s == "off") return nn::analog_activation::off;
    throw parameter_error("teacher_activation", "'" + s + "' is not clip or tanh");
}

/// Switches every (top-level) spiking layer of net to activation a (off: spiking again).
template <class Net>
void set_analog(Net& net, nn::analog_activation a) {
    net.body().for_each([&]<std::size_t I>(auto& layer) {
        if constexpr (nn::detail::spiking_layer<std::decay_t<decltype(layer)>>) layer.analog = a;
    });
}

/// Copies every parameter and buffer of src into dst, by name (same network type).
template <class Net>
void copy_weights(Net& dst, Net& src) {
    std::map<std::string, nn::parameter*> params;
    std::map<std::string, nn::buffer*> buffers;
    src.visit_parameters([&](const std::string& n, nn::parameter& p) { params[n] = &p; });
    src.visit_buffers([&](const std::string& n, nn::buffer& b) { buffers[n] = &b; });
    dst.visit_parameters([&](const std::string& n, nn::parameter& p) {
        p.value = params.at(n)->value;
        p.touch();
    });
    dst.visit_buffers([&](const std::string& n, nn::buffer& b) { b.value = buffers.at(n)->value; });
}

/// Mean |output| of every top-level spiking layer after one inference pass over x.
template <class Net>
std::vector<double> layer_activity(Net& net, const nn::tensor& x, nn::context ctx) {
    ctx.training = false;
    ctx.collect_metrics = true;
    net.forward(x, ctx);
    std::vector<double> a;
    net.body().for_each([&]<std::size_t I>(auto& layer) {
        if constexpr (nn::detail::spiking_layer<std::decay_t<decltype(layer)>>)
            a.push_back(layer.mean_abs_output);
    });
    return a;
}

struct calibration {
    std::vector<double> target; ///< the teacher's mean |activation| per spiking layer
    std::vector<double> before; ///< the SNN's spike rate there with the copied weights
    std::vector<double> after;  ///< and after calibration
    std::vector<double> scale;  ///< factor on the gamma and beta of the BN before each
};

inline io::json to_json(const calibration& c) {
    return {{"teacher_activity", c.target},
            {"spike_rate_before", c.before},
            {"spike_rate_after", c.after},
            {"bn_scale", c.scale}};
}

/// Greedy, from the input: for spiking layer l, the factor k on the gamma and beta of the
/// batch norm right before it (so on its drive) that makes its spike rate on x (at ctx.steps)
/// equal the teacher's mean |activation|, by bisection on log k in [1/64, 64]. The rate is
/// monotone in k for a fixed input, and layers before l are already calibrated. A neuron
/// without a batch norm in front of it is left as it is (scale 1).
template <class Net>
calibration calibrate_to_teacher(Net& student, Net& teacher, const nn::tensor& x,
                                 const nn::context& ctx) {
    nn::context tc = ctx;
    tc.steps = 1;
    calibration c;
    c.target = layer_activity(teacher, x, tc);
    c.before = layer_activity(student, x, ctx);
    std::size_t l = 0; // index among the spiking layers
    student.body().for_each([&]<std::size_t I>(auto& layer) {
        using layer_t = std::decay_t<decltype(layer)>;
        if constexpr (nn::detail::spiking_layer<layer_t>) {
            const std::size_t here = l++;
            double k = 1;
            if constexpr (I > 0) {
                auto& bn = std::get<I - 1>(student.body().layers());
                if constexpr (requires {
                                  bn.gamma();
                                  bn.beta();
                              }) {
                    const auto g0 = bn.gamma().value, b0 = bn.beta().value;
                    auto rate = [&](double f) {
                        bn.gamma().value = g0 * float(f);
                        bn.beta().value = b0 * float(f);
                        bn.gamma().touch();
                        bn.beta().touch();
                        return layer_activity(student, x, ctx)[here];
                    };
                    double lo = std::log(1.0 / 64), hi = std::log(64.0);
                    const double goal = c.target[here];
                    if (rate(std::exp(hi)) <= goal) {
                        lo = hi;
                    } else if (rate(std::exp(lo)) >= goal) {
                        hi = lo;
                    } else {
                        for (int it = 0; it < 16; ++it) {
                            const double mid = 0.5 * (lo + hi);
                            (rate(std::exp(mid)) < goal ? lo : hi) = mid;
                        }
                    }
                    k = std::exp(0.5 * (lo + hi));
                    rate(k);
                }
            }
            c.scale.push_back(k);
        }
    });
    c.after = layer_activity(student, x, ctx);
    return c;
}

} // namespace spinfire::train
