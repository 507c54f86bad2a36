#pragma once
// Device in the loop for evaluation (--neuron-sim llg): every spiking layer of a trained
// network gets a population of simulated MTJs (neuron/llg_population.hpp), one device per
// neuron of a sample, run by the protocol the neuron was fitted with. What it answers: does
// a network trained on the five fitted numbers still classify when its neurons are devices,
// at a temperature, with fabrication spread?
//
// Choices (each a parameter; the defaults are documented in docs/results/device_in_the_loop.md):
//  - device: --device FILE (device::mtj keys, any subset) or the preset orthogonal_mtj;
//    --temperature replaces the file's temperature.
//  - protocol: --protocol FILE (every key of fit::protocol required: a protocol file that
//    forgets its readout is refused, not filled with a default), else the protocol block of
//    the chosen neuron's fitted file, else (ideal neuron) that of the default fitted file.
//  - input: the device sees X = k x, x the layer input (BN output). k is the drive scale the
//    network was trained with: the fitted neuron's folded input scale (--input-scale fixed),
//    1 with --input-scale bn (the BN carries it), and for an ideal-trained network the
//    default fitted file's operating-point scale (mean threshold / gain), which puts the
//    device where the ideal neuron's threshold is.
//  - chip: neuron i of layer l is device offset_l + i of fit::draw_device(nominal, spec) with
//    spec = (--tolerance-nm, --ku-sigma, --ms-sigma, --temperature, --device-seed): one seed
//    is one fixed chip, the same for every image. Neuron order is the layer's memory order.
//  - thermal noise: Philox keyed by --device-seed and the layer; streams per image and neuron.
// Per layer it also runs the fitted model on the same input (local agreement: same input,
// model vs device) and keeps the spikes of a pass of the whole fitted-model network on the
// same images (network agreement: what the device network does differently end to end).
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "spinfire/core/aligned.hpp"
#include "spinfire/core/error.hpp"
#include "spinfire/device/mtj.hpp"
#include "spinfire/device/presets.hpp"
#include "spinfire/fit/device_protocol.hpp"
#include "spinfire/fit/protocol_json.hpp"
#include "spinfire/fit/variability.hpp"
#include "spinfire/io/json.hpp"
#include "spinfire/neuron/llg_population.hpp"
#include "spinfire/neuron/population.hpp"
#include "spinfire/nn/graph.hpp"
#include "spinfire/nn/spike_source.hpp"
#include "spinfire/train/neuron_choice.hpp"
#include "spinfire/train/options.hpp"

