#pragma once
// Batch normalisation with statistics over T x B x H x W (tdBN style): oneDNN on the
// flattened [T*B, C, H, W] batch. In eval mode a preceding conv2d absorbs it (sequential
// folds the pair); standing alone it applies the running statistics.
//
// The running variance is unbiased with m = the number of values the batch statistics saw:
// T*B*H*W, or B*H*W under direct encoding, where the first conv and BN run once on the
// 1-step input. That is the right m there: the T copies the spiking layer goes on to use
// repeat the same B*H*W values and add no sample, so m/(m-1) with m = T*B*H*W would
// under-correct (by (T-1)/(T*B*H*W), 4e-6 at T = 2, B = 128, 32 x 32). An input repeated
// over T by hand instead of direct encoding is counted T times; its running variance then
// differs by that factor.
//
// Synced BN (context::sync_bn under data-parallel training): the statistics are those of the
// global batch, from per-channel sums of x and x^2 added over the processes, and backward
// adds the per-channel sums of dy and dy * xhat over them too, so dx is that of one process
// on the global batch. oneDNN's BN backward cannot take outside sums, so this path has its
// own loops (in double where they sum), in the activation's layout.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <tuple>
#include <vector>

#include "spinfire/nn/detail/dnnl.hpp"
#include "spinfire/nn/detail/init.hpp"
#include "spinfire/nn/parameter.hpp"
#include "spinfire/nn/replicas.hpp"
#include "spinfire/nn/tensor.hpp"

namespace spinfire::nn {

template <std::size_t C>
class batch_norm {
public:
    static constexpr const char* kind = "batch_norm";
    template <class S>
    static constexpr bool accepts = S::channels == C;
    template <class S>
    using output_shape = S;
    template <class S>
    static constexpr std::size_t macs = 0;

    float epsilon = 1e-5f;
    float momentum = 0.1f; ///< running = (1 - momentum) running + momentum batch (PyTorch)

    batch_norm() : gamma_({C}, false), beta_({C}, false) {
        running_mean_.value = xt::zeros<float>({C});
        running_var_.value = xt::ones<float>({C});
        initialize(0, 0);
    }
    void initialize(std::uint64_t, std::uint64_t) {
        std::fill(gamma_.value.begin(), gamma_.value.end(), 1.0f);
        std::fill(beta_.value.begin(), beta_.value.end(), 0.0f);
        gamma_.touch();
        beta_.touch();
    }

    template <class F>
    void visit_parameters(F&& f) {
        f("gamma", gamma_);
        f("beta", beta_);
    }
    template <class F>
    void visit_buffers(F&& f) {
        f("running_mean", running_mean_);
        f("running_var", running_var_);
        ++stats_version_; // a visitor may load new statistics
    }
    parameter& gamma() { return gamma_; }
    parameter& beta() { return beta_; }
    const buffer& running_mean() const { return running_mean_; }
    const buffer& running_var() const { return running_var_; }

    void forward(const tensor& x, tensor& y, const context& ctx) {
        detail::require_dims(x, C, x.shape()[3], x.shape()[4], "batch_norm input");
        ensure_shape_like(y, x);
        const auto& s = x.shape();
        if (ctx.training && ctx.sync_bn && ctx.replicas) {
            update_running(forward_synced(x, y, *ctx.replicas, block(ctx)));
            return;
        }
        auto& e = entry_for(s[0] * s[1], s[3], s[4], ctx.training, ctx);
        auto& env = detail::dnnl_env::get();
        auto src = detail::wrap(e.data, x.data());
        auto dst = detail::wrap(e.data, y.data());
        auto sc = detail::wrap(e.vec, gamma_.value.data());
        auto sh = detail::wrap(e.vec, beta_.value.data());
        if (ctx.training) {
            mean_.resize(C);
            var_.resize(C);
            e.fwd_p.execute(env.strm, {{DNNL_ARG_SRC, src},
                                       {DNNL_ARG_DST, dst},
                                       {DNNL_ARG_SCALE, sc},
                                       {DNNL_ARG_SHIFT, sh},
                                       {DNNL_ARG_MEAN, detail::wrap(e.vec, mean_.data())},
                                       {DNNL_ARG_VARIANCE, detail::wrap(e.vec, var_.data())}});
            env.strm.wait();
            update_running(double(s[0] * s[1] * s[3] * s[4]));
        } else {
            e.fwd_p.execute(env.strm,
                            {{DNNL_ARG_SRC, src},
                             {DNNL_ARG_DST, dst},
                             {DNNL_ARG_SCALE, sc},
                             {DNNL_ARG_SHIFT, sh},
                             {DNNL_ARG_MEAN, detail::wrap(e.vec, running_mean_.value.data())},
                             {DNNL_ARG_VARIANCE, detail::wrap(e.vec, running_var_.value.data())}});
            env.strm.wait();
        }
    }

