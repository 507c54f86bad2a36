#pragma once
// CIFAR-10 from either source a user may have: the official binary release (a directory with
// data_batch_1..5.bin, test_batch.bin) or an image-folder copy (<root>/<split>/<class>/*.jpg).
// Decoding 60k JPEGs takes a while, so an image folder can be cached once as CIFAR-10 binary
// files (keyed by the folder and the path, size and modification time of every file in it)
// and read back at disk speed.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "spinfire/core/error.hpp"
#include "spinfire/data/cifar10_binary.hpp"
#include "spinfire/data/file_bytes.hpp"
#include "spinfire/data/image_folder.hpp"
#include "spinfire/data/image_set.hpp"
#include "spinfire/io/atomic_file.hpp"

namespace spinfire::data {

struct cifar10_options {
    std::size_t max_per_class = 0;   ///< 0: every image; else the first N of each class
    std::filesystem::path cache_dir; ///< empty: no cache; used for image folders only
};

/// True when dir holds the official binary release files for split s.
inline bool is_cifar10_binary_dir(const std::filesystem::path& dir, split s) {
    for (const auto& n : cifar10_binary_names(s))
        if (!std::filesystem::is_regular_file(dir / n)) return false;
    return true;
}

/// The first max_per_class images of each class, keeping file order.
inline image_set first_per_class(const image_set& s, std::size_t max_per_class) {
    if (max_per_class == 0) return s;
    std::vector<std::size_t> count(s.class_names.size(), 0), keep;
    for (std::size_t i = 0; i < s.size(); ++i)
        if (count[std::size_t(s.labels[i])]++ < max_per_class) keep.push_back(i);
    return select(s, keep);
}

/// Loads a CIFAR-10 split from a binary-release directory or an image-folder root.
inline image_set load_cifar10(const std::filesystem::path& root, split s,
                              const cifar10_options& o = {}) {
    namespace fs = std::filesystem;
    if (is_cifar10_binary_dir(root, s))
        return first_per_class(read_cifar10_binary_dir(root, s), o.max_per_class);
    const fs::path split_dir = root / split_name(s);
    if (!fs::is_directory(split_dir))
        throw data_error(root.string(), std::string("neither a CIFAR-10 binary release (") +
                                            cifar10_binary_names(s).front() +
                                            " ...) nor an image folder with a '" + split_name(s) +
                                            "' subfolder");
    image_folder_options fo;
    fo.max_per_class = o.max_per_class;
    if (o.cache_dir.empty()) return read_image_folder(split_dir, fo);

    // The cache key: what was decoded and each file's identity. A changed file re-decodes.
    const image_file_list list = list_image_folder(split_dir, fo);
    std::ostringstream key;
    key << "spinfire cifar10 cache v1\nsource=" << fs::weakly_canonical(split_dir).string()
        << "\nfiles=" << list.files.size() << "\nbytes=" << list.total_bytes
        << "\nfingerprint=" << files_fingerprint(list.files)
        << "\nmax_per_class=" << o.max_per_class << "\n";
    const std::string stem =
        std::string("cifar10_") + split_name(s) + "_" + std::to_string(o.max_per_class);
    const fs::path bin = o.cache_dir / (stem + ".bin"), key_file = o.cache_dir / (stem + ".key");
    if (fs::is_regular_file(bin) && fs::is_regular_file(key_file)) {
        std::ifstream is(key_file);
        std::stringstream have;
        have << is.rdbuf();
        if (have.str() == key.str()) {
            image_set cached = read_cifar10_binary({bin});
            if (cached.size() == list.files.size()) return cached;
        }
    }
    image_set set = read_image_folder(split_dir, fo);
    write_cifar10_binary(bin, set);
    io::write_atomically(key_file.string(), [&](std::ostream& os) { os << key.str(); });
    return set;
}

} // namespace spinfire::data
