#pragma once
// A population of spiking neurons of any neuron::neuron_model, one per element of a
// sample. The whole [T, B, ...] batch goes through the fused multi-step kernel in one call:
// the membrane state lives only inside that call, so it cannot leak from one batch into
// the next (there is no reset to forget).
//
// Device-faithful simulation (models with read noise and generated kernels, e.g.
// neuron::mtj_signed_lif): per_neuron gives every neuron of a sample its own parameters
// (device-to-device spread), read_noise draws the read-out noise z of each element and step
// from Philox (noise_seed, element, iteration x T + t), the same z in backward.
//
// Device in the loop: a spike_source, when set, replaces the model's kernel in inference
// (e.g. simulated MTJs); training through it is refused, since a device has no gradient.
//
// Analog twin (analog != analog_activation::off): the layer computes a stateless signed
// activation of its drive instead of spiking, y = f(gain x / theta+) for x >= 0 and
// -f(gain |x| / theta-) below, with f = clip to [0, 1] or tanh: the firing rate of a signed
// neuron with those parameters, to first order. The same network, weights and layout then
// train as an ANN (one step: the output keeps the input's time extent), the teacher and
// starting point of an SNN (train/hybrid.hpp). Models without gain or thresholds use 1.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "spinfire/core/aligned.hpp"
#include "spinfire/core/reflect.hpp"
#include "spinfire/neuron/model.hpp"
#include "spinfire/neuron/population.hpp"
#include "spinfire/nn/parameter.hpp"
#include "spinfire/nn/spike_source.hpp"
#include "spinfire/nn/tensor.hpp"

namespace spinfire::nn {

/// The activation of a spiking layer's analog twin (off: it spikes).
enum class analog_activation { off, clip, tanh };

namespace detail {
/// The kernel's population_options when it takes them (generated kernels), else nothing.
template <class K>
struct kernel_options {
    struct type {};
};
template <class K>
requires requires { typename K::options_type; }
struct kernel_options<K> {
    using type = typename K::options_type;
};
} // namespace detail

template <neuron::neuron_model Model>
class spiking {
public:
    using model = Model;
    using kernel = neuron::population_kernel<Model, float>;
    using params_type = typename kernel::params_type;
    static constexpr const char* kind = "spiking";
    template <class S>
    static constexpr bool accepts = true;
    template <class S>
    using output_shape = S;
    template <class S>
    static constexpr std::size_t macs = 0;

    /// Neuron parameters (beta 0.5, theta 1 for signed_lif). Fixed unless learned.
    params_type params = neuron::default_params<Model, float>();
    /// One parameter set per neuron of a sample (C*H*W, in the layer's memory order), or
    /// empty for the shared params.
    std::vector<params_type> per_neuron;
    bool read_noise = false;
    std::uint64_t noise_seed = 0;
    /// Inference only: spikes come from here instead of the model's kernel when set.
    std::shared_ptr<spike_source> source;
    /// Not off: the layer is its analog twin (see the header comment).
    analog_activation analog = analog_activation::off;
    /// Mean |y| of the last forward, set only when context::collect_metrics (the spike rate
    /// of a spiking layer, the mean activation magnitude of an analog one).
    double mean_abs_output = 0;

    spiking() = default;
    /// learn = true makes every field of the model's params a trainable one-element
    /// parameter (PLIF-style learned leak, learned thresholds), without weight decay;
    /// the optimizer then owns the values and `params` follows them at each forward.
    explicit spiking(const params_type& p, bool learn = false) : params(p) {
        if (learn) {
            reflect::for_each_field(params, [&](const char*, float& v) {
                learned_.emplace_back(std::vector<std::size_t>{1}, false);
                learned_.back().value(0) = v;
            });
        }
    }

    void initialize(std::uint64_t, std::uint64_t) {}
    template <class F>
    void visit_parameters(F&& f) {
        if (learned_.empty()) return;
        std::size_t i = 0;
        reflect::for_each_field(params, [&](const char* name, float&) { f(name, learned_[i++]); });
    }
    template <class F>
    void visit_buffers(F&&) {}

