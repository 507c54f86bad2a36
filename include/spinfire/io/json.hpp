#pragma once
// JSON for reflected parameter structs: to_json writes every field by name; from_json
// accepts a subset (missing keys keep their defaults) and rejects unknown keys and wrong
// types with a spinfire::error naming the key path. Files are written atomically.
#include <array>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>

#include "spinfire/core/error.hpp"
#include "spinfire/core/reflect.hpp"
#include "spinfire/core/vec3.hpp"
#include "spinfire/io/atomic_file.hpp"

namespace spinfire::io {

using json = nlohmann::json;

namespace detail {
template <class T>
struct is_std_array : std::false_type {};
template <class T, std::size_t N>
struct is_std_array<std::array<T, N>> : std::true_type {};
} // namespace detail

template <class T>
json to_json(const T& v) {
    if constexpr (reflect::reflectable<T>) {
        json j = json::object();
        reflect::for_each_field(v, [&](const char* name, const auto& f) { j[name] = to_json(f); });
        return j;
    } else if constexpr (std::is_same_v<T, vec3<double>> || std::is_same_v<T, vec3<float>>) {
        return json::array({v.x, v.y, v.z});
    } else if constexpr (std::is_enum_v<T>) {
        return json(enum_name(v)); // found by ADL in the enum's namespace
    } else if constexpr (detail::is_std_array<T>::value) {
        json j = json::array();
        for (const auto& e : v) j.push_back(to_json(e));
        return j;
    } else {
        return json(v);
    }
}

/// Enums take part by providing, in their namespace, `const char* enum_name(E)` and
/// `E parse_enum(const std::string& name, E*, const std::string& where)`.
/// Reads j into v; path names the location for error messages ("device.free_layer.Ms").
template <class T>
void from_json(const json& j, T& v, const std::string& path = "") {
    const std::string where = path.empty() ? "<root>" : path;
    if constexpr (reflect::reflectable<T>) {
        if (!j.is_object()) throw error("JSON '" + where + "': expected an object");
        std::size_t matched = 0;
        reflect::for_each_field(v, [&](const char* name, auto& f) {
            auto it = j.find(name);
            if (it == j.end()) return;
            ++matched;
            from_json(*it, f, path.empty() ? std::string(name) : path + "." + name);
        });
        if (matched != j.size()) {
            const auto known = reflect::field_names<T>();
            for (auto it = j.begin(); it != j.end(); ++it) {
                bool ok = false;
                for (const auto& k : known) ok = ok || k == it.key();
                if (!ok) {
                    std::string list;
                    for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
                    throw error("JSON '" + where + "': unknown key '" + it.key() +
                                "' (known: " + list + ")");
                }
            }
        }
    } else if constexpr (std::is_same_v<T, vec3<double>> || std::is_same_v<T, vec3<float>>) {
        if (!j.is_array() || j.size() != 3)
            throw error("JSON '" + where + "': expected an array of 3 numbers");
        from_json(j[0], v.x, where + "[0]");
        from_json(j[1], v.y, where + "[1]");
        from_json(j[2], v.z, where + "[2]");
    } else if constexpr (detail::is_std_array<T>::value) {
        if (!j.is_array() || j.size() != v.size())
            throw error("JSON '" + where + "': expected an array of " + std::to_string(v.size()));
        for (std::size_t i = 0; i < v.size(); ++i)
            from_json(j[i], v[i], where + "[" + std::to_string(i) + "]");
    } else if constexpr (std::is_same_v<T, bool>) {
        if (!j.is_boolean()) throw error("JSON '" + where + "': expected true or false");
        v = j.get<bool>();
    } else if constexpr (std::is_arithmetic_v<T>) {
        if (!j.is_number()) throw error("JSON '" + where + "': expected a number");
        if constexpr (std::is_integral_v<T>) {
            if (!j.is_number_integer()) throw error("JSON '" + where + "': expected an integer");
        }
        v = j.get<T>();
    } else if constexpr (std::is_enum_v<T>) {
        if (!j.is_string()) throw error("JSON '" + where + "': expected a name");
        v = parse_enum(j.get<std::string>(), static_cast<T*>(nullptr), where);
    } else {
        try {
            v = j.get<T>();
        } catch (const json::exception& e) {
            throw error("JSON '" + where + "': " + e.what());
        }
    }
}

/// Reads a JSON file; parse errors name the file and byte offset.
inline json read_json_file(const std::string& file) {
    std::ifstream in(file);
    if (!in) throw data_error(file, "cannot open for reading");
    try {
        return json::parse(in);
    } catch (const json::parse_error& e) {
        throw data_error(file, e.byte, e.what());
    } catch (const json::exception& e) { // e.g. a number out of range (1e999)
        throw data_error(file, e.what());
    }
}

/// Writes pretty JSON atomically (temporary file + rename).
inline void write_json_file(const std::string& file, const json& j) {
    write_atomically(file, [&](std::ostream& os) { os << j.dump(2) << '\n'; });
}

} // namespace spinfire::io
