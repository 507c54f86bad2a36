#pragma once
// jAER AEDAT 2.0 with DVS128 addressing, the container of CIFAR10-DVS. A file is ASCII header
// lines starting with '#' (the first is "#!AER-DAT2.0"), then 8-byte records: big-endian
// uint32 address, big-endian uint32 timestamp (1 us ticks). DVS128 address bits:
// polarity = a & 1, x_raw = (a >> 1) & 0x7F, y_raw = (a >> 8) & 0x7F, bit 15 = external event.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "spinfire/core/error.hpp"
#include "spinfire/data/events.hpp"
#include "spinfire/data/file_bytes.hpp"
#include "spinfire/io/atomic_file.hpp"

namespace spinfire::data {

inline constexpr std::size_t dvs128_side = 128;

/// How raw DVS128 fields become (x, y, p). Readers disagree on axis naming; the default is
/// the widely used CIFAR10-DVS convention x = 127 - y_raw, y = 127 - x_raw, p = 1 - p_raw
/// (SpikingJelly's reader), under which objects appear upright with y pointing down.
struct dvs128_axes {
    bool swap_xy = true;         ///< x from y_raw and y from x_raw
    bool flip_x = true;          ///< x = 127 - x
    bool flip_y = true;          ///< y = 127 - y
    bool invert_polarity = true; ///< p = 1 - p_raw

