#pragma once
// Compile-time graph composition: nn::sequential<shape<C,H,W>>(layers...) and
// nn::residual(layers...). Shapes propagate at compile time; a layer that cannot take the
// shape its predecessor produces is a static_assert whose instantiation note names both
// layer types (detail::check_link<Previous, Next, Shape>).
//
// A layer is a type with
//   static constexpr const char* kind;
//   template <class S> static constexpr bool accepts;        // can it take input shape S
//   template <class S> using output_shape = ...;
//   template <class S> static constexpr std::size_t macs;    // per sample and time step
//   void initialize(seed, stream);  visit_parameters(f);  visit_buffers(f);
//   void forward(const tensor& x, tensor& y, const context&);
//   void backward(const tensor& x, const tensor& y, const tensor& dy, tensor* dx, const context&);
// backward overwrites parameter gradients (no accumulation to forget to zero).
#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "spinfire/nn/detail/dnnl.hpp"
#include "spinfire/nn/parameter.hpp"
#include "spinfire/nn/replicas.hpp"
#include "spinfire/nn/tensor.hpp"

namespace spinfire::nn {

template <class L>
concept layer = requires(L& l, const tensor& x, tensor& y, tensor* dx, const context& c) {
    { L::kind } -> std::convertible_to<const char*>;
    l.forward(x, y, c);
    l.backward(x, y, x, dx, c);
    l.initialize(std::uint64_t(0), std::uint64_t(0));
};

/// Stand-in "previous layer" of the first layer of a network.
template <class Shape>
struct network_input {};

/// Spike and density counters of one layer, filled when context::collect_metrics is set.
struct layer_counters {
    double in_nonzero = 0, in_total = 0;            ///< input of synaptic (conv/linear) layers
    double out_pos = 0, out_neg = 0, out_total = 0; ///< output of spiking layers
    double samples = 0, steps = 0;
    double in_steps = 0; ///< time steps of the last input (1 under direct encoding)
};

namespace detail {

template <class Prev, class Next, class In>
struct check_link {
    static constexpr bool value = Next::template accepts<In>;
    static_assert(value,
                  "spinfire::nn shape mismatch between consecutive layers: the shape produced "
                  "by the first type of check_link<Previous, Next, Shape> is not an input the "
                  "second accepts");
};

template <bool Ok, class L, class In>
struct next_shape {
    using type = typename L::template output_shape<In>;
};
template <class L, class In>
struct next_shape<false, L, In> {
    using type = In; // stop here: the static_assert above already reported the mismatch
};

/// shapes<Prev, In, L...>::type = std::tuple<input of L0, input of L1, ..., output>.
template <class Prev, class In, class... L>
struct shapes {
    using type = std::tuple<In>;
};
template <class Prev, class In, class L, class... R>
struct shapes<Prev, In, L, R...> {
    using out = typename next_shape<check_link<Prev, L, In>::value, L, In>::type;
    using type = decltype(std::tuple_cat(std::declval<std::tuple<In>>(),
                                         std::declval<typename shapes<L, out, R...>::type>()));
};

template <class L>
concept foldable_conv = requires(L& l, const tensor& x, tensor& y, const context& c, const float* p,
                                 std::uint64_t t) {
    l.forward_affine(x, y, c, p, p, t);
};
template <class L>
concept foldable_norm = requires(L& l, const float*& p, std::uint64_t& t) {
    l.inference_affine(p, p, t);
};
template <class L>
concept synaptic_layer = requires {
    requires L::synaptic;
};
template <class L>
concept spiking_layer = requires {
    typename L::model;
};

inline void count_input(const tensor& x, layer_counters& c) {
    std::size_t nz = 0;
    for (const float v : x) nz += v != 0.0f;
    c.in_nonzero += double(nz);
    c.in_total += double(x.size());
    c.in_steps = double(x.shape()[0]);
}
inline void count_spikes(const tensor& y, layer_counters& c) {
    std::size_t pos = 0, neg = 0;
    for (const float v : y) {
        pos += v > 0.0f;
        neg += v < 0.0f;
    }
    c.out_pos += double(pos);
    c.out_neg += double(neg);
    c.out_total += double(y.size());
    c.samples += double(y.shape()[1]);
    c.steps = double(y.shape()[0]);
}

/// Packs f32 spikes into int8 when every value is exactly -1, 0 or +1 (returns false and
/// leaves dst unspecified otherwise: graded outputs of a custom neuron stay f32).
inline bool pack_spikes(const tensor& src, std::vector<std::int8_t>& dst) {
    const std::size_t n = src.size();
    dst.resize(n);
    const float* s = src.data();
    std::int8_t* d = dst.data();
    int inexact = 0;
    for (std::size_t i = 0; i < n; ++i) { // branch-free: the compiler vectorizes it
        const float v = s[i];
        const int q = int(v > 0.5f) - int(v < -0.5f);
        d[i] = std::int8_t(q);
        inexact |= int(float(q) != v); // also for NaN
    }
    return inexact == 0;
}
inline void unpack_spikes(const std::vector<std::int8_t>& src,
                          const typename tensor::shape_type& shape, tensor& dst) {
    if (dst.shape() != shape) dst.resize(shape);
    float* d = dst.data();
    for (std::size_t i = 0; i < src.size(); ++i) d[i] = float(src[i]);
}

/// The runtime half of a graph: layers, their outputs and the backward ping-pong buffers.
/// Shape-agnostic at run time (the compile-time checks live in network and residual).
///
/// With context::int8_spikes, spikes are kept as int8 between forward and backward: in
/// training, once the layer after a spiking layer has consumed its f32 output, the chain
/// packs it (-1/0/+1 are exact in int8) and frees the f32 tensor; backward unpacks it into
/// one shared scratch tensor for the next layer's gradient. A quarter of the memory for
/// every spike tensor a BPTT step keeps, paid for with an allocation per step (off by
/// default, see context). Not done before a residual block (its body holds a pointer to its
/// input) nor for the last layer (the chain's output).
template <class... L>
class chain {
public:
    static constexpr std::size_t size = sizeof...(L);
    static_assert(size > 0, "spinfire::nn: a graph needs at least one layer");