namespace spinfire::train {

/// The device-in-the-loop settings of a run (from run_options), validated before any
/// simulation starts.
struct device_loop_settings {
    std::string device_file, protocol_file;
    fit::variability_spec chip; // tolerance, K_u and Ms spread, temperature, seed
    bool double_lanes = false;  // --llg-precision double
    bool quiet = false;
};

inline device_loop_settings device_loop_from(const run_options& o) {
    device_loop_settings s;
    s.device_file = o.device.device_file, s.protocol_file = o.device.protocol_file;
    require_finite("temperature", o.device.temperature);
    require_non_negative("temperature", o.device.temperature);
    require_non_negative("tolerance_nm", o.device.tolerance_nm);
    require_non_negative("ku_sigma", o.device.ku_sigma);
    require_non_negative("ms_sigma", o.device.ms_sigma);
    if (!(o.device.ms_sigma < 0.5))
        throw parameter_error("ms_sigma", "must be < 0.5 (relative spread of Ms)");
    s.chip.dimension_tol_nm = o.device.tolerance_nm, s.chip.ku_sigma = o.device.ku_sigma;
    s.chip.ms_rel_sigma = o.device.ms_sigma, s.chip.temperature = o.device.temperature;
    s.chip.seed = long(o.device_seed);
    if (o.device.llg_precision != "float" && o.device.llg_precision != "double")
        throw parameter_error("llg_precision",
                              "'" + o.device.llg_precision + "' is not float or double");
    s.double_lanes = o.device.llg_precision == "double";
    s.quiet = o.quiet;
    return s;
}

/// A protocol file must name every field: a missing readout (or any other key) is an error.
inline fit::protocol load_protocol_file(const std::string& file) {
    const io::json j = io::read_json_file(file);
    try {
        if (!j.is_object()) throw error("expected a JSON object of protocol fields");
        std::string missing;
        for (const auto& k : reflect::field_names<fit::protocol>())
            if (!j.contains(k)) missing += (missing.empty() ? "" : ", ") + k;
        if (!missing.empty()) throw error("missing protocol field(s): " + missing);
        return fit::protocol_from_json(j);
    } catch (const data_error&) {
        throw;
    } catch (const error& e) {
        throw data_error(file, e.what());
    }
}

inline device::mtj load_device_file(const std::string& file) {
    device::mtj d = device::orthogonal_mtj();
    if (file.empty()) return d;
    const io::json j = io::read_json_file(file);
    try {
        io::from_json(j, d, "device");
        device::validate(d);
    } catch (const data_error&) {
        throw;
    } catch (const error& e) {
        throw data_error(file, e.what());
    }
    return d;
}

/// Checks the device-loop options and files of a run before any data is loaded or any
/// device simulated (the device loop checks them again when it is built).
inline void check_device_loop(const run_options& o, bool evaluating) {
    validate_neuron_sim(o);
    if (o.device.neuron_sim != "llg") return;
    if (!evaluating)
        throw parameter_error("neuron_sim",
                              "llg is for --evaluate: training runs on the fitted "
                              "model (noise-aware: --train-spread, --train-read-noise)");
    const auto s = device_loop_from(o);
    auto d = load_device_file(s.device_file);
    d.temperature = s.chip.temperature;
    fit::validate_spread(d, s.chip);
    if (!s.protocol_file.empty()) (void)load_protocol_file(s.protocol_file);
}

/// Agreement and activity of one spiking layer under the device.
struct layer_agreement {
    std::string name;
    std::size_t neurons = 0;                  ///< per sample
    std::uint64_t elements = 0;               ///< neurons x samples x steps seen
    std::uint64_t same_local = 0;             ///< device spike == fitted model on the same input
    std::uint64_t same_network = 0;           ///< device spike == fitted-model network's spike
    std::uint64_t positive = 0, negative = 0; ///< device spikes
};

namespace detail {

/// One layer's devices as a spike source; Real is the lane precision.
template <class Real>
class llg_source final : public nn::spike_source {
public:
    using population = neuron::llg_population<fit::protocol_system, Real>;
    llg_source(population pop, const neuron_model::params<float>& model, layer_agreement* tally,
               const bool* reference)
        : pop_(std::move(pop)), model_(model), tally_(tally), reference_(reference) {}

