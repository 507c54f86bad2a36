#pragma once
// Whole-file reads with errors that name the file: the readers parse from memory so every
// size can be checked before a byte is interpreted, and nothing is read past the end.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "spinfire/core/error.hpp"
#include "spinfire/core/hash.hpp"

namespace spinfire::data {

/// The bytes of a file; data_error when it is missing, not a regular file or unreadable.
inline std::vector<std::uint8_t> read_file_bytes(const std::filesystem::path& file) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::is_regular_file(file, ec)) throw data_error(file.string(), "no such file");
    const auto size = fs::file_size(file, ec);
    if (ec) throw data_error(file.string(), "cannot stat: " + ec.message());
    std::ifstream is(file, std::ios::binary);
    if (!is) throw data_error(file.string(), "cannot open for reading");
    std::vector<std::uint8_t> bytes(size);
    if (size > 0) is.read(reinterpret_cast<char*>(bytes.data()), std::streamsize(size));
    if (std::uint64_t(is.gcount()) != size)
        throw data_error(file.string(), std::uint64_t(is.gcount()),
                         "read ended early: file shrank while being read");
    return bytes;
}

/// A fingerprint of files' identities: path, size and modification time (ns) of each, in
/// order. A cache keyed by it is rebuilt when any file is replaced, grown, shrunk or
/// rewritten in place (which moves its modification time), without reading the files.
template <class Paths>
std::string files_fingerprint(const Paths& files) {
    namespace fs = std::filesystem;
    fnv1a64 h;
    for (const fs::path& f : files) {
        std::error_code ec;
        const auto size = std::uint64_t(fs::file_size(f, ec));
        if (ec) throw data_error(f.string(), "cannot stat: " + ec.message());
        const auto mtime = std::int64_t(fs::last_write_time(f, ec).time_since_epoch().count());
        if (ec) throw data_error(f.string(), "cannot stat: " + ec.message());
        h.add(f.string());
        h.add(&size, sizeof size);
        h.add(&mtime, sizeof mtime);
    }
    return h.hex();
}

namespace detail {
inline std::uint32_t load_be32(const std::uint8_t* p) {
    return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) |
           std::uint32_t(p[3]);
}
inline void store_be32(std::uint8_t* p, std::uint32_t v) {
    p[0] = std::uint8_t(v >> 24);
    p[1] = std::uint8_t(v >> 16);
    p[2] = std::uint8_t(v >> 8);
    p[3] = std::uint8_t(v);
}
} // namespace detail

} // namespace spinfire::data
