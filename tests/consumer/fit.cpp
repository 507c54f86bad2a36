// spinfire::fit alone: a signed LIF trace simulated from known parameters is fitted back
// (the parameters must come out), then written as a fitted-neuron file and read again.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <vector>

#include <spinfire/core/philox.hpp>
#include <spinfire/fit/fitted_neuron.hpp>
#include <spinfire/fit/signed_lif_fit.hpp>

int main() {
    using namespace spinfire;
    const fit::signed_lif_params truth{0.8, 1.3, 1.0, 0.9, 0.0, 0.0, false};
    std::vector<double> x(400);
    rng::stream r(7, 0);
    for (auto& xi : x) xi = 0.6 * r.normal();
    const auto tr = fit::simulate(truth, x);
    const auto f = fit::fit_signed_lif(tr);
    int failures = std::abs(f.model.beta - truth.beta) > 1e-6 ||
                   std::abs(f.model.gain - truth.gain) > 1e-6 || f.quality.spike_agreement != 1.0;

    fit::fitted_neuron n;
    n.model = f.model, n.quality = f.quality;
    const auto file =
        (std::filesystem::temp_directory_path() / "spinfire_consumer_fit.json").string();
    fit::save(file, n);
    const auto back = fit::load_fitted_neuron(file);
    std::filesystem::remove(file);
    failures += back.model.beta != n.model.beta || back.model.theta_neg != n.model.theta_neg;
    std::printf("fit: beta %.9f gain %.9f (truth 0.8, 1.3), spike agreement %g, %d wrong\n",
                f.model.beta, f.model.gain, f.quality.spike_agreement, failures);
    return failures == 0 ? 0 : 1;
}
