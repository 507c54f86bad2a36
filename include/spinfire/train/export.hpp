#pragma once
// Weights in a layout numpy loads: one .npy file (format 1.0, little-endian float32,
// C order) per parameter and buffer, plus manifest.json listing name, file, shape and kind
// in network order, the layer kinds, the neuron parameters and T:
//     m = json.load(open("manifest.json")); w = {e["name"]: np.load(e["file"]) for e in m["arrays"]}
#include <bit>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "spinfire/core/error.hpp"
#include "spinfire/io/atomic_file.hpp"
#include "spinfire/io/json.hpp"
#include "spinfire/nn/parameter.hpp"

namespace spinfire::train {

/// Writes a float32 array of the given shape as .npy (atomically).
inline void write_npy(const std::string& file, const float* data, const std::vector<std::size_t>& shape) {
    static_assert(std::endian::native == std::endian::little, "write_npy writes '<f4' data");
    std::size_t count = 1;
    std::string dims;
    for (auto d : shape) {
        count *= d;
        dims += std::to_string(d) + ", ";
    }
    if (shape.size() > 1) dims.erase(dims.size() - 2); // "(3,)" for 1-D, "(2, 3)" otherwise
    if (shape.size() == 1) dims.erase(dims.size() - 1);
    std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
    // magic (6) + version (2) + length (2) + header + '\n' is padded to a multiple of 64
    const std::size_t unpadded = 10 + header.size() + 1;
    header.append((64 - unpadded % 64) % 64, ' ');
    header += '\n';
    if (header.size() > 65535) throw parameter_error("shape", "too many dimensions for .npy 1.0");
    io::write_atomically(
        file,
        [&](std::ostream& os) {
            os.write("\x93NUMPY\x01\x00", 8);
            const auto len = std::uint16_t(header.size());
            const char l[2] = {char(len & 0xff), char(len >> 8)};
            os.write(l, 2);
            os.write(header.data(), std::streamsize(header.size()));
            os.write(reinterpret_cast<const char*>(data), std::streamsize(4 * count));
        },
        true);
}

/// File-system-safe file name for a parameter name ("3.conv2d.weight" -> "3.conv2d.weight.npy").
inline std::string npy_name(const std::string& name) {
    std::string f;
    for (char c : name) f += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-') ? c : '_';
    return f + ".npy";
}

/// Exports every parameter and buffer of net into dir; `extra` is merged into the manifest
/// (network name, neuron, T, input normalization...). Returns the manifest.
template <class Net>
io::json export_weights(Net& net, const std::string& dir, const io::json& extra = io::json::object()) {
    std::filesystem::create_directories(dir);
    io::json arrays = io::json::array();
    auto one = [&](const std::string& name, const xt::xarray<float>& v, const char* kind) {
        std::vector<std::size_t> shape(v.shape().begin(), v.shape().end());
        const std::string file = npy_name(name);
        write_npy(dir + "/" + file, v.data(), shape);
        arrays.push_back({{"name", name}, {"file", file}, {"shape", shape}, {"dtype", "float32"},
                          {"kind", kind}});
    };
    net.visit_parameters([&](const std::string& n, nn::parameter& p) { one(n, p.value, "parameter"); });
    net.visit_buffers([&](const std::string& n, nn::buffer& b) { one(n, b.value, "buffer"); });
    io::json layers = io::json::array();
    net.body().for_each([&]<std::size_t I>(auto& l) { layers.push_back(std::string(l.kind)); });
    io::json m = extra;
    m["format"] = "spinfire.weights.v1";
    m["layout"] = "conv weights [out, in, kh, kw]; linear [out, in]; C order float32";
    m["layers"] = layers;
    m["arrays"] = arrays;
    io::write_json_file(dir + "/manifest.json", m);
    return m;
}

} // namespace spinfire::train
