#pragma once
// --neuron ideal | mtj | <fitted.json>: the parameters every spiking layer of a network gets.
// Both choices use the same model type (neuron::mtj_signed_lif), whose defaults are exactly
// the ideal signed LIF of snn.md section 1 (beta 0.5, unit gain and thresholds, soft reset),
// so an ideal-vs-MTJ comparison differs in the parameters only, never in the kernel.
// Read noise and device-to-device spread in the file are reported, not simulated: the nn
// spiking layer runs the deterministic population kernel.
// A fitted neuron's drive scale (mean threshold / gain, 2.25 for the MTJ file) can live in
// two places. --input-scale bn: match_operating_point (on by default, --match-neuron)
// multiplies the gamma of the batch norms in front of the neurons by it, so a fitted neuron
// starts where the ideal one does, but SGD then moves gamma and beta, measured in threshold
// units, 1 / scale^2 (0.2) as far per step as in front of the ideal neuron. --input-scale
// fixed (the default): the scale is a constant folded into the neuron's gain (the device
// driven through a fixed current per unit of BN output), gamma starts at 1 and the batch
// norms train exactly as in front of the ideal neuron. Both compute the same function at
// initialisation; they differ in the optimizer's geometry only (docs/results/cifar10.md
// measures what that costs).
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "spinfire/core/error.hpp"
#include "spinfire/fit/fitted_neuron.hpp"
#include "spinfire/io/json.hpp"
#include "spinfire/neuron/mtj_signed_lif.hpp"
#include "spinfire/nn/graph.hpp"

