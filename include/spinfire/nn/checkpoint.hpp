#pragma once
// Binary checkpoints of parameters, buffers and optimizer state, written atomically, for
// exact resume. Layout (little-endian): "SPFNNCK2", u64 user step, u64 optimizer steps,
// u64 record count, then per record (in name order): u32 name length, name, u64 count, count f32
// values; then u64 metadata length and that many bytes (a caller's text, e.g. a trainer's state, so
// that weights and the state that names them are one file, replaced by one rename); last the
// u64 FNV-1a hash of every byte before it. "SPFNNCK1" files (no metadata, no hash) still load.
// Loading matches records by name and size and rejects anything missing, extra, short,
// declared larger than the file, failing the hash, or not finite.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "spinfire/core/error.hpp"
#include "spinfire/core/hash.hpp"
#include "spinfire/io/atomic_file.hpp"
#include "spinfire/nn/parameter.hpp"

namespace spinfire::nn {

namespace detail {
inline constexpr char checkpoint_magic_v1[8] = {'S', 'P', 'F', 'N', 'N', 'C', 'K', '1'};
inline constexpr char checkpoint_magic[8] = {'S', 'P', 'F', 'N', 'N', 'C', 'K', '2'};

template <class Net, class Opt, class F>
void checkpoint_records(Net& net, Opt* opt, F&& f) {
    net.visit_parameters(
        [&](const std::string& n, parameter& p) { f("param." + n, p.value.data(), p.size()); });
    net.visit_buffers(
        [&](const std::string& n, buffer& b) { f("buffer." + n, b.value.data(), b.value.size()); });
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

/// What a checkpoint file holds, read and verified (sizes against the file, hash, finite
/// values) but not yet applied to a network.
struct checkpoint_contents {
    std::string path;
    std::uint64_t user_step = 0, optimizer_steps = 0;
    std::map<std::string, std::pair<std::uint64_t, std::vector<float>>> records; ///< offset, values
    std::string metadata; ///< empty for a version-1 file
};

/// Reads and verifies a file written by save_checkpoint. Throws data_error naming the file
/// and offset when it is truncated, declares more than it holds, fails its hash or holds a
/// value that is not finite.
inline checkpoint_contents read_checkpoint(const std::string& path) {
    std::ifstream is(path, std::ios::binary);
    if (!is) throw data_error(path, "cannot open checkpoint");
    is.seekg(0, std::ios::end);
    const auto file_size = std::uint64_t(is.tellg());
    is.seekg(0);
    fnv1a64 hash;
    std::uint64_t at = 0; // offset of the next byte
    auto read = [&](void* p, std::size_t n, const std::string& what) {
        if (n > file_size - at || !is.read(static_cast<char*>(p), std::streamsize(n)))
            throw data_error(path, at, "truncated while reading " + what);
        hash.add(p, n);
        at += n;
    };
    checkpoint_contents ck;
    ck.path = path;
    char magic[8];
    read(magic, 8, "magic");
    const bool v1 = std::memcmp(magic, detail::checkpoint_magic_v1, 8) == 0;
    if (!v1 && std::memcmp(magic, detail::checkpoint_magic, 8) != 0)
        throw data_error(path, 0, "not a spinfire nn checkpoint (bad magic)");
    std::uint64_t count = 0;
    read(&ck.user_step, 8, "step");
    read(&ck.optimizer_steps, 8, "optimizer steps");
    read(&count, 8, "record count");
    if (count > (file_size - at) / 12) // a record is at least 12 bytes
        throw data_error(path, at - 8,
                         "record count " + std::to_string(count) + " exceeds what the file's " +
                             std::to_string(file_size) + " bytes can hold");
    for (std::uint64_t r = 0; r < count; ++r) {
        const std::uint64_t rec_at = at;
        std::uint32_t len = 0;
        read(&len, 4, "record name length");
        if (len > 4096 || len > file_size - at)
            throw data_error(path, rec_at,
                             "record name length " + std::to_string(len) +
                                 " exceeds the file or the 4096-byte limit");
        std::string name(len, '\0');
        read(name.data(), len, "record name");
        std::uint64_t n = 0;
        read(&n, 8, "size of record '" + name + "'");
        if (n > (file_size - at) / 4) // checked before allocating: the values must be in the file
            throw data_error(path, at - 8,
                             "record '" + name + "' declares " + std::to_string(n) +
                                 " values, more than the " + std::to_string(file_size - at) +
                                 " bytes left in the file");
        std::vector<float> v(n);
        read(v.data(), 4 * n, "record '" + name + "'");
        if (!ck.records.emplace(name, std::pair{rec_at, std::move(v)}).second)
            throw data_error(path, rec_at, "record '" + name + "' appears twice");
    }
    if (!v1) {
        std::uint64_t meta_len = 0;
        read(&meta_len, 8, "metadata length");
        if (meta_len > file_size - at)
            throw data_error(path, at - 8,
                             "metadata length " + std::to_string(meta_len) + " exceeds the file");
        ck.metadata.resize(meta_len);
        read(ck.metadata.data(), meta_len, "metadata");
        const std::uint64_t expect = hash.h;
        std::uint64_t stored = 0;
        read(&stored, 8, "hash");
        if (stored != expect)
            throw data_error(path, at - 8,
                             "hash mismatch: the file is corrupt (a changed or flipped byte)");
    }
    if (at != file_size)
        throw data_error(path, at,
                         std::to_string(file_size - at) + " unexpected bytes after the end");
    for (const auto& [name, rec] : ck.records)
        for (std::size_t i = 0; i < rec.second.size(); ++i)
            if (!std::isfinite(rec.second[i]))
                throw data_error(path, rec.first,
                                 "record '" + name + "' value " + std::to_string(i) +
                                     " is not finite (" + spinfire::detail::num(rec.second[i]) +
                                     ")");
    return ck;
}

/// Writes ck atomically in the current format (records in name order, metadata, hash).
inline void write_checkpoint(const std::string& path, const checkpoint_contents& ck) {
    io::write_atomically(
        path,
        [&](std::ostream& os) {
            fnv1a64 hash;
            auto put = [&](const void* p, std::size_t n) {
                hash.add(p, n);
                os.write(static_cast<const char*>(p), std::streamsize(n));
            };
            auto u64 = [&](std::uint64_t v) { put(&v, 8); };
            put(detail::checkpoint_magic, 8);
            u64(ck.user_step);
            u64(ck.optimizer_steps);
            u64(ck.records.size());
            for (const auto& [n, rec] : ck.records) {
                const std::uint32_t len = std::uint32_t(n.size());
                put(&len, 4);
                put(n.data(), n.size());
                u64(rec.second.size());
                put(rec.second.data(), 4 * rec.second.size());
            }
            u64(ck.metadata.size());
            put(ck.metadata.data(), ck.metadata.size());
            const std::uint64_t h = hash.h;
            os.write(reinterpret_cast<const char*>(&h), 8);
        },
        true);
}

/// Saves net (and opt when given) with a user step counter (e.g. the epoch or iteration)
/// and metadata stored in the same file.
template <class Net, class Opt = no_optimizer>
void save_checkpoint(const std::string& path, Net& net, Opt* opt = nullptr,
                     std::uint64_t user_step = 0, std::string metadata = {}) {
    checkpoint_contents ck;
    ck.user_step = user_step;
    ck.optimizer_steps = opt ? opt->step_counter() : 0;
    ck.metadata = std::move(metadata);
    detail::checkpoint_records(net, opt, [&](const std::string& n, const float* p, std::size_t c) {
        ck.records.emplace(n, std::pair{std::uint64_t(0), std::vector<float>(p, p + c)});
    });
    write_checkpoint(path, ck);
}

/// Copies a verified checkpoint into net (and opt when given, else optimizer records are
/// skipped) for the same architecture; returns the user step. Throws data_error naming the
/// file on a missing, extra or differently sized record.
template <class Net, class Opt = no_optimizer>
std::uint64_t apply_checkpoint(const checkpoint_contents& ck, Net& net, Opt* opt = nullptr) {
    const std::string& path = ck.path;
    std::size_t used = 0;
    detail::checkpoint_records(net, opt, [&](const std::string& n, float* p, std::size_t c) {
        auto it = ck.records.find(n);
        if (it == ck.records.end()) throw data_error(path, "missing record '" + n + "'");
        if (it->second.second.size() != c)
            throw data_error(path, it->second.first,
                             "record '" + n + "' has " + std::to_string(it->second.second.size()) +
                                 " values, the network expects " + std::to_string(c));
        std::memcpy(p, it->second.second.data(), 4 * c);
        ++used;
    });
    if (!opt)
        for (const auto& r : ck.records) used += r.first.rfind("opt.", 0) == 0; // eval-only load
    if (used != ck.records.size())
        throw data_error(path, "checkpoint has " + std::to_string(ck.records.size() - used) +
                                   " records this network/optimizer does not have");
    net.visit_parameters([](const std::string&, parameter& p) { p.touch(); });
    if (opt) opt->step_counter() = ck.optimizer_steps;
    return ck.user_step;
}

/// read_checkpoint then apply_checkpoint; metadata, when given, receives the saved metadata.
template <class Net, class Opt = no_optimizer>
std::uint64_t load_checkpoint(const std::string& path, Net& net, Opt* opt = nullptr,
                              std::string* metadata = nullptr) {
    const checkpoint_contents ck = read_checkpoint(path);
    const std::uint64_t step = apply_checkpoint(ck, net, opt);
    if (metadata) *metadata = ck.metadata;
    return step;
}

} // namespace spinfire::nn
