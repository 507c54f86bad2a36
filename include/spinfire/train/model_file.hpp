#pragma once
// Model files: what a trained network needs for inference and nothing else. The weights and
// statistics (the EMA average where the run kept one), no optimizer state, and in the same
// file what they are: network, neuron, T, precision, input scaling, and the test accuracy
// the run recorded with the conditions it was measured under. The container is the
// checkpoint format (nn/checkpoint.hpp: hash-verified, every value finite); its metadata is
// this JSON with "format": "spinfire.model.v1". --evaluate takes a model file or a checkpoint.
#include <optional>
#include <string>

#include "spinfire/io/json.hpp"
#include "spinfire/nn/checkpoint.hpp"

namespace spinfire::train {

inline constexpr const char* model_format = "spinfire.model.v1";

/// The instruction set this build targets, as far as it changes results: the activation
/// layout and oneDNN's kernels follow it, and with them the order of float sums. A model's
/// recorded accuracy is reproduced bit for bit by a build for the same one.
constexpr const char* build_isa() {
#if defined(__AVX512F__)
    return "avx512";
#elif defined(__AVX2__)
    return "avx2";
#else
    return "baseline";
#endif
}

/// Writes net's parameters and buffers with `meta` (its "format" set) to path, atomically.
template <class Net>
void save_model(const std::string& path, Net& net, io::json meta) {
    meta["format"] = model_format;
    nn::save_checkpoint(path, net, static_cast<nn::no_optimizer*>(nullptr), 0, meta.dump());
}

/// The metadata of a model file; nullopt for a training checkpoint (other or no metadata).
inline std::optional<io::json> model_metadata(const nn::checkpoint_contents& ck) {
    if (ck.metadata.empty()) return std::nullopt;
    io::json m = io::json::parse(ck.metadata, nullptr, false); // discarded, not thrown
    if (!m.is_object() || !m.contains("format") || m["format"] != model_format) return std::nullopt;
    return m;
}

/// Reads and verifies path; its model metadata, or nullopt when it is a training checkpoint.
inline std::optional<io::json> read_model_metadata(const std::string& path) {
    return model_metadata(nn::read_checkpoint(path));
}

} // namespace spinfire::train