    /// x: [T, B, ...] or [1, B, ...] (direct encoding: the same input at every step).
    void forward(const tensor& x, tensor& y, const context& ctx) {
        const auto& s = x.shape();
        const std::size_t steps = ctx.steps, n = s[1] * s[2] * s[3] * s[4];
        if (steps == 0) throw parameter_error("context.steps", "must be >= 1");
        if (s[0] != steps && s[0] != 1)
            throw parameter_error("spiking input", "has " + std::to_string(s[0]) +
                                                       " time steps, the context " +
                                                       std::to_string(steps));
        if (analog != analog_activation::off) {
            if (source)
                throw parameter_error("spiking.analog", "an analog twin has no spike source");
            analog_forward(x, y);
            if (ctx.collect_metrics) record_activity(y);
            return;
        }
        if (source) {
            if (ctx.training)
                throw parameter_error("spiking.source", "a spike source (device in the loop) runs "
                                                        "in inference only: it has no gradient");
            ensure_shape(y, steps, s[1], s[2], s[3], s[4]);
            source->forward(steps, s[0], s[1], s[2] * s[3] * s[4], x.data(), y.data(), ctx);
            if (ctx.collect_metrics) record_activity(y);
            return;
        }
        // Direct encoding runs the broadcast kernels: the input is read at every step from
        // one copy, and backward sums its gradient over steps inside the kernel.
        broadcast_ = s[0] == 1 && steps > 1;
        ensure_shape(y, steps, s[1], s[2], s[3], s[4]);
        if (!learned_.empty()) {
            std::size_t i = 0;
            reflect::for_each_field(params,
                                    [&](const char*, float& v) { v = learned_[i++].value(0); });
        }
        float* sv = nullptr;
        if (ctx.training) {
            saved_.resize(kernel::saved_per_step * steps * n);
            sv = saved_.data();
        }
        if (device_faithful()) {
            if constexpr (has_options) {
                opt_ = options(s[2] * s[3] * s[4], ctx);
                if (broadcast_)
                    kernel::base::forward_broadcast(params, steps, n, x.data(), y.data(), sv, opt_);
                else
                    kernel::forward(params, steps, n, x.data(), y.data(), sv, opt_);
            }
        } else if (broadcast_) {
            kernel::forward_broadcast(params, steps, n, x.data(), y.data(), sv);
        } else {
            kernel::forward(params, steps, n, x.data(), y.data(), sv);
        }
        if (ctx.collect_metrics) record_activity(y);
    }

    /// y is not read (the graph may have packed it away as int8).
    void backward(const tensor& x, const tensor&, const tensor& dy, tensor* dx,
                  const context& ctx) {
        if (!dx && learned_.empty()) return;
        if (analog != analog_activation::off) { // learned params stay put: no gradient
            if (!learned_.empty()) publish_zero();
            if (dx) analog_backward(x, dy, *dx);
            return;
        }
        const auto& s = x.shape();
        const std::size_t steps = ctx.steps, n = s[1] * s[2] * s[3] * s[4];
        if (dx) ensure_shape_like(*dx, x);
        params_type gp{};
        params_type* gpp = nullptr;
        if (!learned_.empty()) {
            reflect::for_each_field(gp, [](const char*, float& v) { v = 0.0f; });
            gpp = &gp;
        }
        // Without dx the kernel still writes an input gradient: give it scratch space.
        float* out = dx ? dx->data() : scratch(broadcast_ ? n : steps * n);
        if constexpr (has_options) {
            if (device_faithful()) {
                if (broadcast_)
                    kernel::base::backward_broadcast(params, steps, n, saved_.data(), dy.data(),
                                                     out, gpp, opt_);
                else
                    kernel::backward(params, steps, n, saved_.data(), dy.data(), out, gpp, opt_);
                return publish(gpp);
            }
        }
        if (broadcast_)
            kernel::backward_broadcast(params, steps, n, saved_.data(), dy.data(), out, gpp);
        else
            kernel::backward(params, steps, n, saved_.data(), dy.data(), out, gpp);
        publish(gpp);
    }

private:
    static constexpr bool has_options = requires { typename kernel::options_type; };

