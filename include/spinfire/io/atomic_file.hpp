#pragma once
// Atomic file writes: a reader never sees a half-written report, trace or checkpoint.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "spinfire/core/error.hpp"

namespace spinfire::io {

/// Calls write(stream) on a temporary file beside path, then renames it over path.
template <class F>
void write_atomically(const std::string& path, F&& write, bool binary = false) {
    namespace fs = std::filesystem;
    const fs::path target(path);
    if (target.has_parent_path()) fs::create_directories(target.parent_path());
    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    {
        std::ofstream os(tmp, binary ? std::ios::binary | std::ios::trunc : std::ios::trunc);
        if (!os) throw data_error(tmp, "cannot open for writing");
        write(os);
        os.flush();
        if (!os) {
            std::remove(tmp.c_str());
            throw data_error(tmp, "write failed (disk full?)");
        }
    }
    std::error_code ec;
    fs::rename(tmp, target, ec);
    if (ec) {
        std::remove(tmp.c_str());
        throw data_error(path, "rename from temporary file failed: " + ec.message());
    }
}

} // namespace spinfire::io
