#pragma once
// Sweeps: a grid over free-layer dimensions, input amplitude, damping and temperature, run
// through the LLG ensemble (one lane per point, SIMD + TBB), each point fitted and classified,
// written as CSV rows (one per point) plus heat maps of fit error over two chosen axes.
//
// Determinism: point i always draws thermal stream i, and lanes with T = 0 always run with
// RK4 while lanes with T > 0 run with stochastic Heun (points are grouped so), so a row does
// not depend on the number of threads or the chunking.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <oneapi/tbb/parallel_for.h>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "spinfire/core/error.hpp"
#include "spinfire/core/philox.hpp"
#include "spinfire/core/reflect.hpp"
#include "spinfire/device/mtj.hpp"
#include "spinfire/fit/classify.hpp"
#include "spinfire/fit/device_protocol.hpp"
#include "spinfire/fit/signed_lif_fit.hpp"
#include "spinfire/io/atomic_file.hpp"
#include "spinfire/io/json.hpp"

namespace spinfire::fit {

/// The axes of a sweep; every axis needs at least one value.
struct sweep_grid {
    BOOST_HANA_DEFINE_STRUCT(sweep_grid,
                             (std::vector<double>, width_nm),    // W, x
                             (std::vector<double>, length_nm),   // L, y
                             (std::vector<double>, height_nm),   // T, z (current direction)
                             (std::vector<double>, amplitude),   // drive per unit X (A or T)
                             (std::vector<double>, alpha),       // Gilbert damping
                             (std::vector<double>, temperature)); // K
    sweep_grid()
        : width_nm{10}, length_nm{45}, height_nm{50}, amplitude{1.5e-3}, alpha{0.01},
          temperature{0} {}
};

/// One grid point; its field names are the first CSV columns and the heat-map axis names.
struct sweep_point {
    BOOST_HANA_DEFINE_STRUCT(sweep_point, (double, width_nm), (double, length_nm),
                             (double, height_nm), (double, amplitude), (double, alpha),
                             (double, temperature));
};

/// Number of points; throws parameter_error naming an empty or non-finite axis.
inline std::size_t grid_size(const sweep_grid& g) {
    std::size_t n = 1;
    reflect::for_each_field(g, [&](const char* name, const std::vector<double>& axis) {
        if (axis.empty())
            throw parameter_error(std::string("grid.") + name, "axis has no values (the grid has zero points)");
        for (double v : axis)
            if (!std::isfinite(v)) throw parameter_error(std::string("grid.") + name, "non-finite value");
        n *= axis.size();
    });
    return n;
}

/// Point i; width varies fastest, temperature slowest (so T > 0 points are contiguous).
inline sweep_point grid_point(const sweep_grid& g, std::size_t i) {
    sweep_point p;
    auto take = [&](const std::vector<double>& axis) {
        const double v = axis[i % axis.size()];
        i /= axis.size();
        return v;
    };
    p.width_nm = take(g.width_nm);
    p.length_nm = take(g.length_nm);
    p.height_nm = take(g.height_nm);
    p.amplitude = take(g.amplitude);
    p.alpha = take(g.alpha);
    p.temperature = take(g.temperature);
    return p;
}

/// Everything but the grid: base device and protocol (the grid overrides their fields),
/// the input sequence, the fit and the classification.
struct sweep_config {
    device::mtj device{};
    protocol proto{};
    sot_line line{};
    fit_options fit{};
    classify_options classes{};
    std::size_t steps = 200;      // SNN steps per point
    std::uint64_t input_seed = 1; // X[t] ~ N(0, 1), one sequence shared by all points
    std::uint64_t noise_seed = 7; // thermal noise
    std::size_t chunk = 64;       // points per ensemble run (progress granularity)
    /// > 0: each point's SNN step is this many of ITS OWN precession periods (Kittel
    /// frequency about the easy axis), pulse half of it, both rounded to dt; 0: the
    /// protocol's fixed step for every point (a common network clock).
    double match_periods = 0;
    double max_step_ns = 10; // a matched step longer than this fails the point (soft axis ~ 0)
};

/// Small-oscillation (Kittel) frequency, Hz, of m about +-z at zero applied field:
/// f = gamma' / 2 pi sqrt(k_x k_y), k_i = mu0 Ms (N_i - N_z) + 2 K_u / Ms (gamma' = gamma /
/// (1 + alpha^2) for the LL form). Throws parameter_error when +-z is not a stable
/// equilibrium (a stiffness <= 0, e.g. L >= T) or the device is not of that form.
inline double kittel_frequency(const device::mtj& d) {
    device::validate(d);
    if (std::abs(std::abs(d.m0.z) - 1) > 1e-12 || (d.K_u != 0 && std::abs(std::abs(d.easy_axis.z) - 1) > 1e-12) ||
        d.b_ext.x != 0 || d.b_ext.y != 0 || d.b_ext.z != 0)
        throw parameter_error("device", "precession frequency needs m0 and the easy axis along z and no applied field");
    const auto n = device::demag_factors(d);
    const double bk = 2 * d.K_u / d.Ms;
    const double kx = constants::mu0 * d.Ms * (n.x - n.z) + bk, ky = constants::mu0 * d.Ms * (n.y - n.z) + bk;
    if (!(kx > 0 && ky > 0))
        throw parameter_error("device", "+-z is not a stable equilibrium (stiffness k_x = " +
                                            spinfire::detail::num(kx) + " T, k_y = " + spinfire::detail::num(ky) + " T)");
    return d.gamma / (1 + d.alpha * d.alpha) * std::sqrt(kx * ky) / (2 * constants::pi);
}

/// The input sequence a sweep drives every point with.
inline std::vector<double> sweep_input(const sweep_config& c) {
    if (c.steps == 0) throw parameter_error("steps", "must be >= 1");
    rng::stream s(c.input_seed, 0);
    std::vector<double> x(c.steps);
    for (auto& e : x) e = s.normal();
    return x;
}

struct sweep_row {
    std::size_t index = 0;
    sweep_point point{};
    signed_lif_params model{};
    fit_quality quality{};
    spike_comparison spikes{};
    double one_step_r2 = 0;
    double energy_per_step = 0;  // J
    double energy_per_spike = 0; // J (all energy / device spikes; 0 without spikes)
    double step_ns = 0;          // the SNN step this point ran with
    device_class cls = device_class::unstable;
    std::string failure; // why the point is unstable (empty otherwise)
};

/// The lane of point p: base device and protocol with the grid's values.
inline protocol_lane sweep_lane(const sweep_config& c, const sweep_point& p) {
    protocol_lane l{c.device, c.proto, c.line};
    l.device.width = p.width_nm * 1e-9;
    l.device.length = p.length_nm * 1e-9;
    l.device.height = p.height_nm * 1e-9;
    l.device.alpha = p.alpha;
    l.device.temperature = p.temperature;
    l.proto.drive_per_unit = p.amplitude;
    if (c.match_periods > 0) {
        const double dt_ns = l.proto.dt_ps * 1e-3;
        const double step = std::round(c.match_periods / kittel_frequency(l.device) * 1e9 / dt_ns);
        if (!(step * dt_ns <= c.max_step_ns))
            throw parameter_error("match_periods", "the matched step " + spinfire::detail::num(step * dt_ns) +
                                                       " ns exceeds max_step_ns (precession too slow)");
        l.proto.step_ns = step * dt_ns;
        l.proto.pulse_ns = std::round(step / 2) * dt_ns;
    }
    return l;
}

/// A sweep cut into chunks that run independently: each chunk is one ensemble run sharing
/// one clock, and lane i of a chunk draws noise stream `begin + i`, so a chunk's rows do not
/// depend on which process or in which order the chunks run (what dist/ relies on).
struct sweep_plan {
    std::vector<double> x;            // the input sequence of every point
    std::vector<sweep_row> rows;      // every point; setup failures already filled in
    std::vector<protocol_lane> lanes; // every point's lane (unused where setup failed)
    struct chunk {
        std::size_t begin, end; // points [begin, end)
    };
    std::vector<chunk> chunks;
};

inline sweep_plan plan_sweep(const sweep_config& c, const sweep_grid& g) {
    const std::size_t n = grid_size(g);
    if (c.chunk == 0) throw parameter_error("chunk", "must be >= 1");
    sweep_plan plan;
    plan.x = sweep_input(c);
    plan.rows.resize(n);
    plan.lanes.resize(n);
    std::vector<char> ok(n, 1);
    for (std::size_t i = 0; i < n; ++i) {
        auto& row = plan.rows[i];
        row.index = i;
        row.point = grid_point(g, i);
        try {
            plan.lanes[i] = sweep_lane(c, row.point);
            validate(plan.lanes[i].proto);
        } catch (const parameter_error& e) { // e.g. no stable state to match the step to
            row.failure = e.what();
            ok[i] = 0;
        }
    }
    auto same_clock = [&](std::size_t i, std::size_t j) {
        const auto &a = plan.lanes[i].proto, &b = plan.lanes[j].proto;
        return a.step_ns == b.step_ns && a.pulse_ns == b.pulse_ns &&
               (plan.rows[i].point.temperature > 0) == (plan.rows[j].point.temperature > 0);
    };
    for (std::size_t begin = 0; begin < n;) {
        if (!ok[begin]) {
            ++begin;
            continue;
        }
        // A chunk shares one clock and never mixes T = 0 and T > 0 points (RK4 vs Heun).
        std::size_t end = begin + 1;
        while (end < n && end - begin < c.chunk && ok[end] && same_clock(begin, end)) ++end;
        plan.chunks.push_back({begin, end});
        begin = end;
    }
    return plan;
}

/// Runs chunk k of the plan: simulates, fits and classifies its points into plan.rows.
inline void run_sweep_chunk(const sweep_config& c, sweep_plan& plan, std::size_t k) {
    const auto [begin, end] = plan.chunks.at(k);
    const std::span<const protocol_lane> lanes(plan.lanes.data() + begin, end - begin);
    run_settings rs;
    rs.seed = c.noise_seed;
    rs.first_stream = begin;
    const auto res = run_protocol(lanes, plan.x, rs);
    oneapi::tbb::parallel_for(std::size_t(0), end - begin, [&](std::size_t i) {
        auto& row = plan.rows[begin + i];
        const auto& r = res[i];
        row.step_ns = lanes[i].proto.step_ns;
        if (!r.failure.empty()) {
            row.failure = r.failure;
            return;
        }
        try {
            const auto f = fit_signed_lif(r.tr, c.fit);
            row.model = f.model;
            row.quality = f.quality;
            row.spikes = f.spikes;
            row.one_step_r2 = f.one_step_r2;
            row.cls = classify(f, c.classes);
        } catch (const error& e) {
            row.failure = e.what();
        }
        row.energy_per_step = r.total_energy() / double(plan.x.size());
        row.energy_per_spike = r.spikes() ? r.total_energy() / double(r.spikes()) : 0.0;
    });
}

/// Runs the sweep; progress(done, total) is called after each chunk.
inline std::vector<sweep_row> run_sweep(
    const sweep_config& c, const sweep_grid& g,
    const std::function<void(std::size_t, std::size_t)>& progress = {}) {
    auto plan = plan_sweep(c, g);
    const std::size_t n = plan.rows.size();
    for (std::size_t k = 0; k < plan.chunks.size(); ++k) {
        run_sweep_chunk(c, plan, k);
        if (progress) progress(k + 1 < plan.chunks.size() ? plan.chunks[k].end : n, n);
    }
    return std::move(plan.rows);
}

// ---- CSV ----------------------------------------------------------------------------------

/// Column names of the sweep CSV, in order.
inline std::vector<std::string> sweep_columns() {
    std::vector<std::string> cols{"index"};
    for (auto& f : reflect::field_names<sweep_point>()) cols.push_back(f);
    for (auto& f : reflect::field_names<signed_lif_params>()) cols.push_back(f);
    for (auto& f : reflect::field_names<fit_quality>()) cols.push_back(f);
    for (const char* f : {"one_step_r2", "device_pos", "device_neg", "model_pos", "model_neg",
                          "missed", "extra", "sign_errors", "energy_per_step_J",
                          "energy_per_spike_J", "step_ns", "class", "failure"})
        cols.push_back(f);
    return cols;
}

namespace detail {
inline std::string csv_number(double v) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}
inline std::string csv_text(std::string s) {
    for (auto& ch : s)
        if (ch == ',' || ch == '\n' || ch == '\r' || ch == '"') ch = ';';
    return s;
}
} // namespace detail

