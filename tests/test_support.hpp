#pragma once
// Helpers shared by the tests: scratch directories in the build tree and the shared data.
#include <doctest/doctest.h>
#include <filesystem>
#include <string>

namespace spinfire::test {

/// A fresh scratch directory under the build tree (never the source tree).
inline std::filesystem::path scratch_dir(const std::string& name) {
    auto p = std::filesystem::path(SPINFIRE_TEST_WORK_DIR) / "scratch" / name;
    std::filesystem::remove_all(p);
    std::filesystem::create_directories(p);
    return p;
}

/// ../shared/data, or empty with a printed reason when it is absent (tests then skip).
inline std::filesystem::path shared_data(const std::string& what) {
    auto p = std::filesystem::path(SPINFIRE_SHARED_DATA_DIR) / what;
    if (!std::filesystem::exists(p)) {
        MESSAGE("SKIPPED: shared data '" << p.string()
                                         << "' is absent (only the project machines have it)");
        return {};
    }
    return p;
}

} // namespace spinfire::test