    void forward(std::size_t steps, std::size_t x_steps, std::size_t batch, std::size_t n,
                 const float* x, float* y, const nn::context&) override {
        if (n != pop_.neurons())
            throw parameter_error("device loop", "layer has " + std::to_string(n) +
                                                     " neurons per sample, its devices " +
                                                     std::to_string(pop_.neurons()));
        const std::size_t all = steps * batch * n;
        model_y_.resize(all);
        using kernel = neuron::population_kernel<neuron_model, float>;
        if (x_steps == 1)
            kernel::forward_broadcast(model_, steps, batch * n, x, model_y_.data(), nullptr);
        else
            kernel::forward(model_, steps, batch * n, x, model_y_.data(), nullptr);
        if (*reference_) { // the fitted-model network's pass: remember its spikes
            for (std::size_t i = 0; i < all; ++i) y[i] = model_y_[i];
            reference_y_ = model_y_;
            return;
        }
        pop_.forward(steps, x_steps, batch, x, y, nullptr, samples_);
        samples_ += batch;
        const bool net = reference_y_.size() == all;
        std::uint64_t local = 0, network = 0, pos = 0, neg = 0;
        for (std::size_t i = 0; i < all; ++i) {
            local += y[i] == model_y_[i];
            if (net) network += y[i] == reference_y_[i];
            pos += y[i] > 0, neg += y[i] < 0;
        }
        tally_->elements += all, tally_->same_local += local, tally_->same_network += network;
        tally_->positive += pos, tally_->negative += neg;
        reference_y_.clear();
    }
    const population& devices() const { return pop_; }

private:
    population pop_;
    neuron_model::params<float> model_;
    layer_agreement* tally_;
    const bool* reference_;
    std::uint64_t samples_ = 0;
    aligned_vector<float> model_y_, reference_y_;
};

} // namespace detail

/// The attached devices of one network; detaching happens in the destructor.
class device_loop {
public:
    /// Attaches devices to every top-level spiking layer of net (chosen neuron n, options o).
    template <class Net>
    device_loop(Net& net, const neuron_choice& n, const run_options& o)
        : settings_(device_loop_from(o)) {
        nominal_ = load_device_file(settings_.device_file);
        nominal_.temperature = settings_.chip.temperature;
        fit::validate_spread(nominal_, settings_.chip);
        if (!settings_.protocol_file.empty()) {
            proto_ = load_protocol_file(settings_.protocol_file);
            protocol_from_ = settings_.protocol_file;
        } else if (n.name != "ideal" && !n.fitted.protocol.empty()) {
            proto_ = fit::protocol_from_json(n.fitted.protocol);
            protocol_from_ = n.name + " (protocol block)";
        } else {
            const std::string f = find_fitted_neuron();
            proto_ = fit::protocol_from_json(fit::load_fitted_neuron(f).protocol);
            protocol_from_ = f + " (protocol block)";
        }
        if (n.name == "ideal") {
            const auto f = choose_neuron(find_fitted_neuron(), false);
            input_scale_ = operating_point_scale(f.params);
        } else {
            input_scale_ = n.input_scale;
        }
        std::size_t offset = 0, layer = 0;
        net.body().for_each([&]<std::size_t I>(auto& l) {
            if constexpr (requires { l.body(); })
                throw parameter_error("neuron_sim",
                                      "layer " + std::to_string(I) +
                                          " is a nested block: the device loop "
                                          "attaches to top-level spiking layers only");
            else if constexpr (nn::detail::spiking_layer<std::decay_t<decltype(l)>>) {
                const std::size_t count = Net::template input_shape_of<I>::size;
                tallies_.push_back(std::make_unique<layer_agreement>());
                tallies_.back()->name = "layer " + std::to_string(I);
                tallies_.back()->neurons = count;
                const std::uint64_t noise_seed =
                    std::uint64_t(settings_.chip.seed) * 0x9e3779b97f4a7c15ull + layer;
                if (settings_.double_lanes)
                    attach<double>(l, count, offset, noise_seed);
                else
                    attach<float>(l, count, offset, noise_seed);
                detach_.push_back([&l] { l.source.reset(); });
                offset += count, ++layer;
            }
        });
        if (layer == 0) throw parameter_error("neuron_sim", "the network has no spiking layer");
        neurons_ = offset;
    }
    ~device_loop() {
        for (auto& f : detach_) f();
    }
    device_loop(const device_loop&) = delete;
    device_loop& operator=(const device_loop&) = delete;

    /// Runs the fitted-model network on the same input first (network agreement); hook it
    /// into eval_settings::before_forward.
    template <class Net>
    void reference_pass(Net& net, const nn::tensor& in, const nn::context& ctx) {
        nn::context c = ctx;
        c.collect_metrics = false;
        reference_ = true;
        net.forward(in, c);
        reference_ = false;
        if (!settings_.quiet) progress();
    }