    void backward(const tensor& x, const tensor& /*y*/, const tensor& dy, tensor* dx,
                  const context& ctx) {
        if (ctx.sync_bn && ctx.replicas) {
            backward_synced(x, dy, dx, *ctx.replicas, block(ctx));
            return;
        }
        const auto& s = x.shape();
        auto& e = entry_for(s[0] * s[1], s[3], s[4], true, ctx);
        if (!e.bwd_ready) {
            e.bwd = {{dnnl::prop_kind::backward, e.data, e.data, epsilon,
                      dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift},
                     detail::dnnl_env::get().eng,
                     e.fwd};
            e.bwd_p = dnnl::batch_normalization_backward(e.bwd);
            e.bwd_ready = true;
        }
        tensor scratch;
        tensor& out = dx ? *dx : scratch; // oneDNN always produces diff_src
        ensure_shape_like(out, x);
        auto& env = detail::dnnl_env::get();
        e.bwd_p.execute(env.strm, {{DNNL_ARG_SRC, detail::wrap(e.data, x.data())},
                                   {DNNL_ARG_DIFF_DST, detail::wrap(e.data, dy.data())},
                                   {DNNL_ARG_MEAN, detail::wrap(e.vec, mean_.data())},
                                   {DNNL_ARG_VARIANCE, detail::wrap(e.vec, var_.data())},
                                   {DNNL_ARG_SCALE, detail::wrap(e.vec, gamma_.value.data())},
                                   {DNNL_ARG_SHIFT, detail::wrap(e.vec, beta_.value.data())},
                                   {DNNL_ARG_DIFF_SRC, detail::wrap(e.data, out.data())},
                                   {DNNL_ARG_DIFF_SCALE, detail::wrap(e.vec, gamma_.grad.data())},
                                   {DNNL_ARG_DIFF_SHIFT, detail::wrap(e.vec, beta_.grad.data())}});
        env.strm.wait();
    }

    /// Inference affine map y = scale x + shift from the running statistics, with a token
    /// that changes whenever it does (so a folded conv rebuilds its weights only then).
    void inference_affine(const float*& scale, const float*& shift, std::uint64_t& token) {
        token = detail::mix(detail::mix(gamma_.version, beta_.version), stats_version_);
        if (token != fold_token_) {
            fold_scale_.resize(C);
            fold_shift_.resize(C);
            for (std::size_t c = 0; c < C; ++c) {
                fold_scale_[c] = gamma_.value(c) / std::sqrt(running_var_.value(c) + epsilon);
                fold_shift_[c] = beta_.value(c) - running_mean_.value(c) * fold_scale_[c];
            }
            fold_token_ = token;
        }
        scale = fold_scale_.data();
        shift = fold_shift_.data();
    }

private:
    /// m: the number of values the batch statistics saw (over every process when synced).
    void update_running(double m) {
        const float unbias = m > 1 ? float(m / (m - 1)) : 1.0f;
        for (std::size_t c = 0; c < C; ++c) {
            running_mean_.value(c) = (1 - momentum) * running_mean_.value(c) + momentum * mean_[c];
            running_var_.value(c) =
                (1 - momentum) * running_var_.value(c) + momentum * var_[c] * unbias;
        }
        ++stats_version_;
    }

    /// Channels per block of the activation layout: element (n, c, i) of [N, C, H*W] is at
    /// ((n * C/blk + c/blk) * H*W + i) * blk + c % blk (blk = 1: plain NCHW).
    static std::size_t block(const context& ctx) {
        const auto t = detail::act_tag(C, ctx);
        return t == detail::tag::nChw16c ? 16 : t == detail::tag::nChw8c ? 8 : 1;
    }

    /// f(index, channel) for every element of x, channel-innermost where the layout is.
    template <class F>
    static void for_each_element(const tensor& x, std::size_t blk, F&& f) {
        const auto& s = x.shape();
        const std::size_t n = s[0] * s[1], hw = s[3] * s[4], groups = C / blk;
        for (std::size_t b = 0; b < n; ++b)
            for (std::size_t g = 0; g < groups; ++g)
                for (std::size_t i = 0; i < hw; ++i) {
                    const std::size_t at = ((b * groups + g) * hw + i) * blk;
                    for (std::size_t c = 0; c < blk; ++c) f(at + c, g * blk + c);
                }
    }