    chain() = default;
    explicit chain(L... layers) : layers_(std::move(layers)...) {}

    std::tuple<L...>& layers() { return layers_; }
    const std::tuple<L...>& layers() const { return layers_; }
    std::array<layer_counters, size>& counters() { return counters_; }

    /// Gives every layer a distinct Philox stream: first + position.
    std::uint64_t initialize(std::uint64_t seed, std::uint64_t first) {
        std::uint64_t next = first;
        for_each([&]<std::size_t I>(auto& l) {
            if constexpr (requires { l.initialize(seed, next, 0); })
                next = l.initialize(seed, next, 0);
            else
                l.initialize(seed, next++);
        });
        return next;
    }

    const tensor& forward(const tensor& x, const context& ctx) {
        in_ = &x;
        skip_ = false;
        forward_all(x, ctx, std::index_sequence_for<L...>{});
        return out_[size - 1];
    }

    /// dy: gradient of the last output. Returns dx when want_dx (else an empty tensor).
    const tensor& backward(const tensor& dy, const context& ctx, bool want_dx) {
        g_ = &dy;
        backward_all(dy, ctx, want_dx, std::make_index_sequence<size>{});
        return want_dx ? *g_ : empty_;
    }

    template <class F>
    void for_each(F&& f) {
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (f.template operator()<I>(std::get<I>(layers_)), ...);
        }
        (std::index_sequence_for<L...>{});
    }

    template <class F>
    void visit_parameters(F&& f, const std::string& prefix) {
        for_each([&]<std::size_t I>(auto& l) {
            const std::string p = prefix + std::to_string(I) + "." + l.kind + ".";
            if constexpr (requires { l.visit_parameters(f, p); })
                l.visit_parameters(f, p);
            else
                l.visit_parameters([&](const char* n, parameter& q) { f(p + n, q); });
        });
    }
    template <class F>
    void visit_buffers(F&& f, const std::string& prefix) {
        for_each([&]<std::size_t I>(auto& l) {
            const std::string p = prefix + std::to_string(I) + "." + l.kind + ".";
            if constexpr (requires { l.visit_buffers(f, p); })
                l.visit_buffers(f, p);
            else
                l.visit_buffers([&](const char* n, buffer& q) { f(p + n, q); });
        });
    }

