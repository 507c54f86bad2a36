#pragma once
// 2-D convolution over multi-step activations: one oneDNN call on all T*B samples.
// Weights keep an f32 master copy (OIHW); the blocked/bf16 copy oneDNN wants is made once
// per weight update (tracked by the parameter's version), never per call.
#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "spinfire/nn/detail/dnnl.hpp"
#include "spinfire/nn/detail/init.hpp"
#include "spinfire/nn/detail/synaptic.hpp"
#include "spinfire/nn/parameter.hpp"
#include "spinfire/nn/tensor.hpp"

namespace spinfire::nn {

/// Square kernel K, stride Stride, zero padding Pad on each side; bias off by default
/// (convolutions before batch norm do not need one).
template <std::size_t InC, std::size_t OutC, std::size_t K, std::size_t Stride = 1,
          std::size_t Pad = K / 2, bool Bias = false>
class conv2d : public detail::synaptic_parameters<Bias> {
    static_assert(InC > 0 && OutC > 0 && K > 0 && Stride > 0, "conv2d: sizes must be > 0");

public:
    static constexpr const char* kind = "conv2d";
    static constexpr bool synaptic = true; ///< counts toward MACs/SOPs
    static constexpr std::size_t in_channels = InC, out_channels = OutC;
    template <class In>
    static constexpr bool accepts =
        In::channels == InC&& In::height + 2 * Pad >= K&& In::width + 2 * Pad >= K;
    template <class In>
    using output_shape = shape<OutC, (In::height + 2 * Pad - K) / Stride + 1,
                               (In::width + 2 * Pad - K) / Stride + 1>;
    /// Multiply-accumulates per sample and time step.
    template <class In>
    static constexpr std::size_t macs = output_shape<In>::size* InC* K* K;

    conv2d() : detail::synaptic_parameters<Bias>({OutC, InC, K, K}, InC * K * K) {}

    void forward(const tensor& x, tensor& y, const context& ctx) {
        run_forward(x, y, ctx, nullptr, nullptr, 0);
    }

    /// Inference with a per-output-channel affine map folded into weights and bias
    /// (batch norm folding): y = scale[o] * conv(x)[o] + shift[o].
    void forward_affine(const tensor& x, tensor& y, const context& ctx, const float* scale,
                        const float* shift, std::uint64_t token) {
        run_forward(x, y, ctx, scale, shift, token);
    }

    /// Gradients for weight (and bias) are overwritten; dx is written when non-null.
    void backward(const tensor& x, const tensor& /*y*/, const tensor& dy, tensor* dx,
                  const context& ctx) {
        const auto& s = x.shape();
        const std::size_t n = s[0] * s[1];
        auto& e = entry_for(s[3], s[4], n, ctx, false);
        if (!e.bwd_ready) make_backward(e);
        auto& env = detail::dnnl_env::get();
        const bool emulate = ctx.prec == precision::bf16 && !e.native;
        const float* dyp = dy.data();
        if (emulate) {
            e.round_dy.resize(dy.size());
            detail::round_bf16(dy.data(), e.round_dy.data(), dy.size());
            dyp = e.round_dy.data();
        }
        auto dy_user = detail::wrap(e.dst_user, dyp);
        // dy in the weights-gradient layout; backward-data reuses it when it wants the same
        // one (bf16 blocked in both where native: one reorder of dy per step instead of two)
        const auto dd_w = detail::to_layout(dy_user, e.bww.diff_dst_desc(), e.dd_w);
        { // weights gradient
            // the forward's reordered copy when it made one; else x itself, which may live
            // elsewhere now (the graph unpacks int8 spikes into scratch for backward)
            const float* xs = emulate ? e.round_x.data() : x.data();
            const bool copy = e.src_saved.get_data_handle() != static_cast<const void*>(e.src_ptr);
            auto src =
                copy && e.src_saved.get_desc() == e.bww.src_desc()
                    ? e.src_saved
                    : detail::to_layout(detail::wrap(e.src_user, xs), e.bww.src_desc(), e.src_w);
            auto dw_user = detail::wrap(e.w_user, weight_.grad.data());
            auto dw = detail::out_memory(dw_user, e.bww.diff_weights_desc(), e.dw);
            std::unordered_map<int, dnnl::memory> args{
                {DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, dd_w}, {DNNL_ARG_DIFF_WEIGHTS, dw}};
            dnnl::memory db;
            if constexpr (Bias) {
                db = detail::wrap(e.bww.diff_bias_desc(), bias_.grad.data());
                args.emplace(DNNL_ARG_DIFF_BIAS, db);
            }
            e.bww_p.execute(env.strm, args);
            detail::from_layout(dw, dw_user);
        }
        if (dx) {
            ensure_shape_like(*dx, x);
            const std::uint64_t wtok = detail::mix(weight_.version, emulate ? 1 : 0);
            if (e.w_bd_token != wtok) {
                prepare_weights(e.bwd.weights_desc(), e.w_bd, emulate, nullptr);
                e.w_bd_token = wtok;
            }
            auto dd = e.bwd.diff_dst_desc() == dd_w.get_desc()
                          ? dd_w
                          : detail::to_layout(dy_user, e.bwd.diff_dst_desc(), e.dd_d);
            auto dx_user = detail::wrap(e.src_user, dx->data());
            auto ds = detail::out_memory(dx_user, e.bwd.diff_src_desc(), e.ds);
            e.bwd_p.execute(
                env.strm,
                {{DNNL_ARG_DIFF_DST, dd}, {DNNL_ARG_WEIGHTS, e.w_bd}, {DNNL_ARG_DIFF_SRC, ds}});
            detail::from_layout(ds, dx_user);
        }
        env.strm.wait();
    }

