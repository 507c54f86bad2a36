#pragma once
// N-MNIST's 5-byte event records (ATIS sensor, 34x34): byte0 = x, byte1 = y, byte2 bit 7 =
// polarity, then a 23-bit timestamp in us (byte2 bits 6..0, byte3, byte4), big-endian.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "spinfire/core/error.hpp"
#include "spinfire/data/events.hpp"
#include "spinfire/data/file_bytes.hpp"
#include "spinfire/io/atomic_file.hpp"

namespace spinfire::data {

inline constexpr std::size_t nmnist_side = 34;
inline constexpr std::size_t nmnist_record_bytes = 5;

/// Parses N-MNIST bytes; a partial record, coordinates outside the sensor (width x height,
/// 34x34 by default) or a timestamp going backwards is a data_error with the byte offset.
inline event_stream parse_nmnist(std::span<const std::uint8_t> bytes, const std::string& name,
                                 std::size_t width = nmnist_side,
                                 std::size_t height = nmnist_side) {
    const std::size_t n = bytes.size();
    if (n % nmnist_record_bytes != 0)
        throw data_error(name, n / nmnist_record_bytes * nmnist_record_bytes,
                         std::string("truncated record: ") + std::to_string(n % nmnist_record_bytes) +
                             " bytes after the last whole 5-byte event");
    event_stream s;
    s.width = width;
    s.height = height;
    s.events.resize(n / nmnist_record_bytes);
    std::int64_t last_t = -1;
    for (std::size_t i = 0; i < s.events.size(); ++i) {
        const std::uint8_t* r = bytes.data() + i * nmnist_record_bytes;
        event& e = s.events[i];
        e.x = r[0];
        e.y = r[1];
        e.p = std::uint8_t(r[2] >> 7);
        e.t = (std::int64_t(r[2] & 0x7F) << 16) | (std::int64_t(r[3]) << 8) | r[4];
        if (e.x >= width || e.y >= height)
            throw data_error(name, i * nmnist_record_bytes,
                             std::string("event (") + std::to_string(e.x) + std::string(", ") + std::to_string(e.y) +
                                 std::string(") lies outside the ") + std::to_string(width) + "x" +
                                 std::to_string(height) + " sensor");
        if (e.t < last_t)
            throw data_error(name, i * nmnist_record_bytes + 2,
                             std::string("timestamp goes backwards: ") + std::to_string(e.t) + " us after " +
                                 std::to_string(last_t) + " us");
        last_t = e.t;
    }
    return s;
}

inline event_stream read_nmnist(const std::filesystem::path& file,
                                std::size_t width = nmnist_side, std::size_t height = nmnist_side) {
    const std::vector<std::uint8_t> bytes = read_file_bytes(file);
    return parse_nmnist(bytes, file.string(), width, height);
}

/// The 5-byte records of s (x, y < 256, p <= 1, t < 2^23 and non-decreasing).
inline std::vector<std::uint8_t> format_nmnist(const event_stream& s) {
    std::vector<std::uint8_t> out(s.events.size() * nmnist_record_bytes);
    std::int64_t last_t = 0;
    for (std::size_t i = 0; i < s.events.size(); ++i) {
        const event& e = s.events[i];
        if (e.x > 255 || e.y > 255 || e.p > 1 || e.t < last_t || e.t >= (std::int64_t(1) << 23))
            throw parameter_error("events", std::string("event ") + std::to_string(i) +
                                                " does not fit the N-MNIST record (x, y < 256, "
                                                "p <= 1, 23-bit non-decreasing time)");
        last_t = e.t;
        std::uint8_t* r = out.data() + i * nmnist_record_bytes;
        r[0] = std::uint8_t(e.x);
        r[1] = std::uint8_t(e.y);
        r[2] = std::uint8_t((std::uint32_t(e.p) << 7) | std::uint32_t(e.t >> 16));
        r[3] = std::uint8_t(e.t >> 8);
        r[4] = std::uint8_t(e.t);
    }
    return out;
}

inline void write_nmnist(const std::filesystem::path& file, const event_stream& s) {
    const std::vector<std::uint8_t> bytes = format_nmnist(s);
    io::write_atomically(
        file.string(),
        [&](std::ostream& os) {
            os.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
        },
        true);
}

} // namespace spinfire::data
