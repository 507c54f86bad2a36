#pragma once
// 64-bit FNV-1a: the checksum of checkpoint files and the fingerprint of cached inputs.
// Not cryptographic; it detects changed and flipped bytes.
#include <cstddef>
#include <cstdint>
#include <string>

namespace spinfire {

/// 64-bit FNV-1a, fed in pieces.
struct fnv1a64 {
    std::uint64_t h = 0xcbf29ce484222325ull;
    void add(const void* p, std::size_t n) {
        const auto* b = static_cast<const unsigned char*>(p);
        for (std::size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 0x100000001b3ull;
    }
    void add(const std::string& s) { add(s.data(), s.size() + 1); } // with its terminator
    /// The hash as 16 hex digits.
    std::string hex() const {
        static constexpr char digits[] = "0123456789abcdef";
        std::string s(16, '0');
        for (int i = 0; i < 16; ++i) s[std::size_t(i)] = digits[(h >> (60 - 4 * i)) & 0xf];
        return s;
    }
};

} // namespace spinfire
