#pragma once
// The JSON form of a protocol (fit/protocol.hpp): its reflected fields, enums by name. Kept
// apart so the device neuron (neuron/llg_population.hpp) runs a protocol without a JSON
// library; fitted-neuron files and reports include this.
#include "spinfire/fit/protocol.hpp"
#include "spinfire/io/json.hpp"

namespace spinfire::fit {

inline io::json to_json(const protocol& p) { return io::to_json(p); }

/// Reads and validates a protocol; an unknown key is an error naming it.
inline protocol protocol_from_json(const io::json& j) {
    protocol p;
    io::from_json(j, p, "protocol");
    validate(p);
    return p;
}

} // namespace spinfire::fit
