#pragma once
// Average and max pooling (window K, stride K, no padding) through oneDNN on [T*B, C, H, W].
#include <cstddef>
#include <cstdint>
#include <tuple>

#include "spinfire/nn/detail/dnnl.hpp"
#include "spinfire/nn/parameter.hpp"
#include "spinfire/nn/tensor.hpp"

namespace spinfire::nn {

namespace detail {
template <bool Max, std::size_t K>
class pool_base {
    static_assert(K > 0, "pool: window must be > 0");

public:
    template <class S>
    static constexpr bool accepts = S::height >= K && S::width >= K;
    template <class S>
    using output_shape = shape<S::channels, S::height / K, S::width / K>;
    template <class S>
    static constexpr std::size_t macs = 0;

    void initialize(std::uint64_t, std::uint64_t) {}
    template <class F>
    void visit_parameters(F&&) {}
    template <class F>
    void visit_buffers(F&&) {}

    void forward(const tensor& x, tensor& y, const context& ctx) {
        const auto& s = x.shape();
        auto& e = entry_for(s[0] * s[1], s[2], s[3], s[4], ctx.training, ctx);
        ensure_shape(y, s[0], s[1], s[2], s[3] / K, s[4] / K);
        auto& env = dnnl_env::get();
        std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, wrap(e.src, x.data())},
                                                   {DNNL_ARG_DST, wrap(e.dst, y.data())}};
        if (Max && ctx.training) {
            if (!e.ws) e.ws = dnnl::memory(e.fwd.workspace_desc(), env.eng);
            args.emplace(DNNL_ARG_WORKSPACE, e.ws);
        }
        e.fwd_p.execute(env.strm, args);
        env.strm.wait();
    }

    void backward(const tensor& x, const tensor& /*y*/, const tensor& dy, tensor* dx,
                  const context& ctx) {
        if (!dx) return;
        const auto& s = x.shape();
        auto& e = entry_for(s[0] * s[1], s[2], s[3], s[4], true, ctx);
        auto& env = dnnl_env::get();
        if (!e.bwd_ready) {
            const dnnl::memory::dim k = dnnl::memory::dim(K);
            e.bwd = {{alg(), e.src, e.dst, {k, k}, {k, k}, {0, 0}, {0, 0}, {0, 0}}, env.eng, e.fwd};
            e.bwd_p = dnnl::pooling_v2_backward(e.bwd);
            e.bwd_ready = true;
        }
        ensure_shape_like(*dx, x);
        std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_DIFF_DST, wrap(e.dst, dy.data())},
                                                   {DNNL_ARG_DIFF_SRC, wrap(e.src, dx->data())}};
        if (Max) args.emplace(DNNL_ARG_WORKSPACE, e.ws);
        e.bwd_p.execute(env.strm, args);
        env.strm.wait();
    }

private:
    static dnnl::algorithm alg() {
        return Max ? dnnl::algorithm::pooling_max : dnnl::algorithm::pooling_avg_exclude_padding;
    }
    struct entry {
        dnnl::memory::desc src, dst;
        dnnl::pooling_v2_forward::primitive_desc fwd;
        dnnl::pooling_v2_forward fwd_p;
        dnnl::pooling_v2_backward::primitive_desc bwd;
        dnnl::pooling_v2_backward bwd_p;
        dnnl::memory ws;
        bool bwd_ready = false;
    };
    using key = std::tuple<std::size_t, std::size_t, std::size_t, std::size_t, bool, bool>;
    entry& entry_for(std::size_t n, std::size_t c, std::size_t h, std::size_t w, bool training,
                     const context& ctx) {
        return cache_.get(key{n, c, h, w, training, ctx.blocked}, [&] {
            entry e;
            using dim = dnnl::memory::dim;
            e.src = {{dim(n), dim(c), dim(h), dim(w)}, dt::f32, act_tag(c, ctx)};
            e.dst = {{dim(n), dim(c), dim(h / K), dim(w / K)}, dt::f32, act_tag(c, ctx)};
            const dim k = dim(K);
            e.fwd = {{training ? dnnl::prop_kind::forward_training
                               : dnnl::prop_kind::forward_inference,
                      alg(), e.src, e.dst, {k, k}, {k, k}, {0, 0}, {0, 0}, {0, 0}},
                     dnnl_env::get().eng};
            e.fwd_p = dnnl::pooling_v2_forward(e.fwd);
            return e;
        });
    }
    prim_cache<key, entry> cache_;
};
} // namespace detail

/// Mean over K x K windows, stride K.
template <std::size_t K>
struct avg_pool : detail::pool_base<false, K> {
    static constexpr const char* kind = "avg_pool";
};
/// Maximum over K x K windows, stride K (the gradient goes to the arg-max).
template <std::size_t K>
struct max_pool : detail::pool_base<true, K> {
    static constexpr const char* kind = "max_pool";
};

} // namespace spinfire::nn
