#pragma once
// A device (or model) trace in SNN units, one entry per SNN time step t:
//   x[t]  input of step t (signed, SNN units)
//   h[t]  membrane read at the end of step t, BEFORE any reset (what the threshold sees)
//   v[t]  membrane after the reset of step t (equal to h[t] on steps without a spike)
//   s[t]  spike of step t: +1, -1 or 0
// and v0, the membrane before step 0. Keeping h and v apart lets the fit see both the
// firing decision and the reset, which a single post-reset readout would hide.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "spinfire/core/error.hpp"
#include "spinfire/io/atomic_file.hpp"

namespace spinfire::fit {

struct trace {
    std::vector<double> x, h, v;
    std::vector<std::int8_t> s;
    double v0 = 0;

    std::size_t size() const noexcept { return x.size(); }
    void reserve(std::size_t n) {
        x.reserve(n), h.reserve(n), v.reserve(n), s.reserve(n);
    }
    void push_back(double xi, double hi, double vi, int si) {
        x.push_back(xi), h.push_back(hi), v.push_back(vi), s.push_back(std::int8_t(si));
    }
};

/// Throws spinfire::error naming the trace, the column and the step of the first problem:
/// empty trace, columns of different lengths, non-finite values, spikes outside {-1, 0, 1}.
inline void validate(const trace& tr, const std::string& name = "trace") {
    const std::size_t n = tr.x.size();
    if (n == 0) throw error(name + ": empty trace (no steps)");
    if (tr.h.size() != n || tr.v.size() != n || tr.s.size() != n)
        throw error(name + ": columns differ in length (x " + std::to_string(n) + ", h " +
                    std::to_string(tr.h.size()) + ", v " + std::to_string(tr.v.size()) + ", s " +
                    std::to_string(tr.s.size()) + ")");
    if (!std::isfinite(tr.v0)) throw numeric_error(name + ": v0 is not finite");
    auto check = [&](const std::vector<double>& c, const char* col) {
        for (std::size_t t = 0; t < n; ++t)
            if (!std::isfinite(c[t]))
                throw numeric_error(name + ": non-finite " + col + " at step " + std::to_string(t));
    };
    check(tr.x, "x");
    check(tr.h, "h");
    check(tr.v, "v");
    for (std::size_t t = 0; t < n; ++t)
        if (tr.s[t] < -1 || tr.s[t] > 1)
            throw error(name + ": spike at step " + std::to_string(t) + " is " +
                        std::to_string(int(tr.s[t])) + " (expected -1, 0 or 1)");
}

/// CSV form: a first line "# spinfire.trace.v1 v0=<value>", a header "step,x,h,v,s", rows.
inline void write_trace_csv(const std::string& file, const trace& tr) {
    validate(tr, file);
    io::write_atomically(file, [&](std::ostream& os) {
        os.precision(17);
        os << "# spinfire.trace.v1 v0=" << tr.v0 << "\nstep,x,h,v,s\n";
        for (std::size_t t = 0; t < tr.size(); ++t)
            os << t << ',' << tr.x[t] << ',' << tr.h[t] << ',' << tr.v[t] << ',' << int(tr.s[t])
               << '\n';
    });
}

/// Reads write_trace_csv's format; errors name the file and the byte offset of the bad line.
inline trace read_trace_csv(const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw data_error(file, "cannot open for reading");
    trace tr;
    std::string line;
    std::uint64_t offset = 0;
    auto next = [&]() {
        offset = std::uint64_t(in.tellg());
        return bool(std::getline(in, line));
    };
    if (!next() || line.rfind("# spinfire.trace.v1 v0=", 0) != 0)
        throw data_error(file, 0, "expected first line '# spinfire.trace.v1 v0=<value>'");
    try {
        std::size_t used = 0;
        tr.v0 = std::stod(line.substr(23), &used);
    } catch (const std::exception&) {
        throw data_error(file, 0, "cannot parse v0 in '" + line + "'");
    }
    if (!next() || line != "step,x,h,v,s")
        throw data_error(file, offset, "expected header 'step,x,h,v,s', got '" + line + "'");
    while (next()) {
        if (line.empty()) continue;
        std::istringstream ls(line);
        double step, x, h, v, s;
        char c1, c2, c3, c4;
        if (!(ls >> step >> c1 >> x >> c2 >> h >> c3 >> v >> c4 >> s) || c1 != ',' || c2 != ',' ||
            c3 != ',' || c4 != ',' || !(ls >> std::ws).eof())
            throw data_error(file, offset, "malformed row '" + line + "' (expected step,x,h,v,s)");
        if (step != double(tr.size()))
            throw data_error(file, offset, "step " + line.substr(0, line.find(',')) +
                                               " out of order (expected " +
                                               std::to_string(tr.size()) + ")");
        if (s != -1 && s != 0 && s != 1)
            throw data_error(file, offset, "spike must be -1, 0 or 1 in '" + line + "'");
        tr.push_back(x, h, v, int(s));
    }
    try {
        validate(tr, file);
    } catch (const error& e) {
        throw data_error(file, e.what());
    }
    return tr;
}

} // namespace spinfire::fit
