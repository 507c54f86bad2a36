#pragma once
// The official CIFAR-10 binary release: data_batch_1..5.bin and test_batch.bin, records of
// 1 label byte + 1024 red + 1024 green + 1024 blue bytes (row-major 32x32). Also the format
// of spinfire's decoded-image cache, so a JPEG copy is decoded once and then read at disk speed.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "spinfire/core/error.hpp"
#include "spinfire/data/file_bytes.hpp"
#include "spinfire/data/image_set.hpp"
#include "spinfire/io/atomic_file.hpp"

namespace spinfire::data {

/// Class names in the official label order 0..9.
inline const std::array<std::string, 10> cifar10_classes = {
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};

inline constexpr std::size_t cifar10_side = 32;
inline constexpr std::size_t cifar10_image_bytes = 3 * cifar10_side * cifar10_side;
inline constexpr std::size_t cifar10_record_bytes = 1 + cifar10_image_bytes;

enum class split { train, test };
inline const char* split_name(split s) { return s == split::train ? "train" : "test"; }

/// The release's file names for a split: data_batch_1..5.bin or test_batch.bin.
inline std::vector<std::string> cifar10_binary_names(split s) {
    if (s == split::test) return {"test_batch.bin"};
    return {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
            "data_batch_5.bin"};
}

/// Appends the records of one file. Any size that is not a whole number of records, and
/// any label outside 0..9, is a data_error naming the file and the record's byte offset.
inline void append_cifar10_binary(const std::filesystem::path& file, image_set& set) {
    const std::vector<std::uint8_t> bytes = read_file_bytes(file);
    const std::string name = file.string();
    if (bytes.empty()) throw data_error(name, 0, "empty file: no CIFAR-10 records");
    const std::size_t records = bytes.size() / cifar10_record_bytes;
    if (bytes.size() % cifar10_record_bytes != 0)
        throw data_error(name, records * cifar10_record_bytes,
                         std::string("truncated record: file size ") + std::to_string(bytes.size()) +
                             " is not a multiple of the 3073-byte CIFAR-10 record (" +
                             std::to_string(bytes.size() % cifar10_record_bytes) +
                             std::string(" bytes left over after ") + std::to_string(records) + " records)");
    for (std::size_t r = 0; r < records; ++r) {
        const unsigned label = bytes[r * cifar10_record_bytes];
        if (label >= cifar10_classes.size())
            throw data_error(name, r * cifar10_record_bytes,
                             std::string("label ") + std::to_string(label) + " of record " +
                                 std::to_string(r) + " is out of range 0..9");
    }
    const std::size_t n0 = set.size();
    if (n0 == 0) set.class_names.assign(cifar10_classes.begin(), cifar10_classes.end());
    xt::xtensor<std::uint8_t, 4> pixels = xt::xtensor<std::uint8_t, 4>::from_shape(
        {n0 + records, 3, cifar10_side, cifar10_side});
    if (n0 > 0) std::memcpy(pixels.data(), set.pixels.data(), n0 * cifar10_image_bytes);
    for (std::size_t r = 0; r < records; ++r) {
        const std::uint8_t* rec = bytes.data() + r * cifar10_record_bytes;
        set.labels.push_back(std::int32_t(rec[0]));
        std::memcpy(pixels.data() + (n0 + r) * cifar10_image_bytes, rec + 1, cifar10_image_bytes);
    }
    set.pixels = std::move(pixels);
}

/// Reads one or more binary files into one set, in the order given.
inline image_set read_cifar10_binary(const std::vector<std::filesystem::path>& files) {
    image_set set;
    set.class_names.assign(cifar10_classes.begin(), cifar10_classes.end());
    set.pixels = xt::xtensor<std::uint8_t, 4>::from_shape({0, 3, cifar10_side, cifar10_side});
    for (const auto& f : files) append_cifar10_binary(f, set);
    return set;
}

/// Reads a split from a directory holding the official binary release.
inline image_set read_cifar10_binary_dir(const std::filesystem::path& dir, split s) {
    std::vector<std::filesystem::path> files;
    for (const auto& n : cifar10_binary_names(s)) files.push_back(dir / n);
    return read_cifar10_binary(files);
}

/// Writes a set of 3x32x32 images with labels 0..9 in the binary format (atomically).
inline void write_cifar10_binary(const std::filesystem::path& file, const image_set& set) {
    if (set.size() > 0 && (set.channels() != 3 || set.height() != cifar10_side ||
                           set.width() != cifar10_side))
        throw parameter_error("set", "CIFAR-10 binary records hold 3x32x32 images, got " +
                                         std::to_string(set.channels()) + "x" +
                                         std::to_string(set.height()) + "x" +
                                         std::to_string(set.width()));
    for (std::size_t i = 0; i < set.size(); ++i) {
        const auto label = set.labels[i];
        if (label < 0 || label >= std::int32_t(cifar10_classes.size()))
            throw parameter_error("set.labels", std::string("label ") + std::to_string(label) + " of image " +
                                                    std::to_string(i) + " is out of range 0..9");
    }
    std::vector<char> rec(cifar10_record_bytes);
    io::write_atomically(
        file.string(),
        [&](std::ostream& os) {
            for (std::size_t i = 0; i < set.size(); ++i) {
                rec[0] = char(set.labels[i]);
                std::memcpy(rec.data() + 1, set.image(i), cifar10_image_bytes);
                os.write(rec.data(), std::streamsize(rec.size()));
            }
        },
        true);
}

} // namespace spinfire::data
