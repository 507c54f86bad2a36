#pragma once
// Image-folder datasets: <split>/<class>/*.jpg|*.jpeg|*.png, decoded with stb_image in parallel.
// Strict: a missing or extra class folder, a stray file, an empty class, an undecodable image
// or one of the wrong size is a data_error naming the file; nothing is skipped silently.
#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <oneapi/tbb/parallel_for.h>
#include <stb/stb_image.h>

#include "spinfire/core/error.hpp"
#include "spinfire/data/cifar10_binary.hpp"
#include "spinfire/data/file_bytes.hpp"
#include "spinfire/data/image_set.hpp"
#include "spinfire/data/image_headers.hpp"

namespace spinfire::data {

struct image_folder_options {
    std::vector<std::string> classes;  ///< folder names in label order; empty: CIFAR-10's ten
    std::size_t max_per_class = 0;     ///< 0: every image; else the first N by file name
    std::size_t height = 32, width = 32, channels = 3; ///< every image must have this size
};

namespace detail {
inline bool is_image_name(const std::filesystem::path& p) {
    std::string ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

inline std::vector<std::string> folder_classes(const image_folder_options& o) {
    if (!o.classes.empty()) return o.classes;
    return {cifar10_classes.begin(), cifar10_classes.end()};
}

struct stbi_deleter {
    void operator()(stbi_uc* p) const { stbi_image_free(p); }
};

/// Decodes one encoded image into planar [C, H, W] bytes at dst.
inline void decode_image(const std::filesystem::path& file, const image_folder_options& o,
                         std::uint8_t* dst) {
    const std::vector<std::uint8_t> bytes = read_file_bytes(file);
    if (bytes.empty()) throw data_error(file.string(), 0, "empty image file");
    if (bytes.size() > std::size_t(INT32_MAX)) throw data_error(file.string(), "image file too large");
    check_image_headers(bytes, file.string());
    auto failure = [&] {
        return data_error(file.string(), std::string("cannot decode image: ") +
                                             (stbi_failure_reason() ? stbi_failure_reason()
                                                                    : "unknown reason"));
    };
    // The size comes from the header first: stb allocates what the header declares (a 2 KB
    // JPEG may declare 16000x16000, 768 MB), so a wrong size is refused before decoding.
    int w = 0, h = 0, c_file = 0;
    if (!stbi_info_from_memory(bytes.data(), int(bytes.size()), &w, &h, &c_file)) throw failure();
    if (std::size_t(w) != o.width || std::size_t(h) != o.height)
        throw data_error(file.string(), std::string("image is ") + std::to_string(w) + "x" +
                                            std::to_string(h) + ", expected " +
                                            std::to_string(o.width) + "x" +
                                            std::to_string(o.height));
    std::unique_ptr<stbi_uc, stbi_deleter> px(stbi_load_from_memory(
        bytes.data(), int(bytes.size()), &w, &h, &c_file, int(o.channels)));
    if (!px) throw failure();
    if (std::size_t(w) != o.width || std::size_t(h) != o.height) // the decoder disagrees
        throw data_error(file.string(), "image header and data disagree on the size");
    const std::size_t plane = o.width * o.height, C = o.channels;
    const stbi_uc* src = px.get();
    for (std::size_t c = 0; c < C; ++c)
        for (std::size_t i = 0; i < plane; ++i) dst[c * plane + i] = src[i * C + c];
}
} // namespace detail

/// The image files of a split folder with their labels, sorted by class then file name.
struct image_file_list {
    std::vector<std::filesystem::path> files;
    std::vector<std::int32_t> labels;
    std::vector<std::string> class_names;
    std::uintmax_t total_bytes = 0; ///< sum of file sizes (a cheap staleness key for caches)
};

inline image_file_list list_image_folder(const std::filesystem::path& split_dir,
                                         const image_folder_options& o = {}) {
    namespace fs = std::filesystem;
    if (!fs::is_directory(split_dir))
        throw data_error(split_dir.string(), "no such image-folder directory");
    image_file_list list;
    list.class_names = detail::folder_classes(o);
    for (const auto& entry : fs::directory_iterator(split_dir)) {
        const std::string name = entry.path().filename().string();
        if (std::find(list.class_names.begin(), list.class_names.end(), name) ==
            list.class_names.end())
            throw data_error(entry.path().string(),
                             "unexpected entry: not one of the class folders");
    }
    for (std::size_t label = 0; label < list.class_names.size(); ++label) {
        const fs::path dir = split_dir / list.class_names[label];
        if (!fs::is_directory(dir)) throw data_error(dir.string(), "missing class folder");
        std::vector<fs::path> files;
        for (const auto& entry : fs::directory_iterator(dir)) {
            if (!entry.is_regular_file() || !detail::is_image_name(entry.path()))
                throw data_error(entry.path().string(),
                                 "unexpected entry in a class folder (expected .jpg, .jpeg or "
                                 ".png files)");
            files.push_back(entry.path());
        }
        if (files.empty()) throw data_error(dir.string(), "class folder holds no images");
        std::sort(files.begin(), files.end());
        if (o.max_per_class > 0 && files.size() > o.max_per_class) files.resize(o.max_per_class);
        for (auto& f : files) {
            list.total_bytes += fs::file_size(f);
            list.files.push_back(std::move(f));
            list.labels.push_back(std::int32_t(label));
        }
    }
    return list;
}

/// Decodes a split folder (e.g. cifar10-jpeg/train) into an image set; TBB over images.
inline image_set read_image_folder(const std::filesystem::path& split_dir,
                                   const image_folder_options& o = {}) {
    if (o.channels < 1 || o.channels > 4)
        throw parameter_error("channels", std::string("must be 1..4, got ") + std::to_string(o.channels));
    const image_file_list list = list_image_folder(split_dir, o);
    image_set set;
    set.class_names = list.class_names;
    set.labels = list.labels;
    set.pixels = xt::xtensor<std::uint8_t, 4>::from_shape(
        {list.files.size(), o.channels, o.height, o.width});
    oneapi::tbb::parallel_for(std::size_t(0), list.files.size(), [&](std::size_t i) {
        detail::decode_image(list.files[i], o, set.image(i));
    });
    return set;
}

} // namespace spinfire::data
