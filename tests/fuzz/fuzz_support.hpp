#pragma once
// What every fuzz target shares. Readers take paths, as users call them, so the bytes go to
// a file first. A reader must either accept the bytes, and then what it returns must pass the
// target's own check (a round trip through the matching writer, or the format's invariants),
// or throw spinfire::data_error whose message names the file. Anything else is a finding:
// another exception type, a message without the file, a crash or sanitizer report, a hang
// (libFuzzer -timeout) or a large allocation (-malloc_limit_mb, see tests/fuzz/CMakeLists.txt).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "spinfire/core/error.hpp"

namespace spinfire::fuzz {

[[noreturn]] inline void fail(const std::string& what, const std::string& detail = {}) {
    std::fprintf(stderr, "spinfire fuzz finding: %s%s%s\n", what.c_str(),
                 detail.empty() ? "" : ": ", detail.c_str());
    std::abort();
}

#define SPINFIRE_FUZZ_CHECK(cond)                                                                  \
    do {                                                                                           \
        if (!(cond)) ::spinfire::fuzz::fail("check failed", #cond);                                \
    } while (0)

/// A per-process scratch directory (removed at exit) and a file name in it.
inline std::filesystem::path scratch(const std::string& name) {
    static const std::filesystem::path dir = [] {
        const char* tmp = std::getenv("TMPDIR");
        auto d = std::filesystem::path(tmp && *tmp ? tmp : "/tmp") /
                 ("spinfire-fuzz-" + std::to_string(::getpid()));
        std::filesystem::create_directories(d);
        static struct cleanup {
            std::filesystem::path d;
            ~cleanup() {
                std::error_code ec;
                std::filesystem::remove_all(d, ec);
            }
        } c{d};
        return d;
    }();
    return dir / name;
}

inline void write_file(const std::filesystem::path& p, const std::uint8_t* data, std::size_t n) {
    std::ofstream os(p, std::ios::binary | std::ios::trunc);
    os.write(reinterpret_cast<const char*>(data), std::streamsize(n));
    if (!os) fail("cannot write the fuzz input", p.string());
}

inline std::string read_text(const std::filesystem::path& p) {
    std::ifstream is(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(is), std::istreambuf_iterator<char>()};
}

/// Writes the input to scratch(name), calls accept(path) and applies the rule above.
template <class F>
int run(const std::uint8_t* data, std::size_t n, const std::string& name, F&& accept) {
    const std::filesystem::path file = scratch(name);
    write_file(file, data, n);
    try {
        accept(file.string());
    } catch (const data_error& e) {
        if (std::string(e.what()).find(file.string()) == std::string::npos)
            fail("data_error does not name the file", e.what());
    } catch (const std::exception& e) {
        fail("an exception other than data_error escaped the reader", e.what());
    }
    return 0;
}

} // namespace spinfire::fuzz
