#pragma once
// Bytes for results that travel between ranks: arithmetic values, enums and strings, and
// Hana structs field by field. Values are copied bit for bit (ranks run the same binary on
// the same architecture), so a gathered result equals the one computed in place.
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>

#include "spinfire/core/error.hpp"
#include "spinfire/core/reflect.hpp"

namespace spinfire::dist {

class packer {
public:
    template <class T>
    packer& operator<<(const T& v) {
        if constexpr (std::is_same_v<T, std::string>) {
            *this << std::uint64_t(v.size());
            bytes_.append(v);
        } else if constexpr (reflect::reflectable<T>) {
            reflect::for_each_field(v, [&](const char*, const auto& f) { *this << f; });
        } else {
            static_assert(std::is_arithmetic_v<T> || std::is_enum_v<T>, "no packing for this type");
            bytes_.append(reinterpret_cast<const char*>(&v), sizeof v);
        }
        return *this;
    }
    const std::string& bytes() const { return bytes_; }

private:
    std::string bytes_;
};

class unpacker {
public:
    explicit unpacker(const std::string& bytes) : b_(bytes) {}
    template <class T>
    unpacker& operator>>(T& v) {
        if constexpr (std::is_same_v<T, std::string>) {
            std::uint64_t n = 0;
            *this >> n;
            need(n);
            v.assign(b_, pos_, std::size_t(n));
            pos_ += std::size_t(n);
        } else if constexpr (reflect::reflectable<T>) {
            reflect::for_each_field(v, [&](const char*, auto& f) { *this >> f; });
        } else {
            static_assert(std::is_arithmetic_v<T> || std::is_enum_v<T>, "no packing for this type");
            need(sizeof v);
            std::memcpy(&v, b_.data() + pos_, sizeof v);
            pos_ += sizeof v;
        }
        return *this;
    }
    bool done() const { return pos_ == b_.size(); }

private:
    void need(std::uint64_t n) const {
        if (n > b_.size() - pos_)
            throw error("dist::unpacker: message truncated (" + std::to_string(n) +
                        " bytes needed, " + std::to_string(b_.size() - pos_) + " left)");
    }
    const std::string& b_;
    std::size_t pos_ = 0;
};

} // namespace spinfire::dist
