#pragma once
// Binary checkpoints of parameters, buffers and optimizer state, written atomically, for
// exact resume. Layout (little-endian): "SPFNNCK1", u64 user step, u64 optimizer steps,
// u64 record count, then per record: u32 name length, name, u64 count, count f32 values.
// Loading matches records by name and size and rejects anything missing, extra or short.
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "spinfire/core/error.hpp"
#include "spinfire/io/atomic_file.hpp"
#include "spinfire/nn/parameter.hpp"

namespace spinfire::nn {

namespace detail {
inline constexpr char checkpoint_magic[8] = {'S', 'P', 'F', 'N', 'N', 'C', 'K', '1'};

template <class Net, class Opt, class F>
void checkpoint_records(Net& net, Opt* opt, F&& f) {
    net.visit_parameters([&](const std::string& n, parameter& p) {
        f("param." + n, p.value.data(), p.size());
    });
    net.visit_buffers([&](const std::string& n, buffer& b) {
        f("buffer." + n, b.value.data(), b.value.size());
    });
    if (opt)
        opt->visit_state([&](const std::string& n, std::vector<float>& v) {
            f("opt." + n, v.data(), v.size());
        });
}
} // namespace detail

struct no_optimizer {
    template <class F>
    void visit_state(F&&) {}
    std::uint64_t& step_counter() { return steps; }
    std::uint64_t steps = 0;
};

/// Saves net (and opt when given) with a user step counter (e.g. the epoch or iteration).
template <class Net, class Opt = no_optimizer>
void save_checkpoint(const std::string& path, Net& net, Opt* opt = nullptr,
                     std::uint64_t user_step = 0) {
    std::vector<std::pair<std::string, std::vector<float>>> recs;
    detail::checkpoint_records(net, opt, [&](const std::string& n, const float* p, std::size_t c) {
        recs.emplace_back(n, std::vector<float>(p, p + c));
    });
    io::write_atomically(
        path,
        [&](std::ostream& os) {
            auto u64 = [&](std::uint64_t v) { os.write(reinterpret_cast<const char*>(&v), 8); };
            os.write(detail::checkpoint_magic, 8);
            u64(user_step);
            u64(opt ? opt->step_counter() : 0);
            u64(recs.size());
            for (const auto& [n, v] : recs) {
                const std::uint32_t len = std::uint32_t(n.size());
                os.write(reinterpret_cast<const char*>(&len), 4);
                os.write(n.data(), std::streamsize(n.size()));
                u64(v.size());
                os.write(reinterpret_cast<const char*>(v.data()), std::streamsize(4 * v.size()));
            }
        },
        true);
}

/// Loads a checkpoint written by save_checkpoint for the same architecture; returns the
/// user step. Without opt, optimizer records are skipped. Throws data_error naming the file and offset on any mismatch.
template <class Net, class Opt = no_optimizer>
std::uint64_t load_checkpoint(const std::string& path, Net& net, Opt* opt = nullptr) {
    std::ifstream is(path, std::ios::binary);
    if (!is) throw data_error(path, "cannot open checkpoint");
    auto read = [&](void* p, std::size_t n, const char* what) {
        const auto at = std::uint64_t(is.tellg());
        if (!is.read(static_cast<char*>(p), std::streamsize(n)))
            throw data_error(path, at, std::string("truncated while reading ") + what);
    };
    char magic[8];
    read(magic, 8, "magic");
    if (std::memcmp(magic, detail::checkpoint_magic, 8) != 0)
        throw data_error(path, 0, "not a spinfire nn checkpoint (bad magic)");
    std::uint64_t user_step = 0, opt_steps = 0, count = 0;
    read(&user_step, 8, "step");
    read(&opt_steps, 8, "optimizer steps");
    read(&count, 8, "record count");
    std::map<std::string, std::pair<std::uint64_t, std::vector<float>>> recs;
    for (std::uint64_t r = 0; r < count; ++r) {
        const auto at = std::uint64_t(is.tellg());
        std::uint32_t len = 0;
        read(&len, 4, "record name length");
        if (len > 4096) throw data_error(path, at, "record name length " + std::to_string(len));
        std::string name(len, '\0');
        read(name.data(), len, "record name");
        std::uint64_t n = 0;
        read(&n, 8, "record size");
        if (n > (std::uint64_t(1) << 34)) throw data_error(path, at, "record '" + name + "' too large");
        std::vector<float> v(n);
        read(v.data(), 4 * n, ("record '" + name + "'").c_str());
        recs.emplace(name, std::pair{at, std::move(v)});
    }
    std::size_t used = 0;
    detail::checkpoint_records(net, opt, [&](const std::string& n, float* p, std::size_t c) {
        auto it = recs.find(n);
        if (it == recs.end()) throw data_error(path, "missing record '" + n + "'");
        if (it->second.second.size() != c)
            throw data_error(path, it->second.first,
                             "record '" + n + "' has " + std::to_string(it->second.second.size()) +
                                 " values, the network expects " + std::to_string(c));
        std::memcpy(p, it->second.second.data(), 4 * c);
        ++used;
    });
    if (!opt)
        for (const auto& r : recs) used += r.first.rfind("opt.", 0) == 0; // eval-only load
    if (used != recs.size())
        throw data_error(path, "checkpoint has " + std::to_string(recs.size() - used) +
                                   " records this network/optimizer does not have");
    net.visit_parameters([](const std::string&, parameter& p) { p.touch(); });
    if (opt) opt->step_counter() = opt_steps;
    return user_step;
}

} // namespace spinfire::nn
