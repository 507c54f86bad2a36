#pragma once
// Event-camera emulator: turns a static image into the event stream a DVS128 records when the
// image moves on a monitor, the way CIFAR10-DVS was made (Li et al. 2017: CIFAR-10 images
// upscaled, moved along a repeated closed-loop smooth path, recorded by a DVS128).
//
// Model (per pixel, like v2e/ESIM without the analogue low-pass): the image is converted to
// luminance, upscaled bilinearly to sensor x sensor, and moved along a circle of radius
// `amplitude_px`, `loops` times over `duration_us`, rendered every `step_us`. Each pixel keeps
// a reference log intensity; each time log(I + eps) moves a threshold C away from it (C drawn
// per pixel around `contrast_threshold` with relative spread `threshold_sigma`, fixed per seed
// like a sensor's fixed-pattern mismatch), it emits an ON/OFF event at the linearly
// interpolated crossing time and moves the reference by C. Crossings within `refractory_us` of
// the pixel's previous event are held back (the change accumulates and fires later).
// Background activity: Poisson events of random polarity at `noise_rate_hz` per pixel.
// Streams it makes are EMULATED CIFAR10-DVS, not recordings: label results accordingly.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "spinfire/config.hpp"
#include "spinfire/core/constants.hpp"
#include "spinfire/core/error.hpp"
#include "spinfire/core/intrinsics.hpp"
#include "spinfire/core/philox.hpp"
#include "spinfire/data/events.hpp"

namespace spinfire::data {

struct emulator_params {
    std::size_t sensor = 128;        ///< output is sensor x sensor (DVS128)
    double duration_us = 1.0e6;      ///< recording length
    double step_us = 2000;           ///< rendering interval
    double loops = 4;                ///< repetitions of the closed path
    double amplitude_px = 4;         ///< path radius in sensor pixels
    double contrast_threshold = 0.3; ///< log-intensity step per event
    double threshold_sigma = 0.03;   ///< relative per-pixel spread of the threshold
    double refractory_us = 1000;     ///< dead time after an event
    double noise_rate_hz = 0.1;      ///< background events per pixel per second
    double background = 0.0;         ///< luminance (0..1) around the moving image
    double log_eps = 0.05;           ///< log(I + eps): keeps dark pixels from dominating