inline std::string to_csv_line(const sweep_row& r) {
    std::ostringstream os;
    os << r.index;
    auto num = [&](double v) { os << ',' << detail::csv_number(v); };
    reflect::for_each_field(r.point, [&](const char*, double v) { num(v); });
    reflect::for_each_field(r.model, [&](const char*, const auto& v) { num(double(v)); });
    reflect::for_each_field(r.quality, [&](const char*, const auto& v) { num(double(v)); });
    num(r.one_step_r2);
    for (long v : {r.spikes.device_pos, r.spikes.device_neg, r.spikes.model_pos, r.spikes.model_neg,
                   r.spikes.missed, r.spikes.extra, r.spikes.sign_errors})
        num(double(v));
    num(r.energy_per_step);
    num(r.energy_per_spike);
    num(r.step_ns);
    os << ',' << enum_name(r.cls) << ',' << detail::csv_text(r.failure);
    return os.str();
}

inline void write_sweep_csv(const std::string& file, const std::vector<sweep_row>& rows) {
    io::write_atomically(file, [&](std::ostream& os) {
        const auto cols = sweep_columns();
        for (std::size_t i = 0; i < cols.size(); ++i) os << (i ? "," : "") << cols[i];
        os << '\n';
        for (const auto& r : rows) os << to_csv_line(r) << '\n';
    });
}