    static dvs128_axes upright() { return {}; }
    /// x = x_raw, y = y_raw, p = p_raw: the address bits as they are.
    static dvs128_axes raw() { return {false, false, false, false}; }
};

struct aedat_options {
    dvs128_axes axes{};
    /// Addresses with bits set above bit 14 (external/special events, or not DVS128 data)
    /// are an error unless this is set, in which case they are dropped and counted.
    bool drop_special_events = false;
};

/// Result of parsing: the events plus what was dropped on request.
struct aedat_read_info {
    std::size_t header_bytes = 0;
    std::size_t dropped_special = 0;
};

namespace detail {
inline std::string hex32(std::uint32_t a) {
    char b[16];
    std::snprintf(b, sizeof b, "%08x", a);
    return b;
}
inline void dvs128_from_raw(std::uint32_t a, const dvs128_axes& ax, event& e) {
    std::uint16_t x = std::uint16_t((a >> 1) & 0x7Fu), y = std::uint16_t((a >> 8) & 0x7Fu);
    if (ax.swap_xy) std::swap(x, y);
    if (ax.flip_x) x = std::uint16_t(127 - x);
    if (ax.flip_y) y = std::uint16_t(127 - y);
    e.x = x;
    e.y = y;
    e.p = std::uint8_t((a & 1u) ^ (ax.invert_polarity ? 1u : 0u));
}
inline std::uint32_t dvs128_to_raw(const event& e, const dvs128_axes& ax) {
    std::uint32_t x = e.x, y = e.y;
    if (ax.flip_x) x = 127 - x;
    if (ax.flip_y) y = 127 - y;
    if (ax.swap_xy) std::swap(x, y);
    return (y << 8) | (x << 1) | (std::uint32_t(e.p) ^ (ax.invert_polarity ? 1u : 0u));
}
} // namespace detail

/// Parses AEDAT 2.0 bytes (name is used in errors). Malformed input is a data_error with the
/// byte offset: missing magic line, a header line without its newline, an odd number of
/// 32-bit words or a partial word after the header, addresses outside the DVS128 layout,
/// timestamps going backwards. Nothing past the end of bytes is read.
inline event_stream parse_aedat2(std::span<const std::uint8_t> bytes, const std::string& name,
                                 const aedat_options& o = {}, aedat_read_info* info = nullptr) {
    static constexpr char magic[] = "#!AER-DAT2.0";
    constexpr std::size_t magic_len = sizeof magic - 1;
    const std::size_t n = bytes.size();
    if (n < magic_len || std::string(bytes.begin(), bytes.begin() + magic_len) != magic)
        throw data_error(name, 0, "not an AEDAT 2.0 file: it does not start with '#!AER-DAT2.0'");
    // Header lines start with '#' and are text; so can an event whose address starts with
    // byte 0x23, but its other bytes hold a control byte (an address above bit 15 has
    // zero bits, a timestamp's high byte is 0 for the first 16 s) before any newline.
    auto text = [](std::uint8_t c) { return c >= 0x20 ? c != 0x7f : c == '\t' || c == '\r'; };
    std::size_t pos = 0;
    while (pos < n && bytes[pos] == '#') {
        std::size_t end = pos;
        while (end < n && bytes[end] != '\n' && text(bytes[end])) ++end;
        if (end < n && bytes[end] != '\n') break; // not a header line: the events start here
        if (end == n)
            throw data_error(name, pos,
                             "header line has no end: no newline before the end of the file");
        pos = end + 1;
    }
    const std::size_t body = n - pos;
    if (body % 4 != 0)
        throw data_error(name, pos + body / 4 * 4,
                         std::string("truncated record: ") + std::to_string(body % 4) +
                             " bytes after the last whole 32-bit word");
    if (body % 8 != 0)
        throw data_error(name, n - 4,
                         std::string("odd number of 32-bit words (") + std::to_string(body / 4) +
                             ") after the header: the last address has no timestamp");
    event_stream s;
    s.width = s.height = dvs128_side;
    s.events.reserve(body / 8);
    std::int64_t last_t = -1;
    std::size_t dropped = 0;
    for (std::size_t off = pos; off < n; off += 8) {
        const std::uint32_t a = detail::load_be32(bytes.data() + off);
        const std::uint32_t t = detail::load_be32(bytes.data() + off + 4);
        if (a >> 15) {
            if (!o.drop_special_events)
                throw data_error(name, off,
                                 std::string("address 0x") + detail::hex32(a) +
                                     " lies outside the DVS128 layout (x, y in 0..127, bit 15 "
                                     "external event); set drop_special_events to skip such");
            ++dropped;
            continue;
        }
        if (std::int64_t(t) < last_t)
            throw data_error(name, off + 4,
                             std::string("timestamp goes backwards: ") + std::to_string(t) +
                                 " us after " + std::to_string(last_t) + " us");
        last_t = t;
        event e;
        e.t = t;
        detail::dvs128_from_raw(a, o.axes, e);
        s.events.push_back(e);
    }
    if (info) {
        info->header_bytes = pos;
        info->dropped_special = dropped;
    }
    return s;
}

inline event_stream read_aedat2(const std::filesystem::path& file, const aedat_options& o = {},
                                aedat_read_info* info = nullptr) {
    const std::vector<std::uint8_t> bytes = read_file_bytes(file);
    return parse_aedat2(bytes, file.string(), o, info);
}

/// The bytes of an AEDAT 2.0 file holding s (128x128 DVS128 addressing, mapped with o.axes
/// inverted, so read_aedat2 with the same options gives s back exactly).
inline std::vector<std::uint8_t> format_aedat2(const event_stream& s, const aedat_options& o = {},
                                               const std::vector<std::string>& comments = {}) {
    std::string header = "#!AER-DAT2.0\r\n"
                         "# This is a raw AE data file - do not edit\r\n"
                         "# Data format is int32 address, int32 timestamp (8 bytes total), "
                         "repeated for each event\r\n"
                         "# Timestamps tick: 1 us\r\n"
                         "# AEChip: DVS128 (written by spinfire)\r\n";
    for (const auto& c : comments) {
        if (c.find('\n') != std::string::npos || c.find('\r') != std::string::npos)
            throw parameter_error("comments", "a comment must be one line");
        header += "# " + c + "\r\n";
    }
    const std::size_t pos = header.size();
    std::vector<std::uint8_t> out(pos + 8 * s.events.size());
    std::copy(header.begin(), header.end(), out.begin());
    std::int64_t last_t = 0;
    for (std::size_t i = 0; i < s.events.size(); ++i) {
        const event& e = s.events[i];
        if (e.x >= dvs128_side || e.y >= dvs128_side || e.p > 1)
            throw parameter_error("events", std::string("event ") + std::to_string(i) +
                                                " is outside the 128x128 DVS128 sensor or has "
                                                "polarity > 1");
        if (e.t < last_t || e.t > std::int64_t(UINT32_MAX))
            throw parameter_error("events", std::string("event ") + std::to_string(i) +
                                                " has a timestamp out of order or beyond 32 bits");
        last_t = e.t;
        detail::store_be32(out.data() + pos + 8 * i, detail::dvs128_to_raw(e, o.axes));
        detail::store_be32(out.data() + pos + 8 * i + 4, std::uint32_t(e.t));
    }
    return out;
}

inline void write_aedat2(const std::filesystem::path& file, const event_stream& s,
                         const aedat_options& o = {},
                         const std::vector<std::string>& comments = {}) {
    const std::vector<std::uint8_t> bytes = format_aedat2(s, o, comments);
    io::write_atomically(
        file.string(),
        [&](std::ostream& os) {
            os.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
        },
        true);
}

} // namespace spinfire::data