    /// The oneDNN implementations in use (for reports), or empty before the first call.
    std::string implementation() const { return impl_; }

private:
    struct entry {
        bool native = false, folded = false, bwd_ready = false;
        dnnl::memory::desc src_user, dst_user, w_user;
        dnnl::convolution_forward::primitive_desc fwd;
        dnnl::convolution_forward fwd_p;
        dnnl::convolution_backward_data::primitive_desc bwd;
        dnnl::convolution_backward_data bwd_p;
        dnnl::convolution_backward_weights::primitive_desc bww;
        dnnl::convolution_backward_weights bww_p;
        dnnl::memory src_saved, src_scratch, src_w, w, w_bd, dst, dd_w, dd_d, dw, ds, b;
        const float* src_ptr = nullptr;
        std::uint64_t w_token = ~0ull, w_bd_token = ~0ull;
        std::vector<float> round_x, round_dy;
    };
    using key = std::tuple<std::size_t, std::size_t, std::size_t, bool, bool, bool>;

    dnnl::memory::desc conv_desc_dims(std::size_t n, std::size_t c, std::size_t h, std::size_t w,
                                      detail::dt t, detail::tag g) const {
        return {{dnnl::memory::dim(n), dnnl::memory::dim(c), dnnl::memory::dim(h),
                 dnnl::memory::dim(w)},
                t,
                g};
    }

    entry& entry_for(std::size_t h, std::size_t w, std::size_t n, const context& ctx, bool folded) {
        const bool native = ctx.prec == precision::bf16 && detail::native_bf16();
        return cache_.get(key{n, h, w, native, folded, ctx.blocked}, [&] {
            entry e;
            e.native = native;
            e.folded = folded;
            const std::size_t oh = (h + 2 * Pad - K) / Stride + 1,
                              ow = (w + 2 * Pad - K) / Stride + 1;
            const auto in_t = native ? detail::dt::bf16 : detail::dt::f32;
            e.src_user = conv_desc_dims(n, InC, h, w, detail::dt::f32, detail::act_tag(InC, ctx));
            e.dst_user =
                conv_desc_dims(n, OutC, oh, ow, detail::dt::f32, detail::act_tag(OutC, ctx));
            e.w_user = conv_desc_dims(OutC, InC, K, K, detail::dt::f32, detail::tag::oihw);
            auto src = conv_desc_dims(n, InC, h, w, in_t, detail::tag::any);
            auto dst = conv_desc_dims(n, OutC, oh, ow, detail::dt::f32, detail::tag::any);
            auto wei = conv_desc_dims(OutC, InC, K, K, in_t, detail::tag::any);
            const dnnl::memory::dims st{dnnl::memory::dim(Stride), dnnl::memory::dim(Stride)},
                pd{dnnl::memory::dim(Pad), dnnl::memory::dim(Pad)};
            const bool bias = Bias || folded;
            auto prop =
                folded ? dnnl::prop_kind::forward_inference : dnnl::prop_kind::forward_training;
            auto& env = detail::dnnl_env::get();
            if (bias) {
                dnnl::memory::desc b({dnnl::memory::dim(OutC)}, detail::dt::f32, detail::tag::a);
                e.fwd = {{prop, dnnl::algorithm::convolution_direct, src, wei, b, dst, st, pd, pd},
                         env.eng};
            } else {
                e.fwd = {{prop, dnnl::algorithm::convolution_direct, src, wei, dst, st, pd, pd},
                         env.eng};
            }
            e.fwd_p = dnnl::convolution_forward(e.fwd);
            impl_ = detail::impl_name(e.fwd);
            return e;
        });
    }

