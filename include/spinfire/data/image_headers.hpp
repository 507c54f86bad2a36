#pragma once
// Checks an encoded image's headers before stb_image (Debian 12: git 2022-09-08) sees them,
// for the faults of that decoder that tests/fuzz/fuzz_image found.
//
// Formats. stb decodes by content, not by file name: a .jpg holding a PNM, GIF, PSD, TGA, BMP
// or HDR image went through that decoder too (the PNM header parser overflows an int on a long
// number). Only JPEG and PNG, the formats image folders hold, reach stb.
//
// JPEG Huffman tables. Debian 12's stb_image (git
// 2022-09-08) copies a DHT table's codes into 256-entry arrays without checking that its 16
// code-length counts add up to at most 256 (the JPEG limit): a 1 KB file writes up to 3.8 KB
// past them on the heap (found by tests/fuzz/fuzz_image). stb reads a DHT segment table by
// table, past the segment's end and as zeros past the file's end, wherever a 0xFF 0xC4 marker
// stands; this reads every 0xFF 0xC4 in the file the same way. Entropy-coded data never holds
// the pair (0xFF is stuffed as 0xFF 0x00 there), so only an APP or comment segment that
// happens to hold it could be refused wrongly, and only when it reads as a table over 256.
//
// PNG chunk lengths. stb grows its buffer to what an IDAT chunk declares (up to 2 GB) before
// reading it: a chunk longer than the rest of the file is refused first.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "spinfire/core/error.hpp"

namespace spinfire::data {

/// True when stb takes the bytes for a JPEG: 0xFF (0xFF...) 0xD8.
inline bool is_jpeg(std::span<const std::uint8_t> b) {
    std::size_t soi = 0;
    while (soi < b.size() && b[soi] == 0xFF) ++soi;
    return soi > 0 && soi < b.size() && b[soi] == 0xD8;
}

inline bool is_png(std::span<const std::uint8_t> b) {
    static constexpr std::uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    return b.size() >= 8 && std::equal(signature, signature + 8, b.begin());
}

/// Throws data_error (name, byte offset) on a Huffman table of more than 256 codes; leaves
/// everything else, and files that are not JPEG, to the decoder.
inline void check_jpeg_huffman_tables(std::span<const std::uint8_t> b, const std::string& name) {
    const std::size_t n = b.size();
    if (!is_jpeg(b)) return;
    auto at = [&](std::size_t i) -> std::size_t { return i < n ? b[i] : 0; };
    for (std::size_t m = 2; m + 1 < n; ++m) {
        if (b[m] != 0xFF || b[m + 1] != 0xC4) continue;
        long left = long(at(m + 2) << 8 | at(m + 3)) - 2; // bytes of tables the length gives
        for (std::size_t t = m + 4; left > 0;) {          // each: class/id byte, 16 counts, codes
            std::size_t codes = 0;
            for (std::size_t i = 1; i <= 16; ++i) codes += at(t + i);
            if (codes > 256)
                throw data_error(name, t,
                                 "corrupt JPEG: a Huffman table declares " + std::to_string(codes) +
                                     " codes (at most 256)");
            t += 17 + codes;
            left -= long(17 + codes);
        }
    }
}

/// Throws data_error (name, byte offset) on a PNG chunk that declares more bytes than the file
/// has left; leaves everything else, and files that are not PNG, to the decoder.
inline void check_png_chunks(std::span<const std::uint8_t> b, const std::string& name) {
    const std::size_t n = b.size();
    if (!is_png(b)) return;
    for (std::size_t at = 8; at + 8 <= n;) {
        const std::uint64_t len = std::uint64_t(b[at]) << 24 | std::uint64_t(b[at + 1]) << 16 |
                                  std::uint64_t(b[at + 2]) << 8 | b[at + 3];
        if (len + 12 > n - at)
            throw data_error(name, at,
                             "corrupt PNG: a chunk declares " + std::to_string(len) +
                                 " bytes, the file has " + std::to_string(n - at) + " left");
        at += 12 + len; // length, type, data, CRC
    }
}

/// What decode_image runs before handing bytes to stb: JPEG or PNG, and their checks.
inline void check_image_headers(std::span<const std::uint8_t> b, const std::string& name) {
    if (!is_jpeg(b) && !is_png(b))
        throw data_error(name, 0, "neither a JPEG nor a PNG image (by its first bytes)");
    check_jpeg_huffman_tables(b, name);
    check_png_chunks(b, name);
}

} // namespace spinfire::data