namespace spinfire::train {

using neuron_model = neuron::mtj_signed_lif;
using neuron_params = neuron_model::params<double>;

struct neuron_choice {
    std::string name; ///< ideal, or the fitted file's path
    neuron_params params = neuron_model::defaults<double>();
    double pj_per_spike = 0;     ///< neuron energy per spike (energy estimate)
    fit::fitted_neuron fitted{}; ///< the file's contents (defaults for ideal)
    double input_scale = 1;      ///< constant factor folded into the gain (--input-scale fixed)
};

/// Where "mtj" looks for the fitted neuron: $SPINFIRE_FITTED_NEURON, else
/// docs/results/orthogonal_mtj_fitted.json in the working directory or a parent of it.
inline std::string find_fitted_neuron() {
    namespace fs = std::filesystem;
    if (const char* env = std::getenv("SPINFIRE_FITTED_NEURON"); env && *env) return env;
    const fs::path rel = fs::path("docs") / "results" / "orthogonal_mtj_fitted.json";
    std::error_code ec;
    fs::path dir = fs::current_path(ec);
    for (int up = 0; up < 6 && !ec; ++up) {
        if (fs::is_regular_file(dir / rel)) return (dir / rel).string();
        if (!dir.has_parent_path() || dir.parent_path() == dir) break;
        dir = dir.parent_path();
    }
    throw parameter_error("neuron", "'mtj' needs docs/results/orthogonal_mtj_fitted.json (run "
                                    "from the source tree, set SPINFIRE_FITTED_NEURON, or pass "
                                    "the file's path)");
}

/// Input scale that puts neuron p at the ideal neuron's operating point: the mean threshold
/// over the input gain (1 for the ideal neuron). A fitted MTJ neuron (gain 0.46, thresholds
/// 1.03) starting from BN scale 1 sees its drive scaled down and fires a third as often.
inline double operating_point_scale(const neuron_params& p) {
    return 0.5 * (p.theta_pos + p.theta_neg) / p.gain;
}

/// Resolves a --neuron value. The MTJ spike energy is 0.3 pJ (the target paper's estimate,
/// snn.md section 4) unless the file's protocol records "energy_per_spike_pj". With
/// fixed_input_scale the gain (of the parameters and of the fitted model that device draws
/// start from) is multiplied by operating_point_scale, which then becomes 1.
inline neuron_choice choose_neuron(const std::string& spec, bool fixed_input_scale = false) {
    neuron_choice c;
    if (spec == "ideal") {
        c.name = "ideal";
        return c;
    }
    const std::string file = spec == "mtj" ? find_fitted_neuron() : spec;
    c.name = file;
    c.fitted = fit::load_fitted_neuron(file);
    c.params = neuron_model::from_fit<double>(c.fitted);
    c.params.read_noise = 0; // not simulated in training (see the header comment)
    if (fixed_input_scale) {
        c.input_scale = operating_point_scale(c.params);
        c.params.gain *= c.input_scale;
        c.fitted.model.gain *= c.input_scale;
    }
    neuron_model::validate(c.params);
    c.pj_per_spike = 0.3;
    if (c.fitted.protocol.contains("energy_per_spike_pj") &&
        c.fitted.protocol["energy_per_spike_pj"].is_number())
        c.pj_per_spike = c.fitted.protocol["energy_per_spike_pj"].get<double>();
    return c;
}

/// Gives every spiking layer of net the chosen parameters.
template <class Net>
void set_neuron(Net& net, const neuron_params& p) {
    net.body().for_each([&]<std::size_t I>(auto& layer) {
        if constexpr (nn::detail::spiking_layer<std::decay_t<decltype(layer)>>) {
            auto& q = layer.params;
            q.beta = float(p.beta);
            q.gain = float(p.gain);
            q.theta_pos = float(p.theta_pos);
            q.theta_neg = float(p.theta_neg);
            q.v_reset = float(p.v_reset);
            q.v_sat = float(p.v_sat);
            q.hard_reset = float(p.hard_reset);
            q.read_noise = float(p.read_noise);
        }
    });
}

/// Multiplies the scale (gamma) of every batch norm that feeds a spiking layer directly by
/// operating_point_scale(p), also inside residual blocks. Called after initialisation, it
/// makes the fitted neuron's first step fire exactly where the ideal one does (equal
/// thresholds); training then moves gamma freely. The ideal neuron is left unchanged.
template <class Chain>
void match_operating_point(Chain& chain, const neuron_params& p) {
    const float k = float(operating_point_scale(p));
    chain.for_each([&]<std::size_t I>(auto& layer) {
        using layer_t = std::decay_t<decltype(layer)>;
        if constexpr (requires { layer.body(); }) {
            match_operating_point(layer.body(), p);
        } else if constexpr (I > 0 && nn::detail::spiking_layer<layer_t>) {
            auto& prev = std::get<I - 1>(chain.layers());
            if constexpr (requires { prev.gamma(); }) {
                auto& g = prev.gamma();
                for (auto& v : g.value) v *= k;
                g.touch();
            }
        }
    });
}

/// Device-faithful evaluation: per-neuron parameters drawn with relative standard deviation
/// `spread` of beta, gain and both thresholds around the chosen neuron (device-to-device
/// variability), and read noise of standard deviation `read_noise` (in units of V) on
/// every read-out that decides a spike.
struct device_settings {
    double spread = 0, read_noise = 0;
    std::uint64_t seed = 1;
    bool active() const { return spread > 0 || read_noise > 0; }
};

/// Applies d to every (top-level) spiking layer of net; layer I draws its neurons from
/// Philox (seed, I) and its noise from a separate key, so the draws do not correlate.
template <class Net>
void set_device(Net& net, const neuron_choice& c, const device_settings& d) {
    require_non_negative("device.spread", d.spread);
    require_non_negative("device.read_noise", d.read_noise);
    fit::fitted_neuron f = c.fitted; // the chosen neuron's model (the ideal one for "ideal")
    f.spread = {d.spread, d.spread, d.spread, d.spread, d.read_noise};
    net.body().for_each([&]<std::size_t I>(auto& layer) {
        if constexpr (nn::detail::spiking_layer<std::decay_t<decltype(layer)>>) {
            const std::uint64_t key = d.seed * 0x9e3779b97f4a7c15ull + I;
            layer.per_neuron.clear();
            if (d.spread > 0)
                layer.per_neuron = neuron_model::sample_neurons<float>(
                    f, Net::template input_shape_of<I>::size, key);
            layer.params.read_noise = float(d.read_noise);
            for (auto& q : layer.per_neuron) q.read_noise = float(d.read_noise);
            layer.read_noise = d.read_noise > 0;
            layer.noise_seed = ~key;
        }
    });
}

/// Back to the shared nominal parameters without read noise (undoes set_device).
template <class Net>
void clear_device(Net& net) {
    net.body().for_each([&]<std::size_t I>(auto& layer) {
        if constexpr (nn::detail::spiking_layer<std::decay_t<decltype(layer)>>) {
            layer.per_neuron.clear();
            layer.params.read_noise = 0.0f;
            layer.read_noise = false;
        }
    });
}

inline io::json to_json(const device_settings& d) {
    return {{"spread_rel", d.spread}, {"read_noise", d.read_noise}, {"seed", d.seed}};
}

inline io::json to_json(const neuron_choice& c) {
    io::json j = {{"name", c.name},
                  {"params", io::to_json(c.params)},
                  {"input_scale", c.input_scale},
                  {"pj_per_spike", c.pj_per_spike}};
    if (c.name != "ideal") {
        j["fit_quality"] = io::to_json(c.fitted.quality);
        j["spread_not_simulated"] = io::to_json(c.fitted.spread);
    }
    return j;
}

} // namespace spinfire::train
