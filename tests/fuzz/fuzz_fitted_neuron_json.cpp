// Fitted-neuron JSON (fit_signed_lif's output, --neuron <file>): an accepted file passes the
// model's validation and round-trips through save / load.
#include "fuzz_support.hpp"
#include "spinfire/fit/fitted_neuron.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t n) {
    using namespace spinfire;
    return fuzz::run(data, n, "neuron.json", [&](const std::string& file) {
        const fit::fitted_neuron f = fit::load_fitted_neuron(file);
        fit::validate(f.model);
        fit::save(fuzz::scratch("copy.json"), f);
        SPINFIRE_FUZZ_CHECK(fit::to_json(fit::load_fitted_neuron(fuzz::scratch("copy.json"))) ==
                            fit::to_json(f));
    });
}