    /// Frees every activation and gradient buffer (they regrow on the next call).
    void release() {
        for (auto& t : out_) t = tensor();
        for (auto& p : packed_) p = {};
        unpacked_ = tensor();
        grads_.clear();
    }
    /// Bytes held by activations (f32 and packed int8 spikes) and gradient buffers.
    std::size_t activation_bytes() const {
        std::size_t n = 0;
        for (const auto& t : out_) n += 4 * t.size();
        for (const auto& p : packed_) n += p.data.capacity();
        n += 4 * unpacked_.size();
        for (const auto& [k, t] : grads_) n += 4 * t.size();
        return n;
    }

private:
    template <std::size_t... I>
    void forward_all(const tensor& x, const context& ctx, std::index_sequence<I...>) {
        (forward_at<I>(x, ctx), ...);
    }

    template <std::size_t I>
    void forward_at(const tensor& x, const context& ctx) {
        using this_t = std::tuple_element_t<I, std::tuple<L...>>;
        auto& l = std::get<I>(layers_);
        const tensor& in = I == 0 ? x : out_[I == 0 ? 0 : I - 1];
        if (skip_) { // a batch norm folded into the conv before it
            skip_ = false;
            return;
        }
        if (ctx.collect_metrics) {
            if constexpr (synaptic_layer<this_t>) count_input(in, counters_[I]);
        }
        if constexpr (I + 1 < size) {
            using next_t = std::tuple_element_t<I + 1, std::tuple<L...>>;
            if constexpr (foldable_conv<this_t> && foldable_norm<next_t>) {
                if (!ctx.training) {
                    const float *scale = nullptr, *shift = nullptr;
                    std::uint64_t token = 0;
                    std::get<I + 1>(layers_).inference_affine(scale, shift, token);
                    l.forward_affine(in, out_[I + 1], ctx, scale, shift, token);
                    skip_ = true;
                    return;
                }
            }
        }
        l.forward(in, out_[I], ctx);
        if (ctx.collect_metrics) {
            if constexpr (spiking_layer<this_t>) count_spikes(out_[I], counters_[I]);
        }
        if constexpr (I > 0) pack_input<I>(ctx);
    }

    /// After layer I ran: store the spikes of layer I-1 (its input) as int8 for backward.
    template <std::size_t I>
    void pack_input(const context& ctx) {
        using prev_t = std::tuple_element_t<I - 1, std::tuple<L...>>;
        using this_t = std::tuple_element_t<I, std::tuple<L...>>;
        if constexpr (spiking_layer<prev_t> && !requires(this_t & l) { l.body(); }) {
            auto& p = packed_[I - 1];
            p.active = false;
            if (!ctx.training || !ctx.int8_spikes) return;
            if (!pack_spikes(out_[I - 1], p.data)) return;
            p.shape = out_[I - 1].shape();
            p.active = true;
            out_[I - 1] = tensor(); // frees the f32 copy
        }
    }

    template <std::size_t... I>
    void backward_all(const tensor& dy, const context& ctx, bool want_dx,
                      std::index_sequence<I...>) {
        (backward_at<size - 1 - I>(dy, ctx, want_dx), ...);
    }

    template <std::size_t I>
    void backward_at(const tensor& dy, const context& ctx, bool want_dx) {
        (void)dy;
        auto& l = std::get<I>(layers_);
        const tensor* xp = I == 0 ? in_ : &out_[I == 0 ? 0 : I - 1];
        if constexpr (I > 0) {
            if (packed_[I - 1].active) {
                unpack_spikes(packed_[I - 1].data, packed_[I - 1].shape, unpacked_);
                xp = &unpacked_;
            }
        }
        const tensor& x = *xp;
        tensor* dx = (I > 0 || want_dx) ? &grad_buffer(x.size()) : nullptr;
        // a packed spiking layer's own output is gone: spiking layers never read y
        l.backward(x, out_[I], *g_, dx, ctx);
        g_ = dx;
        // a residual block's layers announce their own gradients, in its body's chain
        if constexpr (!requires { l.body(); }) {
            if (ctx.replicas)
                l.visit_parameters(
                    [&](const char*, parameter& p) { ctx.replicas->gradient_ready(p); });
        }
    }