/// Reads write_sweep_csv's format back; errors name the file, byte offset and column.
inline std::vector<sweep_row> read_sweep_csv(const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw data_error(file, "cannot open for reading");
    const auto cols = sweep_columns();
    std::string line;
    std::uint64_t offset = 0;
    std::getline(in, line);
    {
        std::string expect;
        for (std::size_t i = 0; i < cols.size(); ++i) expect += (i ? "," : "") + cols[i];
        if (line != expect) throw data_error(file, 0, "unexpected header (not a spinfire sweep CSV)");
    }
    std::vector<sweep_row> rows;
    for (offset = std::uint64_t(in.tellg()); std::getline(in, line); offset = std::uint64_t(in.tellg())) {
        if (line.empty()) continue;
        std::vector<std::string> cell;
        std::stringstream ss(line);
        for (std::string c; std::getline(ss, c, ',');) cell.push_back(c);
        if (!line.empty() && line.back() == ',') cell.emplace_back();
        if (cell.size() != cols.size())
            throw data_error(file, offset, "row has " + std::to_string(cell.size()) + " cells, expected " +
                                               std::to_string(cols.size()));
        std::size_t k = 0;
        auto num = [&]() {
            const std::string& c = cell[k];
            char* endp = nullptr;
            const double v = std::strtod(c.c_str(), &endp);
            if (c.empty() || *endp != '\0')
                throw data_error(file, offset, "column '" + cols[k] + "': not a number: '" + c + "'");
            ++k;
            return v;
        };
        sweep_row r;
        r.index = std::size_t(num());
        reflect::for_each_field(r.point, [&](const char*, double& v) { v = num(); });
        reflect::for_each_field(r.model, [&](const char*, auto& v) {
            using V = std::remove_cvref_t<decltype(v)>;
            v = V(num());
        });
        reflect::for_each_field(r.quality, [&](const char*, auto& v) {
            using V = std::remove_cvref_t<decltype(v)>;
            v = V(num());
        });
        r.one_step_r2 = num();
        for (long* v : {&r.spikes.device_pos, &r.spikes.device_neg, &r.spikes.model_pos,
                        &r.spikes.model_neg, &r.spikes.missed, &r.spikes.extra, &r.spikes.sign_errors})
            *v = long(num());
        r.spikes.agreement = r.quality.spike_agreement;
        r.energy_per_step = num();
        r.energy_per_spike = num();
        r.step_ns = num();
        try {
            r.cls = parse_enum(cell[k], static_cast<device_class*>(nullptr), "class");
        } catch (const error& e) {
            throw data_error(file, offset, e.what());
        }
        r.failure = cell[k + 1];
        rows.push_back(std::move(r));
    }
    return rows;
}

