#pragma once
// Atomic file writes: a reader never sees a half-written report, trace or checkpoint, and a
// crash (power loss included) leaves either the old file or the new one. The temporary file
// is <path>.tmp.<pid>; one left by a killed process is removed by remove_stale_temporaries.
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <fcntl.h>
#include <unistd.h>

#include "spinfire/core/error.hpp"

namespace spinfire::io {

namespace detail {
/// fsync(2) on a path (a file, or a directory to make a rename in it durable).
inline bool sync_path(const std::string& p, bool directory) {
    const int fd = ::open(p.c_str(), (directory ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    const bool ok = ::fsync(fd) == 0;
    ::close(fd);
    return ok;
}
} // namespace detail

/// Calls write(stream) on a temporary file beside path, flushes it to disk (fsync), renames
/// it over path and syncs the directory.
template <class F>
void write_atomically(const std::string& path, F&& write, bool binary = false) {
    namespace fs = std::filesystem;
    const fs::path target(path);
    if (target.has_parent_path()) {
        std::error_code ec;
        fs::create_directories(target.parent_path(), ec);
        if (ec)
            throw data_error(path, "cannot create directory '" + target.parent_path().string() +
                                       "': " + ec.message());
    }
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
    if (!detail::sync_path(tmp, false)) {
        std::remove(tmp.c_str());
        throw data_error(tmp, "fsync failed (disk full or I/O error?)");
    }
    std::error_code ec;
    fs::rename(tmp, target, ec);
    if (ec) {
        std::remove(tmp.c_str());
        throw data_error(path, "rename from temporary file failed: " + ec.message());
    }
    detail::sync_path(target.has_parent_path() ? target.parent_path().string() : ".", true);
}

/// Removes the <name>.tmp.<pid> files in dir that write_atomically left when a process was
/// killed mid-write (their process no longer exists); returns how many it removed.
inline std::size_t remove_stale_temporaries(const std::string& dir) {
    namespace fs = std::filesystem;
    std::error_code ec;
    std::size_t removed = 0;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        const auto at = name.rfind(".tmp.");
        if (at == std::string::npos || at + 5 == name.size() || !it->is_regular_file()) continue;
        const std::string digits = name.substr(at + 5);
        if (digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos)
            continue;
        const auto pid = ::pid_t(std::stol(digits));
        if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH) {
            std::error_code rm;
            removed += fs::remove(it->path(), rm) ? 1 : 0;
        }
    }
    return removed;
}

} // namespace spinfire::io
