#pragma once
// Helpers shared by the tests: scratch directories in the build tree and the shared data.
#include <doctest/doctest.h>
#include <cstdlib>
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

/// The shared data directory: $SPINFIRE_SHARED_DATA_DIR when set (so the skip path can be
/// exercised), else the configured one (../shared/data beside the source tree).
inline std::filesystem::path shared_data_dir() {
    const char* env = std::getenv("SPINFIRE_SHARED_DATA_DIR");
    return env && *env ? std::filesystem::path(env)
                       : std::filesystem::path(SPINFIRE_SHARED_DATA_DIR);
}

/// A file of the shared data, or empty when it is absent. Then the test must return at once:
/// the printed "SKIPPED: shared data" line makes ctest report it as skipped, not passed
/// (SKIP_REGULAR_EXPRESSION in tests/CMakeLists.txt), so a test case that needs shared data
/// must need it for all it checks.
inline std::filesystem::path shared_data(const std::string& what) {
    auto p = shared_data_dir() / what;
    if (!std::filesystem::exists(p)) {
        MESSAGE("SKIPPED: shared data '" << p.string()
                                         << "' is absent (only the project machines have it)");
        return {};
    }
    return p;
}

/// True in a sanitizer build (the debug-asan preset, ASan + UBSan at -O1), where the SIMD LLG
/// kernels run about 10x slower than in release (docs/results/reliability.md, entry 20).
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool sanitizer_build = true;
#else
inline constexpr bool sanitizer_build = false;
#endif

/// A Monte Carlo case whose assertions are statistics over millions of thermal LLG steps calls
/// this first and returns when it is true: in a sanitizer build it prints the SKIPPED line
/// ctest counts as a skip. The release suite runs the case; `covered_by` names the shorter
/// case that runs the same code paths under the sanitizers.
inline bool skip_statistics_under_sanitizers(const char* covered_by) {
    if (!sanitizer_build) return false;
    MESSAGE("SKIPPED: sanitizer build (a statistics case: the release suite runs it; '"
            << covered_by << "' covers its code paths here)");
    return true;
}

} // namespace spinfire::test
