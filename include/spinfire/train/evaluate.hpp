#pragma once
// Evaluation of a network on a dataset: accuracy, per-class accuracy, confusion matrix,
// spike statistics (positive and negative rates per layer and overall), synaptic operations
// and the energy estimate; plus the files: confusion.csv, confusion.png, evaluation.json and
// predictions.csv (per sample, for paired comparisons of two networks on one set).
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <stb/stb_image_write.h>
#include "spinfire/core/xtensor.hpp"

#include "spinfire/core/error.hpp"
#include "spinfire/data/frame_source.hpp"
#include "spinfire/data/loader.hpp"
#include "spinfire/io/atomic_file.hpp"
#include "spinfire/io/json.hpp"
#include "spinfire/nn/graph.hpp"
#include "spinfire/nn/loss.hpp"
#include "spinfire/nn/metrics.hpp"
#include "spinfire/nn/tensor.hpp"

namespace spinfire::train {

/// A loader batch as network input: images [B, C, H, W] become [1, B, C, H, W] (direct
/// encoding), event frames [T, B, C, H, W] pass as they are.
template <std::size_t Rank>
void to_input(const xt::xtensor<float, Rank>& x, nn::tensor& y) {
    static_assert(Rank == 4 || Rank == 5, "to_input: batches are 4-D images or 5-D frames");
    const auto& s = x.shape();
    if constexpr (Rank == 4)
        nn::ensure_shape(y, 1, s[0], s[1], s[2], s[3]);
    else
        nn::ensure_shape(y, s[0], s[1], s[2], s[3], s[4]);
    std::copy(x.data(), x.data() + x.size(), y.data());
}

/// Class of each sample: argmax over classes of the output averaged over T.
inline std::vector<int> predictions(const nn::tensor& out) {
    const auto& s = out.shape();
    const std::size_t steps = s[0], b = s[1], k = s[2] * s[3] * s[4];
    std::vector<int> p(b);
    std::vector<double> z(k);
    for (std::size_t i = 0; i < b; ++i) {
        std::fill(z.begin(), z.end(), 0.0);
        for (std::size_t t = 0; t < steps; ++t)
            for (std::size_t j = 0; j < k; ++j) z[j] += out.data()[(t * b + i) * k + j];
        p[i] = int(std::max_element(z.begin(), z.end()) - z.begin());
    }
    return p;
}

/// Neurons per sample of each spiking layer, in layer order (weights the overall rates).
template <class Net>
std::vector<double> spiking_layer_sizes(Net& net) {
    std::vector<double> n;
    net.body().for_each([&]<std::size_t I>(auto& layer) {
        if constexpr (nn::detail::spiking_layer<std::decay_t<decltype(layer)>>)
            n.push_back(double(Net::template input_shape_of<I>::size));
    });
    return n;
}

struct evaluation {
    std::vector<std::string> class_names;
    std::vector<std::vector<std::size_t>> confusion; ///< [true class][predicted class]
    std::size_t samples = 0, correct = 0;
    double loss = 0;                             ///< mean cross-entropy of the T-averaged output
    double positive_rate = 0, negative_rate = 0; ///< spikes per neuron and step, all layers
    nn::network_metrics network;                 ///< per layer; SOPs and energy per sample
    double seconds = 0;
    io::json conditions = io::json::object(); ///< e.g. the device settings it ran under
    /// Per sample, in the source's order: two networks scored on one set can be compared
    /// pairwise (the standard error of an accuracy difference needs the per-sample pairs).
    std::vector<int> labels, predicted;

