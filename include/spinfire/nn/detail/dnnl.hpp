#pragma once
// oneDNN plumbing shared by the layers: one engine and stream, reorders that are skipped
// when layouts already agree, bf16 rounding for the emulated path, and a per-shape cache.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <tuple>

#include <dnnl.hpp>

#include "spinfire/nn/tensor.hpp"

namespace spinfire::nn::detail {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

struct dnnl_env {
    dnnl::engine eng{dnnl::engine::kind::cpu, 0};
    dnnl::stream strm{eng};
    static dnnl_env& get() {
        static dnnl_env env;
        return env;
    }
};

/// Wraps an existing buffer without copying.
inline dnnl::memory wrap(const dnnl::memory::desc& md, const float* p) {
    return dnnl::memory(md, dnnl_env::get().eng, const_cast<float*>(p));
}

/// Returns user memory when it already has layout `want`, otherwise reorders it into
/// `scratch` (allocated on first use) and returns that.
inline dnnl::memory to_layout(const dnnl::memory& user, const dnnl::memory::desc& want,
                              dnnl::memory& scratch) {
    if (user.get_desc() == want) return user;
    auto& env = dnnl_env::get();
    if (!scratch || scratch.get_desc() != want) scratch = dnnl::memory(want, env.eng);
    dnnl::reorder(user, scratch).execute(env.strm, const_cast<dnnl::memory&>(user), scratch);
    return scratch;
}

/// Copies `from` (any layout) into user memory `to` when they differ.
inline void from_layout(const dnnl::memory& from, const dnnl::memory& to) {
    if (from.get(true) == to.get(true)) return;
    auto& env = dnnl_env::get();
    dnnl::reorder(from, to).execute(env.strm, const_cast<dnnl::memory&>(from),
                                    const_cast<dnnl::memory&>(to));
}

/// Memory with layout `md`: the user buffer when md is that plain layout, else scratch.
inline dnnl::memory out_memory(const dnnl::memory& user, const dnnl::memory::desc& md,
                               dnnl::memory& scratch) {
    if (user.get_desc() == md) return user;
    if (!scratch || scratch.get_desc() != md) scratch = dnnl::memory(md, dnnl_env::get().eng);
    return scratch;
}

/// The channel-blocked layout for C channels: 16-channel blocks where the build targets
/// AVX-512 (oneDNN's AVX-512 and AMX kernels work on 16; with 8 its BN and pooling fall back
/// to AVX2 kernels and every bf16 convolution reorders its input), else and for C not a
/// multiple of 16, 8-channel blocks.
inline tag blocked_tag([[maybe_unused]] std::size_t channels) { // unused without AVX-512
#if defined(__AVX512F__)
    if (channels % 16 == 0) return tag::nChw16c;
#endif
    return tag::nChw8c;
}

/// The oneDNN tag of a [T*B, C, H, W] activation under the graph layout rule.
inline tag act_tag(std::size_t channels, const context& ctx) {
    return blocked_layout(channels, ctx) ? blocked_tag(channels) : tag::nchw;
}

/// Copies x into y converting between plain NCHW and the blocked layout (to_blocked says
/// which way).
inline void convert_layout(const tensor& x, tensor& y, bool to_blocked) {
    ensure_shape_like(y, x);
    const auto& s = x.shape();
    using dim = dnnl::memory::dim;
    const dnnl::memory::dims d{dim(s[0] * s[1]), dim(s[2]), dim(s[3]), dim(s[4])};
    dnnl::memory::desc plain(d, dt::f32, tag::nchw), blk(d, dt::f32, blocked_tag(s[2]));
    auto src = wrap(to_blocked ? plain : blk, x.data());
    auto dst = wrap(to_blocked ? blk : plain, y.data());
    auto& env = dnnl_env::get();
    dnnl::reorder(src, dst).execute(env.strm, src, dst);
    env.strm.wait();
}

/// Round to the nearest bf16 (ties to even), kept in f32: the emulated bf16 path.
inline float round_bf16(float v) {
    std::uint32_t u;
    std::memcpy(&u, &v, 4);
    if ((u & 0x7f800000u) != 0x7f800000u) u += 0x7fffu + ((u >> 16) & 1u);
    u &= 0xffff0000u;
    std::memcpy(&v, &u, 4);
    return v;
}
inline void round_bf16(const float* x, float* y, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) y[i] = round_bf16(x[i]);
}

/// Whether oneDNN has native bf16 convolutions here (AVX-512 BF16 / AMX). Where it does
/// not (AVX2 machines), precision::bf16 rounds operands to bf16 and runs f32 kernels: the
/// same numbers as a bf16 multiply with f32 accumulation, without the speed.
inline bool native_bf16() {
    static const bool ok = [] {
        try {
            auto& env = dnnl_env::get();
            dnnl::memory::desc s({8, 16, 8, 8}, dt::bf16, tag::any),
                w({16, 16, 3, 3}, dt::bf16, tag::any), d({8, 16, 8, 8}, dt::f32, tag::any);
            dnnl::convolution_forward::desc cd(dnnl::prop_kind::forward_training,
                                               dnnl::algorithm::convolution_direct, s, w, d, {1, 1},
                                               {1, 1}, {1, 1});
            dnnl::convolution_forward::primitive_desc pd(cd, env.eng);
            return true;
        } catch (const dnnl::error&) {
            return false;
        }
    }();
    return ok;
}

/// Name of the implementation oneDNN picked, for reports.
inline std::string impl_name(const dnnl::primitive_desc_base& pd) { return pd.impl_info_str(); }

/// Per-layer cache of primitives keyed by the runtime shape (and mode) they were built for.
template <class Key, class Entry>
class prim_cache {
public:
    prim_cache() = default;
    // Copies start empty: primitives hold scratch memory tied to one owner.
    prim_cache(const prim_cache&) {}
    prim_cache& operator=(const prim_cache&) {
        map_.clear();
        return *this;
    }
    prim_cache(prim_cache&&) noexcept = default;
    prim_cache& operator=(prim_cache&&) noexcept = default;
    template <class Make>
    Entry& get(const Key& k, Make&& make) {
        auto it = map_.find(k);
        if (it == map_.end()) it = map_.emplace(k, std::make_unique<Entry>(make())).first;
        return *it->second;
    }
    void clear() { map_.clear(); }

private:
    std::map<Key, std::unique_ptr<Entry>> map_;
};

} // namespace spinfire::nn::detail
