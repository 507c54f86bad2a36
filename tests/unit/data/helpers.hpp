#pragma once
// Helpers for the data tests: random images, file writers for malformed cases, the shared
// CIFAR-10 JPEG copy unpacked once into the build tree.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <spinfire/core/philox.hpp>
#include <spinfire/data/image_set.hpp>

#include "test_support.hpp"

namespace spinfire::test {

inline void write_bytes(const std::filesystem::path& p, const std::vector<std::uint8_t>& b) {
    std::filesystem::create_directories(p.parent_path());
    std::ofstream os(p, std::ios::binary);
    os.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}

inline std::vector<std::uint8_t> read_bytes(const std::filesystem::path& p) {
    std::ifstream is(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(is), std::istreambuf_iterator<char>()};
}

/// n random 3 x h x w images with labels i % classes.
inline data::image_set random_images(std::size_t n, std::size_t h, std::size_t w,
                                     std::uint64_t seed, std::size_t classes = 10) {
    data::image_set s;
    s.pixels = xt::xtensor<std::uint8_t, 4>::from_shape({n, 3, h, w});
    rng::stream r(seed, 7);
    for (auto& v : s.pixels) v = std::uint8_t(r.below(256));
    for (std::size_t i = 0; i < n; ++i) s.labels.push_back(std::int32_t(i % classes));
    for (std::size_t c = 0; c < classes; ++c) s.class_names.push_back(std::string("c") + std::to_string(c));
    return s;
}

/// The shared JPEG copy unpacked under the build tree (once; later calls reuse it), or empty
/// with a skip message when ../shared/data is absent.
inline std::filesystem::path cifar10_jpeg_dir() {
    namespace fs = std::filesystem;
    const fs::path tarball = shared_data("cifar10-jpeg.tar.gz");
    if (tarball.empty()) return {};
    const fs::path work = fs::path(SPINFIRE_TEST_WORK_DIR) / "cifar10-jpeg-unpacked";
    const fs::path done = work / ".complete";
    if (!fs::exists(done)) {
        const fs::path tmp = fs::path(SPINFIRE_TEST_WORK_DIR) / "cifar10-jpeg-unpacking";
        fs::remove_all(tmp);
        fs::create_directories(tmp);
        const std::string cmd = "tar -xzf '" + tarball.string() + "' -C '" + tmp.string() + "'";
        REQUIRE_MESSAGE(std::system(cmd.c_str()) == 0, "unpacking failed: " << cmd);
        fs::remove_all(work);
        fs::rename(tmp, work);
        std::ofstream(done) << "unpacked from " << tarball.string() << "\n";
    }
    return work / "cifar10-jpeg";
}

} // namespace spinfire::test
