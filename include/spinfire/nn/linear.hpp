#pragma once
// Fully connected layer on the flattened per-sample features, one oneDNN inner product
// over all T*B samples. Same weight caching and bf16 handling as conv2d.
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

template <std::size_t In, std::size_t Out, bool Bias = true>
class linear : public detail::synaptic_parameters<Bias> {
    static_assert(In > 0 && Out > 0, "linear: sizes must be > 0");

public:
    static constexpr const char* kind = "linear";
    static constexpr bool synaptic = true; ///< counts toward MACs/SOPs
    /// Takes a flat input (flatten first): a C x H x W input with H or W > 1 is a mismatch.
    template <class S>
    static constexpr bool accepts = S::channels == In&& S::height == 1 && S::width == 1;
    template <class S>
    using output_shape = shape<Out>;
    template <class S>
    static constexpr std::size_t macs = In* Out;

    linear() : detail::synaptic_parameters<Bias>({Out, In}, In) {}

    void forward(const tensor& x, tensor& y, const context& ctx) {
        const auto& s = x.shape();
        if (s[2] * s[3] * s[4] != In)
            throw parameter_error("linear input", "per-sample size " +
                                                      std::to_string(s[2] * s[3] * s[4]) +
                                                      ", expected " + std::to_string(In));
        const std::size_t n = s[0] * s[1];
        auto& e = entry_for(n, ctx);
        const bool emulate = ctx.prec == precision::bf16 && !e.native;
        ensure_shape(y, s[0], s[1], Out, 1, 1);
        auto& env = detail::dnnl_env::get();
        const std::uint64_t wtok = detail::mix(weight_.version, emulate ? 1 : 0);
        if (e.w_token != wtok) {
            prepare_weights(e.fwd.weights_desc(), e.w, emulate);
            e.w_token = wtok;
        }
        const float* xp = x.data();
        if (emulate) {
            e.round_x.resize(x.size());
            detail::round_bf16(x.data(), e.round_x.data(), x.size());
            xp = e.round_x.data();
        }
        auto src = detail::to_layout(detail::wrap(e.src_user, xp), e.fwd.src_desc(), e.src_s);
        auto y_user = detail::wrap(e.dst_user, y.data());
        auto dst = detail::out_memory(y_user, e.fwd.dst_desc(), e.dst);
        std::unordered_map<int, dnnl::memory> args{
            {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, e.w}, {DNNL_ARG_DST, dst}};
        if constexpr (Bias)
            args.emplace(DNNL_ARG_BIAS, detail::wrap(e.fwd.bias_desc(), bias_.value.data()));
        e.fwd_p.execute(env.strm, args);
        detail::from_layout(dst, y_user);
        env.strm.wait();
    }

    void backward(const tensor& x, const tensor& /*y*/, const tensor& dy, tensor* dx,
                  const context& ctx) {
        const auto& s = x.shape();
        auto& e = entry_for(s[0] * s[1], ctx);
        if (!e.bwd_ready) make_backward(e);
        const bool emulate = ctx.prec == precision::bf16 && !e.native;
        auto& env = detail::dnnl_env::get();
        const float* dyp = dy.data();
        if (emulate) {
            e.round_dy.resize(dy.size());
            detail::round_bf16(dy.data(), e.round_dy.data(), dy.size());
            dyp = e.round_dy.data();
        }
        auto dy_user = detail::wrap(e.dst_user, dyp);
        {
            auto dd = detail::to_layout(dy_user, e.bww.diff_dst_desc(), e.dd_w);
            const float* xs = emulate ? e.round_x.data() : x.data(); // x may have moved
            auto src = detail::to_layout(detail::wrap(e.src_user, xs), e.bww.src_desc(), e.src_w);
            auto dw_user = detail::wrap(e.w_user, weight_.grad.data());
            auto dw = detail::out_memory(dw_user, e.bww.diff_weights_desc(), e.dw);
            std::unordered_map<int, dnnl::memory> args{
                {DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, dd}, {DNNL_ARG_DIFF_WEIGHTS, dw}};
            if constexpr (Bias)
                args.emplace(DNNL_ARG_DIFF_BIAS,
                             detail::wrap(e.bww.diff_bias_desc(), bias_.grad.data()));
            e.bww_p.execute(env.strm, args);
            detail::from_layout(dw, dw_user);
        }
        if (dx) {
            ensure_shape_like(*dx, x);
            const std::uint64_t wtok = detail::mix(weight_.version, emulate ? 1 : 0);
            if (e.w_bd_token != wtok) {
                prepare_weights(e.bwd.weights_desc(), e.w_bd, emulate);
                e.w_bd_token = wtok;
            }
            auto dd = detail::to_layout(dy_user, e.bwd.diff_dst_desc(), e.dd_d);
            auto dx_user = detail::wrap(e.src_user, dx->data());
            auto ds = detail::out_memory(dx_user, e.bwd.diff_src_desc(), e.ds);
            e.bwd_p.execute(
                env.strm,
                {{DNNL_ARG_DIFF_DST, dd}, {DNNL_ARG_WEIGHTS, e.w_bd}, {DNNL_ARG_DIFF_SRC, ds}});
            detail::from_layout(ds, dx_user);
        }
        env.strm.wait();
    }

private:
    struct entry {
        bool native = false, bwd_ready = false;
        dnnl::memory::desc src_user, dst_user, w_user;
        dnnl::inner_product_forward::primitive_desc fwd;
        dnnl::inner_product_forward fwd_p;
        dnnl::inner_product_backward_data::primitive_desc bwd;
        dnnl::inner_product_backward_data bwd_p;
        dnnl::inner_product_backward_weights::primitive_desc bww;
        dnnl::inner_product_backward_weights bww_p;
        dnnl::memory src_s, src_w, w, w_bd, dst, dd_w, dd_d, dw, ds;
        std::uint64_t w_token = ~0ull, w_bd_token = ~0ull;
        std::vector<float> round_x, round_dy;
    };
    using key = std::tuple<std::size_t, bool>;
    static dnnl::memory::desc md2(std::size_t a, std::size_t b, detail::dt t, detail::tag g) {
        return {{dnnl::memory::dim(a), dnnl::memory::dim(b)}, t, g};
    }

