#pragma once
// CIFAR10-DVS on disk: <root>/<class>/cifar10_<class>_<i>.aedat for the ten CIFAR-10 classes.
// There is no official split; two are offered: per class, the last tenth by recording index
// is test (9:1, deterministic), or indices 0-699 train / 700-999 test (TET's). Decoded frames
// go to a binary cache keyed by the source files (path, size and modification time of each)
// and the frame options, so later epochs and runs read frames instead of events.
#include "spinfire/core/intrinsics.hpp" // first: TBB includes <immintrin.h> as well

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include <oneapi/tbb/parallel_for.h>
#include "spinfire/core/xtensor.hpp"

#include "spinfire/core/error.hpp"
#include "spinfire/data/aedat.hpp"
#include "spinfire/data/cifar10_binary.hpp"
#include "spinfire/data/file_bytes.hpp"
#include "spinfire/data/frame_source.hpp"
#include "spinfire/data/frames.hpp"
#include "spinfire/io/atomic_file.hpp"

namespace spinfire::data {

enum class dvs_split_rule {
    per_class_9_1, ///< per class, sorted by index: the last ceil(n / 10) recordings are test
    index_700,     ///< index 0-699 train, 700 and above test
    all_test       ///< every recording is test, none train (a held-out evaluation set)
};

struct dvs_dataset_options {
    frame_options frames{};
    dvs_split_rule rule = dvs_split_rule::per_class_9_1;
    aedat_options aedat{};
    std::size_t max_per_class = 0;   ///< 0: all; else the first N of the split per class
    std::filesystem::path cache_dir; ///< empty: no frame cache
};

struct dvs_file {
    std::filesystem::path path;
    std::int32_t label = 0;
    std::size_t index = 0; ///< the <i> of cifar10_<class>_<i>.aedat
};

namespace detail {
/// Parses "cifar10_<class>_<i>.aedat"; false when the name does not have that form.
inline bool parse_dvs_name(const std::string& name, const std::string& cls, std::size_t& index) {
    const std::string prefix = "cifar10_" + cls + "_", suffix = ".aedat";
    if (name.size() <= prefix.size() + suffix.size() ||
        name.compare(0, prefix.size(), prefix) != 0 ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
        return false;
    const std::string digits =
        name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
    if (digits.empty() || digits.size() > 9 ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return false;
    index = std::stoul(digits);
    return true;
}
} // namespace detail

/// The recordings of a split, by class then index. Strict: a missing class folder, an unknown
/// folder, a file not named cifar10_<class>_<i>.aedat, a repeated index or an empty class is
/// a data_error. Plain files at the root (README, metadata) are allowed.
inline std::vector<dvs_file> list_cifar10_dvs(const std::filesystem::path& root, split s,
                                              dvs_split_rule rule, std::size_t max_per_class = 0) {
    namespace fs = std::filesystem;
    if (!fs::is_directory(root)) throw data_error(root.string(), "no such CIFAR10-DVS directory");
    for (const auto& entry : fs::directory_iterator(root)) {
        if (!entry.is_directory()) continue;
        const std::string name = entry.path().filename().string();
        if (std::find(cifar10_classes.begin(), cifar10_classes.end(), name) ==
            cifar10_classes.end())
            throw data_error(entry.path().string(), "unexpected folder: not a CIFAR-10 class");
    }
    std::vector<dvs_file> out;
    for (std::size_t label = 0; label < cifar10_classes.size(); ++label) {
        const std::string& cls = cifar10_classes[label];
        const fs::path dir = root / cls;
        if (!fs::is_directory(dir)) throw data_error(dir.string(), "missing class folder");
        std::vector<dvs_file> files;
        for (const auto& entry : fs::directory_iterator(dir)) {
            dvs_file f;
            if (!entry.is_regular_file() ||
                !detail::parse_dvs_name(entry.path().filename().string(), cls, f.index))
                throw data_error(entry.path().string(),
                                 "unexpected entry: expected cifar10_" + cls + "_<i>.aedat");
            f.path = entry.path();
            f.label = std::int32_t(label);
            files.push_back(std::move(f));
        }
        if (files.empty()) throw data_error(dir.string(), "class folder holds no recordings");
        std::sort(files.begin(), files.end(),
                  [](const dvs_file& a, const dvs_file& b) { return a.index < b.index; });
        for (std::size_t k = 1; k < files.size(); ++k)
            if (files[k].index == files[k - 1].index)
                throw data_error(files[k].path.string(),
                                 "repeats recording index " + std::to_string(files[k].index));
        std::vector<dvs_file> part;
        if (rule == dvs_split_rule::per_class_9_1) {
            const std::size_t n_test = (files.size() + 9) / 10, n_train = files.size() - n_test;
            if (s == split::train)
                part.assign(files.begin(), files.begin() + std::ptrdiff_t(n_train));
            else
                part.assign(files.begin() + std::ptrdiff_t(n_train), files.end());
        } else if (rule == dvs_split_rule::index_700) {
            for (auto& f : files)
                if ((f.index < 700) == (s == split::train)) part.push_back(f);
        } else if (s == split::test) {
            part = files;
        }
        if (max_per_class > 0 && part.size() > max_per_class) part.resize(max_per_class);
        out.insert(out.end(), part.begin(), part.end());
    }
    return out;
}

namespace detail {
inline constexpr char frames_magic[] = "SPINFIRE-FRAMES-1\n";

inline std::string frames_cache_key(const std::vector<dvs_file>& files,
                                    const dvs_dataset_options& o) {
    std::ostringstream k;
    std::vector<std::filesystem::path> paths;
    for (const auto& f : files) paths.push_back(f.path);
    const auto& ax = o.aedat.axes;
    k << "files=" << files.size() << " fingerprint=" << files_fingerprint(paths) << " first="
      << (files.empty() ? "" : std::filesystem::weakly_canonical(files.front().path).string())
      << " T=" << o.frames.steps << " H=" << o.frames.height << " W=" << o.frames.width
      << " split=" << int(o.frames.split) << " axes=" << ax.swap_xy << ax.flip_x << ax.flip_y
      << ax.invert_polarity << " drop_special=" << o.aedat.drop_special_events << "\n";
    return k.str();
}

/// Reads a cache file whose key matches; false (and set untouched) when absent or stale.
/// The five dimensions it records must be [n, T, 2, H, W] of the key, and the file exactly as
/// long as they say; anything else is a data_error (a corrupt cache, never read past its end).
inline bool read_frames_cache(const std::filesystem::path& file, const std::string& key,
                              std::size_t n, const frame_options& fo, frame_set& set) {
    std::ifstream is(file, std::ios::binary);
    if (!is) return false;
    std::string line;
    if (!std::getline(is, line) || line + "\n" != frames_magic) return false;
    if (!std::getline(is, line) || line + "\n" != key) return false;
    const auto header = std::uint64_t(is.tellg());
    std::uint64_t dims[5];
    is.read(reinterpret_cast<char*>(dims), sizeof dims);
    if (!is) throw data_error(file.string(), header, "truncated frame cache header");
    const std::uint64_t want[5] = {n, fo.steps, 2, fo.height, fo.width};
    static constexpr const char* names[5] = {"recordings", "T", "polarities", "H", "W"};
    for (int d = 0; d < 5; ++d)
        if (dims[d] != want[d])
            throw data_error(file.string(), header + 8 * std::uint64_t(d),
                             std::string("corrupt frame cache: ") + names[d] + " is " +
                                 std::to_string(dims[d]) + ", its key says " +
                                 std::to_string(want[d]) + " (delete it to rebuild)");
    // the key's dimensions are checked against the file's length, so nothing here overflows
    // unless the file is larger than any disk: guard the products all the same
    const std::uint64_t sample = fo.steps * 2 * fo.height * fo.width;
    std::error_code ec;
    const std::uint64_t size = std::filesystem::file_size(file, ec);
    const std::uint64_t body = header + sizeof dims;
    if (ec || size < body || (n > 0 && sample > (size - body) / n / sizeof(float)) ||
        size - body != n * sizeof(std::int32_t) + n * sample * sizeof(float))
        throw data_error(file.string(),
                         "corrupt frame cache: " + std::to_string(size) +
                             " bytes, not the length its dimensions give (delete it to rebuild)");
    frame_set s;
    s.class_names.assign(cifar10_classes.begin(), cifar10_classes.end());
    s.labels.resize(n);
    is.read(reinterpret_cast<char*>(s.labels.data()), std::streamsize(n * sizeof(std::int32_t)));
    s.frames = xt::xtensor<float, 5>::from_shape({n, fo.steps, 2, fo.height, fo.width});
    is.read(reinterpret_cast<char*>(s.frames.data()),
            std::streamsize(s.frames.size() * sizeof(float)));
    if (!is) throw data_error(file.string(), "truncated frame cache (delete it to rebuild)");
    for (auto l : s.labels)
        if (l < 0 || l >= std::int32_t(cifar10_classes.size()))
            throw data_error(file.string(), "corrupt frame cache: label out of range");
    // frames are (area-weighted) event counts: a NaN, an infinity or a negative value is a
    // corrupt byte, not data (it would train silently on garbage)
    const float* f = s.frames.data();
    for (std::size_t i = 0; i < s.frames.size(); ++i)
        if (!(f[i] >= 0 && f[i] <= std::numeric_limits<float>::max()))
            throw data_error(file.string(), body + n * sizeof(std::int32_t) + i * sizeof(float),
                             "corrupt frame cache: frame value " + spinfire::detail::num(f[i]) +
                                 " is not a finite event count (delete it to rebuild)");
    set = std::move(s);
    return true;
}

inline void write_frames_cache(const std::filesystem::path& file, const std::string& key,
                               const frame_set& s) {
    io::write_atomically(
        file.string(),
        [&](std::ostream& os) {
            os << frames_magic << key;
            const std::uint64_t dims[5] = {s.frames.shape()[0], s.frames.shape()[1],
                                           s.frames.shape()[2], s.frames.shape()[3],
                                           s.frames.shape()[4]};
            os.write(reinterpret_cast<const char*>(dims), sizeof dims);
            os.write(reinterpret_cast<const char*>(s.labels.data()),
                     std::streamsize(s.labels.size() * sizeof(std::int32_t)));
            os.write(reinterpret_cast<const char*>(s.frames.data()),
                     std::streamsize(s.frames.size() * sizeof(float)));
        },
        true);
}
} // namespace detail

/// Decodes the recordings of a split into frames [N, T, 2, H, W] (TBB over files), or reads
/// them from the cache when one with the same key exists.
inline frame_set load_cifar10_dvs(const std::filesystem::path& root, split s,
                                  const dvs_dataset_options& o = {}) {
    detail::check_frame_options(o.frames);
    const std::vector<dvs_file> files = list_cifar10_dvs(root, s, o.rule, o.max_per_class);
    std::string key;
    std::filesystem::path cache;
    if (!o.cache_dir.empty()) {
        key = detail::frames_cache_key(files, o);
        cache = o.cache_dir / (std::string("cifar10_dvs_") + split_name(s) + "_rule" +
                               std::to_string(int(o.rule)) + "_max" +
                               std::to_string(o.max_per_class) + ".frames");
        frame_set cached;
        if (detail::read_frames_cache(cache, key, files.size(), o.frames, cached)) return cached;
    }
    frame_set set;
    set.class_names.assign(cifar10_classes.begin(), cifar10_classes.end());
    set.frames = xt::xtensor<float, 5>::from_shape(
        {files.size(), o.frames.steps, 2, o.frames.height, o.frames.width});
    set.labels.resize(files.size());
    const std::size_t sample = o.frames.steps * 2 * o.frames.height * o.frames.width;
    oneapi::tbb::parallel_for(std::size_t(0), files.size(), [&](std::size_t i) {
        const event_stream ev = read_aedat2(files[i].path, o.aedat);
        integrate_frames(ev, o.frames, set.frames.data() + i * sample);
        set.labels[i] = files[i].label;
    });
    if (!cache.empty()) detail::write_frames_cache(cache, key, set);
    return set;
}

} // namespace spinfire::data
