// Tutorial 2 (docs/guide.md): drive the preset MTJ with the SOT protocol, fit a signed LIF
// to its membrane, write the fitted-neuron file and run it as a neuron model.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <vector>

#include <spinfire/device/presets.hpp>
#include <spinfire/fit/device_protocol.hpp>
#include <spinfire/fit/export.hpp>
#include <spinfire/fit/signed_lif_fit.hpp>
#include <spinfire/neuron/mtj_signed_lif.hpp>
#include <spinfire/neuron/population.hpp>

using namespace spinfire;

int main() {
    int failures = 0;

    // [drive]
    // 300 SNN steps of a signed random input through the device (one LLG lane).
    const fit::protocol_lane lane{device::orthogonal_mtj(), fit::protocol{}, {}};
    std::vector<double> x(300);
    rng::stream noise(1, 0);
    for (auto& e : x) e = noise.normal();
    const auto response = fit::run_protocol(std::span(&lane, 1), x).front();
    std::printf("device: %ld spikes, %.3f pJ per step\n", response.spikes(),
                1e12 * response.total_energy() / double(x.size()));
    // [/drive]

    // [fit]
    // Least squares on the trace, then the fitted model run free on the same input.
    const auto f = fit::fit_signed_lif(response.tr);
    std::printf("beta %.4f gain %.4f theta+ %.4f theta- %.4f nrmse %.4f agreement %.4f\n",
                f.model.beta, f.model.gain, f.model.theta_pos, f.model.theta_neg,
                f.quality.nrmse, f.quality.spike_agreement);
    // The leak is the precession envelope sampled every step: exp(-step / tau) with
    // tau = 2 (1 + a^2) / (a gamma (k_W + k_L)) from the demag factors (docs/results/device.md).
    const auto& d = lane.device;
    const auto n = device::demag_factors(d);
    const double k_sum = constants::mu0 * d.Ms * (n.x + n.y - 2 * n.z);
    const double tau = 2 * (1 + d.alpha * d.alpha) / (d.alpha * d.gamma * k_sum);
    const double beta_envelope = std::exp(-lane.proto.step_ns * 1e-9 / tau);
    std::printf("envelope leak exp(-step / tau) = %.4f\n", beta_envelope);
    failures += std::abs(f.model.beta / beta_envelope - 1) > 0.03;
    failures += f.quality.nrmse > 0.05 || f.quality.spike_agreement < 0.95;
    // [/fit]

    // [file]
    // The fitted-neuron JSON the trainers load (--neuron <file>), read back as the
    // parameters of the mtj_signed_lif neuron model.
    const auto file = (std::filesystem::temp_directory_path() / "tutorial_fitted.json").string();
    fit::save(file, fit::make_fitted_neuron(f, d, lane.proto));
    using model = neuron::mtj_signed_lif;
    const auto p = model::from_fit<double>(fit::load_fitted_neuron(file));
    // One neuron (N = 1) over T = 300 steps through the generated kernel: its spikes must be
    // the fit's own free run, step for step.
    std::vector<double> s(x.size());
    neuron::population_kernel<model, double>::forward(p, x.size(), 1, x.data(), s.data(), nullptr);
    std::size_t same = 0;
    for (std::size_t t = 0; t < x.size(); ++t) same += s[t] == f.model_trace.s[t];
    std::printf("neuron model vs fitted free run: %zu of %zu steps agree\n", same, x.size());
    failures += same != x.size();
    // [/file]
    return failures == 0 ? 0 : 1;
}