    /// Gradient buffers are kept per element count (two each, so dx never aliases dy):
    /// a shape change between layers does not reallocate (and page-fault) every step.
    tensor& grad_buffer(std::size_t n) {
        tensor& a = grads_[{n, 0}];
        return &a == g_ ? grads_[{n, 1}] : a;
    }

    struct packed_spikes {
        std::vector<std::int8_t> data;
        typename tensor::shape_type shape{};
        bool active = false;
    };

    std::tuple<L...> layers_;
    std::array<tensor, size> out_{};
    std::array<packed_spikes, size> packed_{};
    tensor unpacked_; // shared scratch: one packed tensor unpacked at a time
    std::map<std::pair<std::size_t, int>, tensor> grads_;
    std::array<layer_counters, size> counters_{};
    tensor empty_;
    const tensor* in_ = nullptr;
    const tensor* g_ = nullptr;
    bool skip_ = false;
};

template <class In, class... L>
struct residual_check {
    using out =
        std::tuple_element_t<sizeof...(L), typename shapes<network_input<In>, In, L...>::type>;
    static constexpr bool value = std::is_same_v<out, In>;
    static_assert(value, "spinfire::nn residual: the body must keep the shape of its input "
                         "(SEW add needs equal shapes)");
};

} // namespace detail

/// SEW-style residual block: y = body(x) + x (ADD), the body a chain of layers.
template <class... L>
class residual_block {
public:
    static constexpr const char* kind = "residual";
    template <class S>
    static constexpr bool accepts = detail::residual_check<S, L...>::value;
    template <class S>
    using output_shape = S;
    template <class S>
    static constexpr std::size_t macs = [] {
        using list = typename detail::shapes<network_input<S>, S, L...>::type;
        return []<std::size_t... I>(std::index_sequence<I...>) {
            return (std::size_t(0) + ... +
                    std::tuple_element_t<I, std::tuple<L...>>::template macs<
                        std::tuple_element_t<I, list>>);
        }
        (std::index_sequence_for<L...>{});
    }();

    residual_block() = default;
    explicit residual_block(L... layers) : body_(std::move(layers)...) {}
    detail::chain<L...>& body() { return body_; }

    std::uint64_t initialize(std::uint64_t seed, std::uint64_t first, int) {
        return body_.initialize(seed, first);
    }
    void initialize(std::uint64_t seed, std::uint64_t first) { body_.initialize(seed, first); }
    template <class F>
    void visit_parameters(F&& f, const std::string& prefix) {
        body_.visit_parameters(f, prefix);
    }
    template <class F>
    void visit_buffers(F&& f, const std::string& prefix) {
        body_.visit_buffers(f, prefix);
    }

    void forward(const tensor& x, tensor& y, const context& ctx) {
        const tensor& b = body_.forward(x, ctx);
        // direct encoding may make the body output T steps from a 1-step input
        const auto& s = b.shape();
        ensure_shape(y, s[0], s[1], s[2], s[3], s[4]);
        const std::size_t n = x.size(), m = b.size();
        if (n != m && x.shape()[0] != 1)
            throw parameter_error("residual", "body output and input sizes differ");
        for (std::size_t i = 0; i < m; ++i) y.data()[i] = b.data()[i] + x.data()[i % n];
    }
    void backward(const tensor& x, const tensor&, const tensor& dy, tensor* dx,
                  const context& ctx) {
        const tensor& g = body_.backward(dy, ctx, dx != nullptr);
        if (!dx) return;
        ensure_shape_like(*dx, x);
        const std::size_t n = x.size(), m = dy.size();
        for (std::size_t i = 0; i < n; ++i) dx->data()[i] = g.data()[i];
        for (std::size_t i = 0; i < m; ++i) dx->data()[i % n] += dy.data()[i];
    }

private:
    detail::chain<L...> body_;
};