    /// gain / theta+ and gain / theta- of the analog twin (1 for models without them).
    std::pair<float, float> analog_slopes() const {
        if constexpr (requires { params.gain, params.theta_pos, params.theta_neg; })
            return {float(params.gain / params.theta_pos), float(params.gain / params.theta_neg)};
        else
            return {1.0f, 1.0f};
    }
    void analog_forward(const tensor& x, tensor& y) const {
        ensure_shape_like(y, x);
        const auto [kp, kn] = analog_slopes();
        const float* in = x.data();
        float* out = y.data();
        const std::size_t n = x.size();
        if (analog == analog_activation::clip) {
            for (std::size_t i = 0; i < n; ++i) {
                const float u = in[i] * (in[i] >= 0.0f ? kp : kn);
                out[i] = std::min(1.0f, std::max(-1.0f, u));
            }
        } else {
            for (std::size_t i = 0; i < n; ++i)
                out[i] = std::tanh(in[i] * (in[i] >= 0.0f ? kp : kn));
        }
    }
    /// dx = f'(k x) k dy, recomputed from x (the clip passes the gradient where |k x| < 1).
    void analog_backward(const tensor& x, const tensor& dy, tensor& dx) const {
        ensure_shape_like(dx, x);
        const auto [kp, kn] = analog_slopes();
        const float* in = x.data();
        const float* g = dy.data();
        float* out = dx.data();
        const std::size_t n = x.size();
        for (std::size_t i = 0; i < n; ++i) {
            const float k = in[i] >= 0.0f ? kp : kn, u = k * in[i];
            if (analog == analog_activation::clip) {
                out[i] = std::abs(u) < 1.0f ? k * g[i] : 0.0f;
            } else {
                const float t = std::tanh(u);
                out[i] = k * (1.0f - t * t) * g[i];
            }
        }
    }
    void record_activity(const tensor& y) {
        double sum = 0;
        for (const float v : y) sum += std::abs(v);
        mean_abs_output = y.size() ? sum / double(y.size()) : 0.0;
    }
    void publish_zero() {
        for (auto& p : learned_) p.grad(0) = 0.0f;
    }

    float* scratch(std::size_t size) {
        gx_.resize(size);
        return gx_.data();
    }
    void publish(const params_type* gp) {
        if (!gp) return;
        std::size_t i = 0;
        reflect::for_each_field(*gp,
                                [&](const char*, const float& v) { learned_[i++].grad(0) = v; });
    }

    bool device_faithful() const {
        if (per_neuron.empty() && !read_noise) return false;
        if constexpr (!has_options)
            throw parameter_error("spiking", "this model's fused kernel has no per-neuron "
                                             "parameters or read noise");
        return true;
    }
    auto options(std::size_t neurons, const context& ctx) const {
        typename kernel::options_type o;
        if (!per_neuron.empty()) {
            if (per_neuron.size() != neurons)
                throw parameter_error("spiking.per_neuron",
                                      "has " + std::to_string(per_neuron.size()) +
                                          " parameter sets, the layer " + std::to_string(neurons) +
                                          " neurons per sample");
            o.per_neuron = per_neuron.data();
            o.neurons = neurons;
        }
        o.noise = read_noise;
        o.seed = noise_seed;
        o.counter = ctx.iteration;
        return o;
    }

    aligned_vector<float> saved_, gx_; // gx_: input gradient nobody asked for
    std::vector<parameter> learned_;
    bool broadcast_ = false;
    typename detail::kernel_options<kernel>::type opt_{}; // the forward's, reused by backward
};

} // namespace spinfire::nn