    entry& entry_for(std::size_t n, const context& ctx) {
        const bool native = ctx.prec == precision::bf16 && detail::native_bf16();
        return cache_.get(key{n, native}, [&] {
            entry e;
            e.native = native;
            const auto in_t = native ? detail::dt::bf16 : detail::dt::f32;
            e.src_user = md2(n, In, detail::dt::f32, detail::tag::nc);
            e.dst_user = md2(n, Out, detail::dt::f32, detail::tag::nc);
            e.w_user = md2(Out, In, detail::dt::f32, detail::tag::oi);
            auto src = md2(n, In, in_t, detail::tag::any);
            auto wei = md2(Out, In, in_t, detail::tag::any);
            auto dst = md2(n, Out, detail::dt::f32, detail::tag::any);
            auto& env = detail::dnnl_env::get();
            if constexpr (Bias) {
                dnnl::memory::desc b({dnnl::memory::dim(Out)}, detail::dt::f32, detail::tag::a);
                e.fwd = {{dnnl::prop_kind::forward_training, src, wei, b, dst}, env.eng};
            } else {
                e.fwd = {{dnnl::prop_kind::forward_training, src, wei, dst}, env.eng};
            }
            e.fwd_p = dnnl::inner_product_forward(e.fwd);
            return e;
        });
    }

    void make_backward(entry& e) {
        auto& env = detail::dnnl_env::get();
        const auto in_t = e.native ? detail::dt::bf16 : detail::dt::f32;
        const auto sd = e.src_user.dims(), dd = e.dst_user.dims(), wd = e.w_user.dims();
        dnnl::memory::desc src(sd, in_t, detail::tag::any),
            src32(sd, detail::dt::f32, detail::tag::any), wei(wd, in_t, detail::tag::any),
            wei32(wd, detail::dt::f32, detail::tag::any), dst(dd, in_t, detail::tag::any);
        e.bwd = {{e.native ? src32 : src, wei, dst}, env.eng, e.fwd};
        e.bwd_p = dnnl::inner_product_backward_data(e.bwd);
        if constexpr (Bias) {
            dnnl::memory::desc b({dnnl::memory::dim(Out)}, detail::dt::f32, detail::tag::a);
            e.bww = {{src, e.native ? wei32 : wei, b, dst}, env.eng, e.fwd};
        } else {
            e.bww = {{src, e.native ? wei32 : wei, dst}, env.eng, e.fwd};
        }
        e.bww_p = dnnl::inner_product_backward_weights(e.bww);
        e.bwd_ready = true;
    }

    void prepare_weights(const dnnl::memory::desc& md, dnnl::memory& mem, bool emulate) {
        const float* src = weight_.value.data();
        if (emulate) {
            tmp_w_.resize(weight_.size());
            detail::round_bf16(src, tmp_w_.data(), weight_.size());
            src = tmp_w_.data();
        }
        auto& env = detail::dnnl_env::get();
        if (!mem || mem.get_desc() != md) mem = dnnl::memory(md, env.eng);
        auto u = detail::wrap(md2(Out, In, detail::dt::f32, detail::tag::oi), src);
        dnnl::reorder(u, mem).execute(env.strm, u, mem);
    }

    using detail::synaptic_parameters<Bias>::weight_;
    using detail::synaptic_parameters<Bias>::bias_;
    detail::prim_cache<key, entry> cache_;
    std::vector<float> tmp_w_;
};

} // namespace spinfire::nn