    void make_backward(entry& e) {
        auto& env = detail::dnnl_env::get();
        const auto in_t = e.native ? detail::dt::bf16 : detail::dt::f32;
        const auto& sd = e.src_user.dims();
        const auto& dd = e.dst_user.dims();
        dnnl::memory::desc src(sd, in_t, detail::tag::any),
            wei(e.w_user.dims(), in_t, detail::tag::any), dst(dd, in_t, detail::tag::any),
            dst32(dd, detail::dt::f32, detail::tag::any),
            src32(sd, detail::dt::f32, detail::tag::any),
            wei32(e.w_user.dims(), detail::dt::f32, detail::tag::any);
        const dnnl::memory::dims st{dnnl::memory::dim(Stride), dnnl::memory::dim(Stride)},
            pd{dnnl::memory::dim(Pad), dnnl::memory::dim(Pad)};
        e.bwd = {
            {dnnl::algorithm::convolution_direct, e.native ? src32 : src, wei, dst, st, pd, pd},
            env.eng,
            e.fwd};
        e.bwd_p = dnnl::convolution_backward_data(e.bwd);
        if constexpr (Bias) {
            dnnl::memory::desc b({dnnl::memory::dim(OutC)}, detail::dt::f32, detail::tag::a);
            e.bww = {{dnnl::algorithm::convolution_direct, src, e.native ? wei32 : wei, b, dst, st,
                      pd, pd},
                     env.eng,
                     e.fwd};
        } else {
            e.bww = {
                {dnnl::algorithm::convolution_direct, src, e.native ? wei32 : wei, dst, st, pd, pd},
                env.eng,
                e.fwd};
        }
        e.bww_p = dnnl::convolution_backward_weights(e.bww);
        e.bwd_ready = true;
    }

    /// Fills `mem` (layout `md`) from the master weights, optionally scaled per output
    /// channel and rounded to bf16.
    void prepare_weights(const dnnl::memory::desc& md, dnnl::memory& mem, bool emulate,
                         const float* scale) {
        const std::size_t per = InC * K * K;
        const float* src = weight_.value.data();
        if (emulate || scale) {
            tmp_w_.resize(weight_.size());
            for (std::size_t o = 0; o < OutC; ++o)
                for (std::size_t i = 0; i < per; ++i) {
                    float v = src[o * per + i] * (scale ? scale[o] : 1.0f);
                    tmp_w_[o * per + i] = emulate ? detail::round_bf16(v) : v;
                }
            src = tmp_w_.data();
        }
        dnnl::memory::desc user({dnnl::memory::dim(OutC), dnnl::memory::dim(InC),
                                 dnnl::memory::dim(K), dnnl::memory::dim(K)},
                                detail::dt::f32, detail::tag::oihw);
        auto& env = detail::dnnl_env::get();
        if (!mem || mem.get_desc() != md) mem = dnnl::memory(md, env.eng);
        auto u = detail::wrap(user, src);
        dnnl::reorder(u, mem).execute(env.strm, u, mem);
    }

    void run_forward(const tensor& x, tensor& y, const context& ctx, const float* scale,
                     const float* shift, std::uint64_t token) {
        detail::require_dims(x, InC, x.shape()[3], x.shape()[4], "conv2d input");
        const auto& s = x.shape();
        const std::size_t n = s[0] * s[1];
        const bool folded = scale != nullptr;
        auto& e = entry_for(s[3], s[4], n, ctx, folded);
        const bool emulate = ctx.prec == precision::bf16 && !e.native;
        const auto& od = e.dst_user.dims();
        ensure_shape(y, s[0], s[1], OutC, std::size_t(od[2]), std::size_t(od[3]));
        auto& env = detail::dnnl_env::get();
        const std::uint64_t wtok =
            detail::mix(detail::mix(weight_.version, emulate ? 1 : 0), folded ? token : 7);
        if (e.w_token != wtok) {
            prepare_weights(e.fwd.weights_desc(), e.w, emulate, scale);
            if (folded) {
                if (!e.b) e.b = dnnl::memory(e.fwd.bias_desc(), env.eng);
                float* b = static_cast<float*>(e.b.get_data_handle());
                for (std::size_t o = 0; o < OutC; ++o) {
                    float bo = 0;
                    if constexpr (Bias) bo = bias_.value.data()[o];
                    b[o] = scale[o] * bo + shift[o];
                }
            }
            e.w_token = wtok;
        }
        const float* xp = x.data();
        if (emulate) {
            e.round_x.resize(x.size());
            detail::round_bf16(x.data(), e.round_x.data(), x.size());
            xp = e.round_x.data();
        }
        e.src_ptr = xp;
        auto src = detail::to_layout(detail::wrap(e.src_user, xp), e.fwd.src_desc(), e.src_scratch);
        e.src_saved = src;
        auto y_user = detail::wrap(e.dst_user, y.data());
        auto dst = detail::out_memory(y_user, e.fwd.dst_desc(), e.dst);
        std::unordered_map<int, dnnl::memory> args{
            {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, e.w}, {DNNL_ARG_DST, dst}};
        if (folded) {
            args.emplace(DNNL_ARG_BIAS, e.b);
        } else if constexpr (Bias) {
            args.emplace(DNNL_ARG_BIAS, detail::wrap(e.fwd.bias_desc(), bias_.value.data()));
        }
        e.fwd_p.execute(env.strm, args);
        detail::from_layout(dst, y_user);
        env.strm.wait();
    }

    using detail::synaptic_parameters<Bias>::weight_;
    using detail::synaptic_parameters<Bias>::bias_;
    detail::prim_cache<key, entry> cache_;
    std::vector<float> tmp_w_;
    std::string impl_;
};

} // namespace spinfire::nn