// ---- heat maps ------------------------------------------------------------------------------

/// Writes <stem>.dat (a, b, best metric over the other axes) and <stem>.gp, and renders
/// <stem>.png with gnuplot when it is installed. Returns a message saying what was written.
inline std::string write_heatmap(const std::vector<sweep_row>& rows, const std::string& axis_a,
                                 const std::string& axis_b, const std::string& stem,
                                 const std::string& metric = "nrmse") {
    const auto names = reflect::field_names<sweep_point>();
    auto value_of = [&](const sweep_point& p, const std::string& axis) {
        double out = 0;
        bool found = false;
        reflect::for_each_field(p, [&](const char* name, double v) {
            if (axis == name) out = v, found = true;
        });
        if (!found) {
            std::string list;
            for (auto& n : names) list += (list.empty() ? "" : ", ") + n;
            throw parameter_error("heatmap axis", "unknown axis '" + axis + "' (known: " + list + ")");
        }
        return out;
    };
    if (metric != "nrmse" && metric != "spike_agreement")
        throw parameter_error("heatmap metric", "expected nrmse or spike_agreement");
    if (rows.empty()) throw parameter_error("heatmap", "no rows");
    // Best (lowest nrmse / highest agreement) over the other axes; failures count as worst.
    std::map<std::pair<double, double>, double> best;
    const bool lower = metric == "nrmse";
    for (const auto& r : rows) {
        double m = lower ? r.quality.nrmse : r.quality.spike_agreement;
        if (!r.failure.empty() || !std::isfinite(m)) m = lower ? 1.0 : 0.0;
        const auto key = std::pair{value_of(r.point, axis_a), value_of(r.point, axis_b)};
        auto it = best.find(key);
        if (it == best.end()) best.emplace(key, m);
        else it->second = lower ? std::min(it->second, m) : std::max(it->second, m);
    }
    io::write_atomically(stem + ".dat", [&](std::ostream& os) {
        os << "# " << axis_a << ' ' << axis_b << ' ' << metric << " (best over the other axes)\n";
        double prev = std::numeric_limits<double>::quiet_NaN();
        for (const auto& [k, v] : best) {
            if (!std::isnan(prev) && k.first != prev) os << '\n'; // gnuplot pm3d scan lines
            os << detail::csv_number(k.first) << ' ' << detail::csv_number(k.second) << ' '
               << detail::csv_number(v) << '\n';
            prev = k.first;
        }
    });
    const std::string png = stem + ".png";
    io::write_atomically(stem + ".gp", [&](std::ostream& os) {
        os << "set terminal pngcairo size 800,600 noenhanced\n"
           << "set output '" << png << "'\n"
           << "set title 'signed-LIF fit: " << metric << " (best over other axes)'\n"
           << "set xlabel '" << axis_a << "'\nset ylabel '" << axis_b << "'\n"
           << "set view map\nset palette rgbformulae 22,13,-31\n"
           << "plot '" << stem << ".dat' using 1:2:3 with image notitle\n";
    });
    if (std::system("command -v gnuplot > /dev/null 2>&1") != 0)
        return "gnuplot not installed: wrote " + stem + ".dat and " + stem + ".gp, skipped " + png;
    const std::string cmd = "gnuplot '" + stem + ".gp' > /dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0)
        return "gnuplot failed on " + stem + ".gp (data in " + stem + ".dat)";
    return "wrote " + png;
}

/// Counts of each class, for reports.
inline io::json class_counts(const std::vector<sweep_row>& rows) {
    io::json j = io::json::object();
    for (auto c : {device_class::signed_lif, device_class::no_leak, device_class::no_bipolar_firing,
                   device_class::poor_fit, device_class::unstable})
        j[enum_name(c)] = 0;
    for (const auto& r : rows) j[enum_name(r.cls)] = j[enum_name(r.cls)].get<long>() + 1;
    return j;
}

} // namespace spinfire::fit