/// A network with input shape In (per sample, C x H x W) and layers L...
template <shape_type In, class... L>
class network {
public:
    using input_shape = In;
    using shape_list = typename detail::shapes<network_input<In>, In, L...>::type;
    using output_shape = std::tuple_element_t<sizeof...(L), shape_list>;
    /// Input shape of layer I.
    template <std::size_t I>
    using input_shape_of = std::tuple_element_t<I, shape_list>;
    static constexpr std::size_t size = sizeof...(L);

    explicit network(L... layers) : body_(std::move(layers)...) { initialize(0); }

    /// Re-draws every parameter from Philox(seed, layer index): reproducible whatever the
    /// thread count.
    void initialize(std::uint64_t seed) { body_.initialize(seed, 0); }

    /// x: [T, B, C, H, W] with T == ctx.steps, or T == 1 for direct encoding. The input
    /// must stay alive until backward.
    const tensor& forward(const tensor& x, const context& ctx) {
        detail::require_dims(x, In::channels, In::height, In::width, "network input");
        if (x.shape()[1] == 0) throw parameter_error("network input", "batch is empty");
        const tensor* in = &x;
        if (convert_input(ctx)) {
            detail::convert_layout(x, in_blocked_, true);
            in = &in_blocked_;
        }
        const tensor& y = body_.forward(*in, ctx);
        if (!convert_output(ctx)) return y;
        detail::convert_layout(y, out_plain_, false);
        return out_plain_;
    }

    /// Back-propagates dy (gradient of the last output) and overwrites every parameter
    /// gradient. Returns the input gradient when want_input_grad (else an empty tensor).
    const tensor& backward(const tensor& dy, const context& ctx, bool want_input_grad = false) {
        const tensor* g = &dy;
        if (convert_output(ctx)) {
            detail::convert_layout(dy, dy_blocked_, true);
            g = &dy_blocked_;
        }
        const tensor& dx = body_.backward(*g, ctx, want_input_grad);
        if (!want_input_grad || !convert_input(ctx)) return dx;
        detail::convert_layout(dx, dx_plain_, false);
        return dx_plain_;
    }

    template <class F>
    void visit_parameters(F&& f) {
        body_.visit_parameters(f, "");
    }
    template <class F>
    void visit_buffers(F&& f) {
        body_.visit_buffers(f, "");
    }
    std::size_t parameter_count() {
        std::size_t n = 0;
        visit_parameters([&](const std::string&, parameter& p) { n += p.size(); });
        return n;
    }

    template <std::size_t I>
    auto& layer() {
        return std::get<I>(body_.layers());
    }
    detail::chain<L...>& body() { return body_; }
    void reset_metrics() { body_.counters() = {}; }
    void release_activations() { body_.release(); }
    std::size_t activation_bytes() const { return body_.activation_bytes(); }

private:
    static bool convert_input(const context& ctx) {
        return blocked_layout(In::channels, ctx) && In::height * In::width > 1;
    }
    static bool convert_output(const context& ctx) {
        return blocked_layout(output_shape::channels, ctx) &&
               output_shape::height * output_shape::width > 1;
    }

    detail::chain<L...> body_;
    tensor in_blocked_, out_plain_, dy_blocked_, dx_plain_;
};

/// nn::sequential<shape<3, 32, 32>>(conv2d<3, 64, 3>{}, batch_norm<64>{}, ...)
template <shape_type In, class... L>
requires(layer<std::decay_t<L>>&&...) network<In, std::decay_t<L>...> sequential(L&&... layers) {
    return network<In, std::decay_t<L>...>(std::forward<L>(layers)...);
}

/// nn::residual(conv2d<C, C, 3>{}, batch_norm<C>{}, spiking<...>{}): y = body(x) + x.
template <class... L>
requires(layer<std::decay_t<L>>&&...) residual_block<std::decay_t<L>...> residual(L&&... layers) {
    return residual_block<std::decay_t<L>...>(std::forward<L>(layers)...);
}

} // namespace spinfire::nn