    /// Simulated energy, activity and agreement so far, and every setting.
    io::json report(std::size_t samples) const {
        double drive = 0, reset = 0, read = 0, seconds = 0;
        std::uint64_t device_steps = 0, spikes = 0;
        for (const auto& f : stats_) {
            const auto s = f();
            drive += s.drive_energy, reset += s.reset_energy, read += s.read_energy;
            seconds += s.seconds, device_steps += s.device_steps;
            spikes += s.positive_spikes + s.negative_spikes;
        }
        io::json layers = io::json::array();
        for (const auto& t : tallies_) {
            const double e = double(std::max<std::uint64_t>(t->elements, 1));
            layers.push_back({{"name", t->name},
                              {"neurons", t->neurons},
                              {"positive_rate", double(t->positive) / e},
                              {"negative_rate", double(t->negative) / e},
                              {"agreement_same_input", double(t->same_local) / e},
                              {"agreement_with_model_network", double(t->same_network) / e}});
        }
        const double per = double(std::max<std::size_t>(samples, 1));
        return {
            {"neuron_sim", "llg"},
            {"device_file",
             settings_.device_file.empty() ? "preset orthogonal_mtj" : settings_.device_file},
            {"device", io::to_json(nominal_)},
            {"protocol_from", protocol_from_},
            {"protocol", fit::to_json(proto_)},
            {"input_scale", input_scale_},
            {"chip", io::to_json(settings_.chip)},
            {"lanes", settings_.double_lanes ? "double" : "float"},
            {"integrator", settings_.chip.temperature > 0 ? "heun" : "rk4"},
            {"neurons_per_sample", neurons_},
            {"layers", layers},
            {"energy_pj_per_sample",
             {{"drive", 1e12 * drive / per},
              {"reset", 1e12 * reset / per},
              {"read", 1e12 * read / per},
              {"total", 1e12 * (drive + reset + read) / per}}},
            {"energy_pj_per_spike", spikes ? 1e12 * (drive + reset + read) / double(spikes) : 0.0},
            {"device_steps", device_steps},
            {"device_seconds", seconds},
            {"device_steps_per_second", seconds > 0 ? double(device_steps) / seconds : 0.0}};
    }

private:
    template <class Real, class Layer>
    void attach(Layer& l, std::size_t count, std::size_t offset, std::uint64_t noise_seed) {
        using pop_t = neuron::llg_population<fit::protocol_system, Real>;
        const auto& spec = settings_.chip;
        const bool spread = spec.dimension_tol_nm > 0 || spec.ku_sigma > 0 || spec.ms_rel_sigma > 0;
        std::vector<fit::protocol_system::params<double>> params;
        std::vector<neuron::device_energy> energy;
        const std::size_t devices = spread ? count : 1;
        for (std::size_t i = 0; i < devices; ++i) {
            const device::mtj d = spread ? fit::draw_device(nominal_, spec, offset + i) : nominal_;
            try {
                params.push_back(fit::lane_params(d, proto_));
            } catch (const parameter_error& e) {
                throw parameter_error(e.name(), e.reason() + " (device " +
                                                    std::to_string(offset + i) + " of the chip)");
            }
            energy.push_back({proto_.input, line_resistance(d), device::mtj_readout(d)});
        }
        auto src = std::make_shared<detail::llg_source<Real>>(
            pop_t(proto_, count, std::move(params), nominal_.m0, std::move(energy), input_scale_,
                  noise_seed),
            l.params, tallies_.back().get(), &reference_);
        stats_.push_back([src] { return src->devices().stats(); });
        l.source = src;
    }

    double line_resistance(const device::mtj& d) const {
        if (proto_.input != fit::mechanism::sot) return 0;
        const fit::sot_line line;
        const auto [area, len] = fit::detail::sot_geometry(d, line, proto_.polarizer);
        return line.resistivity * len / area;
    }

    void progress() {
        const auto now = std::chrono::steady_clock::now();
        if (!started_) start_ = now, started_ = true;
        double seconds = 0;
        std::uint64_t steps = 0;
        for (const auto& f : stats_) {
            const auto s = f();
            seconds += s.seconds, steps += s.device_steps;
        }
        std::printf(
            "llg: %llu device-steps, %.0f s in devices (%.3g device-steps/s), %.0f s wall\n",
            static_cast<unsigned long long>(steps), seconds,
            seconds > 0 ? double(steps) / seconds : 0.0,
            std::chrono::duration<double>(now - start_).count());
        std::fflush(stdout);
    }

    device_loop_settings settings_;
    device::mtj nominal_;
    fit::protocol proto_;
    std::string protocol_from_;
    double input_scale_ = 1;
    std::size_t neurons_ = 0;
    bool reference_ = false, started_ = false;
    std::chrono::steady_clock::time_point start_{};
    std::vector<std::unique_ptr<layer_agreement>> tallies_;
    std::vector<std::function<neuron::llg_stats()>> stats_;
    std::vector<std::function<void()>> detach_;
};

} // namespace spinfire::train