    /// Training forward on the global batch's statistics; returns their value count.
    double forward_synced(const tensor& x, tensor& y, replica_group& group, std::size_t blk) {
        const float* px = x.data();
        sums_.assign(2 * C + 1, 0.0); // sum x, sum x^2, count
        for_each_element(x, blk, [&](std::size_t k, std::size_t c) {
            const double v = px[k];
            sums_[c] += v;
            sums_[C + c] += v * v;
        });
        const auto& s = x.shape();
        sums_[2 * C] = double(s[0] * s[1] * s[3] * s[4]);
        group.sum(sums_.data(), sums_.size());
        const double m = sums_[2 * C];
        mean_.resize(C);
        var_.resize(C);
        inv_std_.resize(C);
        for (std::size_t c = 0; c < C; ++c) {
            const double mean = sums_[c] / m;
            const double var = std::max(sums_[C + c] / m - mean * mean, 0.0);
            mean_[c] = float(mean);
            var_[c] = float(var);
            inv_std_[c] = float(1 / std::sqrt(var + double(epsilon)));
        }
        float* py = y.data();
        for_each_element(x, blk, [&](std::size_t k, std::size_t c) {
            py[k] = gamma_.value(c) * ((px[k] - mean_[c]) * inv_std_[c]) + beta_.value(c);
        });
        synced_count_ = m;
        return m;
    }

    /// dx = gamma / sigma (dy - mean(dy) - xhat mean(dy xhat)), means over the global batch;
    /// gamma and beta get this shard's sums (the gradient averaging divides by the processes,
    /// and each shard's dy is that factor larger than the global batch's, its loss a mean
    /// over the shard).
    void backward_synced(const tensor& x, const tensor& dy, tensor* dx, replica_group& group,
                         std::size_t blk) {
        const float *px = x.data(), *pdy = dy.data();
        sums_.assign(2 * C, 0.0); // sum dy, sum dy xhat
        for_each_element(x, blk, [&](std::size_t k, std::size_t c) {
            const double g = pdy[k];
            sums_[c] += g;
            sums_[C + c] += g * double((px[k] - mean_[c]) * inv_std_[c]);
        });
        for (std::size_t c = 0; c < C; ++c) {
            beta_.grad(c) = float(sums_[c]);
            gamma_.grad(c) = float(sums_[C + c]);
        }
        group.sum(sums_.data(), sums_.size());
        if (!dx) return;
        ensure_shape_like(*dx, x);
        std::vector<float> a(C), mdy(C), mdyx(C);
        for (std::size_t c = 0; c < C; ++c) {
            a[c] = gamma_.value(c) * inv_std_[c];
            mdy[c] = float(sums_[c] / synced_count_);
            mdyx[c] = float(sums_[C + c] / synced_count_);
        }
        float* pdx = dx->data();
        for_each_element(x, blk, [&](std::size_t k, std::size_t c) {
            const float xhat = (px[k] - mean_[c]) * inv_std_[c];
            pdx[k] = a[c] * (pdy[k] - mdy[c] - xhat * mdyx[c]);
        });
    }

    struct entry {
        dnnl::memory::desc data, vec;
        dnnl::batch_normalization_forward::primitive_desc fwd;
        dnnl::batch_normalization_forward fwd_p;
        dnnl::batch_normalization_backward::primitive_desc bwd;
        dnnl::batch_normalization_backward bwd_p;
        bool bwd_ready = false;
    };
    using key = std::tuple<std::size_t, std::size_t, std::size_t, bool, bool>;

    entry& entry_for(std::size_t n, std::size_t h, std::size_t w, bool training,
                     const context& ctx) {
        return cache_.get(key{n, h, w, training, ctx.blocked}, [&] {
            entry e;
            e.data = dnnl::memory::desc({dnnl::memory::dim(n), dnnl::memory::dim(C),
                                         dnnl::memory::dim(h), dnnl::memory::dim(w)},
                                        detail::dt::f32, detail::act_tag(C, ctx));
            e.vec = dnnl::memory::desc({dnnl::memory::dim(C)}, detail::dt::f32, detail::tag::a);
            auto flags =
                dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
            if (!training) flags = flags | dnnl::normalization_flags::use_global_stats;
            e.fwd = {
                {training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference,
                 e.data, epsilon, flags},
                detail::dnnl_env::get().eng};
            e.fwd_p = dnnl::batch_normalization_forward(e.fwd);
            return e;
        });
    }

    parameter gamma_, beta_;
    buffer running_mean_, running_var_;
    std::vector<float> mean_, var_, inv_std_, fold_scale_, fold_shift_;
    std::vector<double> sums_; // synced BN: per-channel sums, then over the processes
    double synced_count_ = 0;  // synced BN: values in the global batch's statistics
    std::uint64_t stats_version_ = 0, fold_token_ = ~0ull;
    detail::prim_cache<key, entry> cache_;
};

} // namespace spinfire::nn
