#pragma once
// Exceptions: every failure names what was wrong and where (parameter, file, offset, lane).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>

namespace spinfire {

/// Base of every exception spinfire throws.
class error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A non-physical or out-of-range parameter; the message names the parameter.
class parameter_error : public error {
public:
    parameter_error(const std::string& name, const std::string& what)
        : error("parameter '" + name + "': " + what), name_(name), reason_(what) {}
    const std::string& name() const noexcept { return name_; }
    /// What is wrong, without the "parameter '<name>': " prefix (for re-throwing with context).
    const std::string& reason() const noexcept { return reason_; }

private:
    std::string name_, reason_;
};

/// A malformed or unreadable input file; the message names the file and the byte offset.
class data_error : public error {
public:
    data_error(const std::string& file, std::uint64_t offset, const std::string& what)
        : error(file + " (byte " + std::to_string(offset) + "): " + what), file_(file),
          offset_(offset) {}
    data_error(const std::string& file, const std::string& what)
        : error(file + ": " + what), file_(file), offset_(0) {}
    const std::string& file() const noexcept { return file_; }
    std::uint64_t offset() const noexcept { return offset_; }

private:
    std::string file_;
    std::uint64_t offset_;
};

/// NaN/Inf or a broken invariant found during a computation (which step, which lane).
class numeric_error : public error {
public:
    using error::error;
};

namespace detail {
inline std::string num(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
}
} // namespace detail

/// Throws parameter_error unless v is finite.
inline void require_finite(const char* name, double v) {
    if (!std::isfinite(v)) throw parameter_error(name, "must be finite, got " + detail::num(v));
}
/// Throws parameter_error unless v > 0 and finite.
inline void require_positive(const char* name, double v) {
    require_finite(name, v);
    if (!(v > 0)) throw parameter_error(name, "must be > 0, got " + detail::num(v));
}
/// Throws parameter_error unless v >= 0 and finite.
inline void require_non_negative(const char* name, double v) {
    require_finite(name, v);
    if (!(v >= 0)) throw parameter_error(name, "must be >= 0, got " + detail::num(v));
}

} // namespace spinfire
