#pragma once
// The fitted-neuron file: what fit/ produces from device traces and what the
// neuron::mtj_signed_lif model loads (fit/fitted_model.hpp has the model's equations and the
// plain structs). One reflected definition gives the JSON keys.
#include <string>

#include "spinfire/core/error.hpp"
#include "spinfire/fit/fitted_model.hpp"
#include "spinfire/io/json.hpp"

namespace spinfire::fit {

/// The fitted model plus the device and protocol it came from.
struct fitted_neuron : fitted_model {
    io::json device = io::json::object();   // the device it came from (parameter names)
    io::json protocol = io::json::object(); // the protocol (drive, step, readout)
};

inline io::json to_json(const fitted_neuron& f) {
    return {{"format", "spinfire.fitted_neuron.v1"},
            {"model", io::to_json(f.model)},
            {"quality", io::to_json(f.quality)},
            {"spread", io::to_json(f.spread)},
            {"device", f.device},
            {"protocol", f.protocol}};
}

inline fitted_neuron fitted_neuron_from_json(const io::json& j) {
    // not j.value("format", ""): that throws nlohmann's type_error when "format" is no string
    const auto format = j.find("format"); // end() for a j that is no object
    if (format == j.end() || !format->is_string() || *format != "spinfire.fitted_neuron.v1")
        throw error(
            "fitted neuron: missing or unknown 'format' (expected spinfire.fitted_neuron.v1)");
    // the model is the file's purpose: every key of it is required, none falls back to a default
    if (!j.contains("model")) throw error("fitted neuron: missing key 'model'");
    for (const auto& k : reflect::field_names<signed_lif_params>())
        if (!j.at("model").is_object() || !j.at("model").contains(k))
            throw error("fitted neuron: missing key 'model." + k + "'");
    fitted_neuron f;
    for (auto it = j.begin(); it != j.end(); ++it) {
        const auto& k = it.key();
        if (k == "format") continue;
        if (k == "model")
            io::from_json(*it, f.model, "model");
        else if (k == "quality")
            io::from_json(*it, f.quality, "quality");
        else if (k == "spread")
            io::from_json(*it, f.spread, "spread");
        else if (k == "device")
            f.device = *it;
        else if (k == "protocol")
            f.protocol = *it;
        else
            throw error("fitted neuron: unknown key '" + k + "'");
    }
    validate(f.model);
    return f;
}

inline void save(const std::string& file, const fitted_neuron& f) {
    io::write_json_file(file, to_json(f));
}
inline fitted_neuron load_fitted_neuron(const std::string& file) {
    try {
        return fitted_neuron_from_json(io::read_json_file(file));
    } catch (const data_error&) {
        throw;
    } catch (const error& e) {
        throw data_error(file, e.what());
    }
}

} // namespace spinfire::fit
