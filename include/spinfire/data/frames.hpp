#pragma once
// Event -> frame integration: T frames (equal event count or equal time), 2 polarity channels,
// per-pixel event counts, resampled to any output size by area weighting, which keeps the
// total count (an event is spread over the output pixels its sensor pixel overlaps).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "spinfire/core/xtensor.hpp"

#include "spinfire/config.hpp"
#include "spinfire/core/error.hpp"
#include "spinfire/data/events.hpp"

namespace spinfire::data {

enum class frame_split {
    by_count, ///< frame i holds events [i N / T, (i + 1) N / T)
    by_time   ///< frame i holds events with (t - t_first) T / (t_last - t_first + 1) == i
};

struct frame_options {
    std::size_t steps = 10; ///< T
    frame_split split = frame_split::by_count;
    std::size_t height = 48, width = 48; ///< output size; the sensor size means no resampling
};

namespace detail {
/// Area weights of one axis: input pixel i spreads weight w over output pixels o, sum w = 1.
struct axis_weights {
    std::vector<std::uint32_t> first; ///< per input pixel: offset into the lists, size n_in + 1
    std::vector<std::uint32_t> out;
    std::vector<float> w;
};
inline axis_weights make_axis_weights(std::size_t n_in, std::size_t n_out) {
    axis_weights a;
    const double r = double(n_out) / double(n_in);
    a.first.push_back(0);
    for (std::size_t i = 0; i < n_in; ++i) {
        const double lo = double(i) * r, hi = double(i + 1) * r;
        const auto o0 = std::size_t(std::floor(lo));
        for (std::size_t o = o0; o < n_out && double(o) < hi; ++o) {
            const double overlap = std::min(hi, double(o + 1)) - std::max(lo, double(o));
            if (overlap <= 1e-12 * r) continue;
            a.out.push_back(std::uint32_t(o));
            a.w.push_back(float(overlap / r));
        }
        a.first.push_back(std::uint32_t(a.out.size()));
    }
    return a;
}

inline void check_frame_options(const frame_options& o) {
    if (o.steps == 0) throw parameter_error("steps", "must be >= 1");
    if (o.height == 0 || o.width == 0) throw parameter_error("frame size", "must be >= 1x1");
}
} // namespace detail

/// Writes [T, 2, H, W] counts into out (zeroed first). Events must lie on the stream's sensor.
inline void integrate_frames(const event_stream& s, const frame_options& o,
                             float* SPINFIRE_RESTRICT out) {
    detail::check_frame_options(o);
    if (s.width == 0 || s.height == 0) throw parameter_error("stream", "sensor size is 0");
    const std::size_t T = o.steps, H = o.height, W = o.width, plane = H * W;
    std::fill(out, out + T * 2 * plane, 0.0f);
    const std::size_t N = s.events.size();
    if (N == 0) return;
    const bool same = H == s.height && W == s.width;
    const detail::axis_weights wx = detail::make_axis_weights(s.width, W),
                               wy = detail::make_axis_weights(s.height, H);
    const std::int64_t t0 = s.events.front().t, span = s.events.back().t - t0 + 1;
    if (span <= 0) throw parameter_error("stream", "events are not in time order");
    for (std::size_t k = 0; k < N; ++k) {
        const event& e = s.events[k];
        if (e.x >= s.width || e.y >= s.height || e.p > 1)
            throw parameter_error("stream", std::string("event ") + std::to_string(k) +
                                                " lies outside the sensor or has polarity > 1");
        std::size_t f;
        if (o.split == frame_split::by_count) {
            // The largest f with floor(f N / T) <= k, i.e. f N < (k + 1) T.
            f = ((k + 1) * T - 1) / N;
        } else {
            const std::int64_t dt = e.t - t0;
            if (dt < 0 || e.t - t0 >= span)
                throw parameter_error("stream", std::string("event ") + std::to_string(k) +
                                                    " is out of time order");
            f = std::size_t(dt * std::int64_t(T) / span);
        }
        float* base = out + (f * 2 + e.p) * plane;
        if (same) {
            base[std::size_t(e.y) * W + e.x] += 1.0f;
            continue;
        }
        for (std::uint32_t a = wy.first[e.y]; a < wy.first[e.y + 1]; ++a)
            for (std::uint32_t b = wx.first[e.x]; b < wx.first[e.x + 1]; ++b)
                base[std::size_t(wy.out[a]) * W + wx.out[b]] += wy.w[a] * wx.w[b];
    }
}

/// [T, 2, H, W] frames of a stream.
inline xt::xtensor<float, 4> integrate_frames(const event_stream& s, const frame_options& o) {
    detail::check_frame_options(o);
    auto f = xt::xtensor<float, 4>::from_shape({o.steps, 2, o.height, o.width});
    integrate_frames(s, o, f.data());
    return f;
}

} // namespace spinfire::data