    void validate() const {
        if (sensor < 2 || sensor > 4096) throw parameter_error("sensor", "must be 2..4096");
        require_positive("duration_us", duration_us);
        if (duration_us > 4294967295.0) // AEDAT 2.0 timestamps are 32-bit microseconds
            throw parameter_error("duration_us", "must be <= 4294967295 (32-bit timestamps), got " +
                                                     spinfire::detail::num(duration_us));
        require_positive("step_us", step_us);
        if (step_us > duration_us) throw parameter_error("step_us", "must be <= duration_us");
        require_non_negative("loops", loops);
        require_non_negative("amplitude_px", amplitude_px);
        require_positive("contrast_threshold", contrast_threshold);
        require_non_negative("threshold_sigma", threshold_sigma);
        require_non_negative("refractory_us", refractory_us);
        require_non_negative("noise_rate_hz", noise_rate_hz);
        require_non_negative("background", background);
        require_positive("log_eps", log_eps);
    }
};

namespace detail {
inline constexpr std::uint64_t sensor_domain = 0x73656e73'00000000ull; // "sens"
inline constexpr std::uint64_t noise_domain = 0x6e6f6973'00000000ull;  // "nois"

/// Luminance of an 8-bit planar image in [0, 1], upscaled bilinearly (pixel centres aligned)
/// to n x n.
inline std::vector<float> upscaled_luminance(const std::uint8_t* img, std::size_t channels,
                                             std::size_t height, std::size_t width, std::size_t n) {
    std::vector<float> lum(height * width);
    const std::size_t plane = height * width;
    for (std::size_t i = 0; i < plane; ++i) {
        if (channels >= 3)
            lum[i] =
                (0.299f * img[i] + 0.587f * img[plane + i] + 0.114f * img[2 * plane + i]) / 255.0f;
        else
            lum[i] = img[i] / 255.0f;
    }
    std::vector<float> out(n * n);
    auto coord = [](std::size_t o, std::size_t n_out, std::size_t n_in, std::size_t& i0, float& f) {
        double s = (double(o) + 0.5) * double(n_in) / double(n_out) - 0.5;
        s = std::clamp(s, 0.0, double(n_in - 1));
        i0 = std::min(std::size_t(s), n_in - 1);
        f = float(s - double(i0));
    };
    for (std::size_t y = 0; y < n; ++y) {
        std::size_t y0;
        float fy;
        coord(y, n, height, y0, fy);
        const std::size_t y1 = std::min(y0 + 1, height - 1);
        for (std::size_t x = 0; x < n; ++x) {
            std::size_t x0;
            float fx;
            coord(x, n, width, x0, fx);
            const std::size_t x1 = std::min(x0 + 1, width - 1);
            const float top = lum[y0 * width + x0] * (1 - fx) + lum[y0 * width + x1] * fx;
            const float bot = lum[y1 * width + x0] * (1 - fx) + lum[y1 * width + x1] * fx;
            out[y * n + x] = top * (1 - fy) + bot * fy;
        }
    }
    return out;
}

/// The upscaled image inside a border of `margin` background pixels, so rendering a shifted
/// copy needs no bounds checks.
struct padded_image {
    std::vector<float> pixels;
    std::size_t n = 0, margin = 0, stride = 0;
};
inline padded_image pad_image(const std::vector<float>& img, std::size_t n, std::size_t margin,
                              float background) {
    padded_image p;
    p.n = n;
    p.margin = margin;
    p.stride = n + 2 * margin;
    p.pixels.assign(p.stride * p.stride, background);
    for (std::size_t y = 0; y < n; ++y)
        std::copy(img.begin() + std::ptrdiff_t(y * n), img.begin() + std::ptrdiff_t((y + 1) * n),
                  p.pixels.begin() + std::ptrdiff_t((y + margin) * p.stride + margin));
    return p;
}

/// log(I + eps) of the image shifted by (ox, oy) sensor pixels (bilinear), for every sensor
/// pixel. |ox|, |oy| + 1 must stay within the margin.
inline void render_log(const padded_image& img, double ox, double oy, float eps,
                       float* SPINFIRE_RESTRICT out) {
    using B = xsimd::batch<float>;
    constexpr std::size_t L = B::size;
    const double fx_floor = std::floor(ox), fy_floor = std::floor(oy);
    const auto ix = std::ptrdiff_t(fx_floor), iy = std::ptrdiff_t(fy_floor);
    const float fx = float(ox - fx_floor), fy = float(oy - fy_floor);
    const std::size_t n = img.n, stride = img.stride;
    // Offsets stay within the margin, so these start columns and rows are >= 0.
    const auto col0 = std::size_t(std::ptrdiff_t(img.margin) - ix - 1);
    const auto row0 = std::size_t(std::ptrdiff_t(img.margin) - iy - 1);
    // The source point of pixel x is x - ox = (x - ix - 1) + (1 - fx): the weights are the same
    // for every pixel, only the indices move.
    const B wx0(fx), wx1(1 - fx), wy0(fy), wy1(1 - fy), e(eps);
    for (std::size_t y = 0; y < n; ++y) {
        const float* r0 = img.pixels.data() + (y + row0) * stride + col0;
        const float* r1 = r0 + stride;
        float* o = out + y * n;
        const std::size_t body = n - n % L;
        std::size_t x = 0;
        for (; x < body; x += L) {
            const B top = B::load_unaligned(r0 + x) * wx0 + B::load_unaligned(r0 + x + 1) * wx1;
            const B bot = B::load_unaligned(r1 + x) * wx0 + B::load_unaligned(r1 + x + 1) * wx1;
            xsimd::log(top * wy0 + bot * wy1 + e).store_unaligned(o + x);
        }
        for (std::size_t k = n % L; k > 0; --k, ++x) {
            const float top = r0[x] * fx + r0[x + 1] * (1 - fx);
            const float bot = r1[x] * fx + r1[x + 1] * (1 - fx);
            o[x] = std::log(top * fy + bot * (1 - fy) + eps);
        }
    }
}
} // namespace detail

/// The events of one image (8-bit planar [C, H, W], C = 1 or 3). Deterministic in
/// (params, seed, sample_id); the per-pixel thresholds depend on seed only.
inline event_stream emulate_dvs(const std::uint8_t* image, std::size_t channels, std::size_t height,
                                std::size_t width, const emulator_params& p, std::uint64_t seed,
                                std::uint64_t sample_id) {
    p.validate();
    if (channels != 1 && channels != 3) throw parameter_error("channels", "must be 1 or 3");
    if (height == 0 || width == 0) throw parameter_error("image", "is empty");
    const std::size_t n = p.sensor, npix = n * n;
    const std::vector<float> img = detail::upscaled_luminance(image, channels, height, width, n);

    std::vector<double> threshold(npix);
    {
        rng::stream s(seed ^ detail::sensor_domain, 0);
        for (auto& c : threshold)
            c = std::max(p.contrast_threshold * (1 + p.threshold_sigma * s.normal()),
                         0.01 * p.contrast_threshold);
    }
    const auto steps = std::size_t(std::llround(p.duration_us / p.step_us));
    auto offset = [&](std::size_t k, double& ox, double& oy) {
        const double phase = 2 * constants::pi * p.loops * double(k) / double(steps);
        ox = p.amplitude_px * std::cos(phase) - p.amplitude_px; // starts at (0, 0)
        oy = p.amplitude_px * std::sin(phase);
    };

    // The path keeps x offsets in [-2A, 0] and y offsets in [-A, A]; bilinear needs one more.
    const detail::padded_image padded = detail::pad_image(
        img, n, std::size_t(std::ceil(2 * p.amplitude_px)) + 2, float(p.background));
    std::vector<float> prev(npix), cur(npix);
    std::vector<double> ref(npix);
    std::vector<double> last(npix, -1e300);
    double ox, oy;
    offset(0, ox, oy);
    detail::render_log(padded, ox, oy, float(p.log_eps), prev.data());
    for (std::size_t i = 0; i < npix; ++i) ref[i] = prev[i];

    // Background noise: geometric gaps over the (step, pixel) grid give Poisson arrivals
    // without a random draw per pixel per step.
    rng::stream noise(seed ^ detail::noise_domain, sample_id);
    const double q = std::min(p.noise_rate_hz * p.step_us * 1e-6, 1.0);
    const double total_cells = double(steps) * double(npix);
    auto next_gap = [&]() -> double {
        if (q <= 0) return total_cells;
        if (q >= 1) return 0;
        return std::floor(std::log(1.0 - noise.uniform()) / std::log1p(-q));
    };
    double next_noise = next_gap();

    event_stream out;
    out.width = out.height = n;
    std::vector<event> batch;
    for (std::size_t k = 1; k <= steps; ++k) {
        offset(k, ox, oy);
        detail::render_log(padded, ox, oy, float(p.log_eps), cur.data());
        const double t_prev = double(k - 1) * p.step_us, dt = p.step_us;
        batch.clear();
        for (std::size_t i = 0; i < npix; ++i) {
            const double l0 = prev[i], l1 = cur[i], c = threshold[i];
            double d = l1 - ref[i];
            while (std::abs(d) >= c) {
                const double sign = d > 0 ? 1.0 : -1.0;
                const double target = ref[i] + sign * c;
                // Crossing time by linear interpolation of log intensity over the step.
                const double f = l1 != l0 ? std::clamp((target - l0) / (l1 - l0), 0.0, 1.0) : 1.0;
                const double t = t_prev + f * dt;
                if (t < last[i] + p.refractory_us) break;
                event e;
                e.t = std::int64_t(std::llround(t));
                e.x = std::uint16_t(i % n);
                e.y = std::uint16_t(i / n);
                e.p = sign > 0 ? 1 : 0;
                batch.push_back(e);
                ref[i] = target;
                last[i] = t;
                d = l1 - ref[i];
            }
        }
        const double row_end = double(k) * double(npix);
        while (next_noise < row_end) {
            const auto i = std::size_t(next_noise - double(k - 1) * double(npix));
            event e;
            e.t = std::int64_t(std::llround(t_prev + noise.uniform() * dt));
            e.x = std::uint16_t(i % n);
            e.y = std::uint16_t(i / n);
            e.p = std::uint8_t(noise.next_u32() & 1u);
            batch.push_back(e);
            next_noise += 1 + next_gap();
        }
        std::stable_sort(batch.begin(), batch.end(),
                         [](const event& a, const event& b) { return a.t < b.t; });
        out.events.insert(out.events.end(), batch.begin(), batch.end());
        std::swap(prev, cur);
    }
    return out;
}

} // namespace spinfire::data