    double accuracy() const { return samples ? double(correct) / double(samples) : 0.0; }
    std::vector<double> per_class_accuracy() const {
        std::vector<double> a(confusion.size(), 0.0);
        for (std::size_t c = 0; c < confusion.size(); ++c) {
            std::size_t n = 0;
            for (auto v : confusion[c]) n += v;
            a[c] = n ? double(confusion[c][c]) / double(n) : 0.0;
        }
        return a;
    }
};

struct eval_settings {
    std::size_t steps = 2, batch = 250;
    nn::precision prec = nn::precision::f32;
    nn::energy_model energy{};
    std::size_t classes = 10;
    /// Test-time augmentation: classify each sample and its left-right mirror (flip), and
    /// copies translated by (shift, shift) and (-shift, -shift) pixels (mirrored too when
    /// flip), and average all views' outputs equally. One forward pass per view: spike rates
    /// stay per neuron and step, SOPs and energy stay per forward pass (multiply them by the
    /// view count for the cost per classified sample).
    bool flip = false;
    std::size_t shift = 0;
    /// Called with each forward pass's input before the pass (the device loop's reference
    /// pass of the fitted-model network); empty: nothing.
    std::function<void(const nn::tensor&, const nn::context&)> before_forward;

    std::size_t views() const { return (flip ? 2 : 1) * (shift ? 3 : 1); }
};

/// out = x ([T, B, C, H, W]) translated by d pixels down and right (d < 0: up and left), then
/// mirrored left-right if asked; vacated pixels are 0 (the channel mean of normalized images,
/// "no event" of event frames). Shares the event frames' augmentation kernel.
inline void test_view(const nn::tensor& x, nn::tensor& out, std::ptrdiff_t d, bool mirrored) {
    const auto& s = x.shape();
    if (out.shape() != s) out = nn::tensor::from_shape(s);
    // augment_planes mirrors first, then shifts: the mirrored view's column shift is -d
    data::augment_planes(x.data(), s[0] * s[1] * s[2], s[3], s[4], out.data(),
                         data::frame_draw{mirrored, d, mirrored ? -d : d});
}

/// Runs net in inference mode (BN folded into the convolutions) over every sample of src.
template <class Net, data::sample_source Source>
evaluation evaluate(Net& net, const Source& src, const eval_settings& s,
                    std::vector<std::string> class_names = {}) {
    const auto t0 = std::chrono::steady_clock::now();
    evaluation e;
    e.class_names = std::move(class_names);
    if (e.class_names.empty())
        for (std::size_t c = 0; c < s.classes; ++c) e.class_names.push_back(std::to_string(c));
    e.confusion.assign(s.classes, std::vector<std::size_t>(s.classes, 0));
    nn::context ctx;
    ctx.training = false;
    ctx.steps = s.steps;
    ctx.prec = s.prec;
    ctx.collect_metrics = true;
    net.reset_metrics();
    data::loader<Source> ld(src, s.batch, false, false, 0);
    const std::ptrdiff_t shift = std::ptrdiff_t(s.shift);
    const std::vector<std::ptrdiff_t> shifts =
        shift ? std::vector<std::ptrdiff_t>{0, shift, -shift} : std::vector<std::ptrdiff_t>{0};
    nn::tensor x, view, sum;
    e.labels.reserve(src.size());
    e.predicted.reserve(src.size());
    for (auto& b : ld.epoch(0)) {
        to_input(b.x, x);
        const nn::tensor* res = nullptr;
        for (const auto d : shifts)
            for (int mirrored = 0; mirrored <= int(s.flip); ++mirrored) {
                const nn::tensor* in = &x;
                if (d != 0 || mirrored) {
                    test_view(x, view, d, mirrored);
                    in = &view;
                }
                ++ctx.iteration; // a fresh read-noise draw per forward pass
                if (s.before_forward) s.before_forward(*in, ctx);
                const nn::tensor& o = net.forward(*in, ctx);
                if (s.views() == 1) {
                    res = &o;
                } else if (res == nullptr) {
                    sum = o;
                    res = &sum;
                } else {
                    sum += o;
                }
            }
        if (s.views() > 1) sum *= 1.0f / float(s.views());
        const nn::tensor& out = *res;
        const auto r =
            nn::cross_entropy(out, std::span<const int>(b.labels.data(), b.labels.size()));
        e.loss += r.value * double(b.size());
        const auto p = predictions(out);
        for (std::size_t i = 0; i < b.size(); ++i) {
            const auto y = std::size_t(b.labels[i]);
            if (y >= s.classes || std::size_t(p[i]) >= s.classes)
                throw parameter_error("classes", "label or output beyond the class count");
            ++e.confusion[y][std::size_t(p[i])];
            e.correct += p[i] == b.labels[i];
            e.labels.push_back(b.labels[i]);
            e.predicted.push_back(p[i]);
        }
        e.samples += b.size();
    }
    e.loss /= double(std::max<std::size_t>(e.samples, 1));
    e.network = nn::metrics(net, s.steps, s.energy);
    const auto sizes = spiking_layer_sizes(net);
    double total = 0, pos = 0, neg = 0;
    std::size_t k = 0;
    for (const auto& l : e.network.layers)
        if (l.kind == std::string("spiking") && k < sizes.size()) {
            pos += l.positive_rate * sizes[k];
            neg += l.negative_rate * sizes[k];
            total += sizes[k++];
        }
    if (total > 0) e.positive_rate = pos / total, e.negative_rate = neg / total;
    net.reset_metrics();
    e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return e;
}

inline io::json to_json(const nn::network_metrics& m) {
    io::json layers = io::json::array();
    for (const auto& l : m.layers)
        layers.push_back({{"name", l.name},
                          {"kind", l.kind},
                          {"macs_per_step", l.macs_per_step},
                          {"parameters", l.parameters},
                          {"input_rate", l.input_rate},
                          {"positive_rate", l.positive_rate},
                          {"negative_rate", l.negative_rate}});
    return {{"steps", m.steps},
            {"parameters", m.parameters},
            {"macs_per_sample", m.macs},
            {"macs_all_steps_per_sample", m.macs_all_steps},
            {"sops_per_sample", m.sops},
            {"spikes_per_sample", m.spikes},
            {"energy_pj_per_sample", m.energy_pj},
            {"layers", layers}};
}

inline io::json to_json(const evaluation& e) {
    io::json per_class = io::json::object();
    const auto a = e.per_class_accuracy();
    for (std::size_t c = 0; c < a.size(); ++c) per_class[e.class_names[c]] = a[c];
    return {{"samples", e.samples},
            {"accuracy", e.accuracy()},
            {"loss", e.loss},
            {"per_class_accuracy", per_class},
            {"confusion", e.confusion},
            {"class_names", e.class_names},
            {"spike_rate_positive", e.positive_rate},
            {"spike_rate_negative", e.negative_rate},
            {"network_metrics", to_json(e.network)},
            {"seconds", e.seconds},
            {"conditions", e.conditions}};
}

/// confusion.csv: header "true\predicted,<classes>", one row per true class.
inline void write_confusion_csv(const std::string& file, const evaluation& e) {
    io::write_atomically(file, [&](std::ostream& os) {
        os << "true\\predicted";
        for (const auto& n : e.class_names) os << ',' << n;
        os << '\n';
        for (std::size_t r = 0; r < e.confusion.size(); ++r) {
            os << e.class_names[r];
            for (auto v : e.confusion[r]) os << ',' << v;
            os << '\n';
        }
    });
}

/// predictions.csv: header "index,label,predicted", one row per sample in the source's order
/// (class indices; confusion.csv names them).
inline void write_predictions_csv(const std::string& file, const evaluation& e) {
    io::write_atomically(file, [&](std::ostream& os) {
        os << "index,label,predicted\n";
        for (std::size_t i = 0; i < e.predicted.size(); ++i)
            os << i << ',' << e.labels[i] << ',' << e.predicted[i] << '\n';
    });
}

namespace detail {
// 3 x 5 digit glyphs, one row per 3 bits (MSB = left).
inline constexpr std::array<std::array<std::uint8_t, 5>, 10> digit_glyphs = {{{7, 5, 5, 5, 7},
                                                                              {2, 6, 2, 2, 7},
                                                                              {7, 1, 7, 4, 7},
                                                                              {7, 1, 7, 1, 7},
                                                                              {5, 5, 7, 1, 1},
                                                                              {7, 4, 7, 1, 7},
                                                                              {7, 4, 7, 5, 7},
                                                                              {7, 1, 1, 1, 1},
                                                                              {7, 5, 7, 5, 7},
                                                                              {7, 5, 7, 1, 7}}};

inline void draw_number(std::vector<std::uint8_t>& rgb, std::size_t width, std::size_t x0,
                        std::size_t y0, std::size_t value, std::size_t scale,
                        std::array<std::uint8_t, 3> color) {
    const std::string digits = std::to_string(value);
    for (std::size_t d = 0; d < digits.size(); ++d) {
        const auto& g = digit_glyphs[std::size_t(digits[d] - '0')];
        for (std::size_t gy = 0; gy < 5; ++gy)
            for (std::size_t gx = 0; gx < 3; ++gx) {
                if (!((g[gy] >> (2 - gx)) & 1)) continue;
                for (std::size_t sy = 0; sy < scale; ++sy)
                    for (std::size_t sx = 0; sx < scale; ++sx) {
                        const std::size_t px = x0 + (d * 4 + gx) * scale + sx,
                                          py = y0 + gy * scale + sy;
                        if (px >= width) continue;
                        for (std::size_t ch = 0; ch < 3; ++ch)
                            rgb[(py * width + px) * 3 + ch] = color[ch];
                    }
            }
    }
}
} // namespace detail

/// confusion.png: one cell per (true row, predicted column), shaded by the fraction of the
/// row (white 0 -> dark blue 1), class indices along the top and left, per-mille of the
/// row in each cell. The CSV next to it carries the class names and the counts.
inline void write_confusion_png(const std::string& file, const evaluation& e) {
    const std::size_t k = e.confusion.size(), cell = 48, margin = 24, side = margin + k * cell;
    std::vector<std::uint8_t> rgb(side * side * 3, 255);
    for (std::size_t r = 0; r < k; ++r) {
        std::size_t n = 0;
        for (auto v : e.confusion[r]) n += v;
        for (std::size_t c = 0; c < k; ++c) {
            const double f = n ? double(e.confusion[r][c]) / double(n) : 0.0;
            const std::array<std::uint8_t, 3> col = {std::uint8_t(std::lround(255 - 235 * f)),
                                                     std::uint8_t(std::lround(255 - 200 * f)),
                                                     std::uint8_t(std::lround(255 - 100 * f))};
            for (std::size_t y = 1; y < cell; ++y)
                for (std::size_t x = 1; x < cell; ++x) {
                    const std::size_t px = margin + c * cell + x, py = margin + r * cell + y;
                    for (std::size_t ch = 0; ch < 3; ++ch) rgb[(py * side + px) * 3 + ch] = col[ch];
                }
            const std::array<std::uint8_t, 3> ink = f > 0.5
                                                        ? std::array<std::uint8_t, 3>{255, 255, 255}
                                                        : std::array<std::uint8_t, 3>{0, 0, 0};
            detail::draw_number(rgb, side, margin + c * cell + 4, margin + r * cell + 18,
                                std::size_t(std::lround(1000 * f)), 2, ink);
        }
        detail::draw_number(rgb, side, 6, margin + r * cell + 16, r, 3, {0, 0, 0});
        detail::draw_number(rgb, side, margin + r * cell + 18, 4, r, 3, {0, 0, 0});
    }
    std::filesystem::path p(file);
    if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
    const std::string tmp = file + ".tmp.png";
    if (!stbi_write_png(tmp.c_str(), int(side), int(side), 3, rgb.data(), int(side * 3)))
        throw data_error(tmp, "cannot write PNG");
    std::filesystem::rename(tmp, file);
}

/// evaluation.json, confusion.csv, confusion.png and predictions.csv in dir.
inline void write_evaluation(const std::string& dir, const evaluation& e) {
    io::write_json_file(dir + "/evaluation.json", to_json(e));
    write_confusion_csv(dir + "/confusion.csv", e);
    write_predictions_csv(dir + "/predictions.csv", e);
    write_confusion_png(dir + "/confusion.png", e);
}

} // namespace spinfire::train
