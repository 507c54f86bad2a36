// mtj_trace: one MTJ free layer under a drive -> trace.csv, summary.json, trace.png.
//
//   mtj_trace                                   preset orthogonal_mtj, signed pulse train
//   mtj_trace --device my.json --drive dc:2e-3 --duration 20e-9 --temperature 300 --out out/
//
// The device file is a JSON object whose keys are device::mtj's parameter names (any subset;
// the rest keep the preset's values), e.g. {"width": 12e-9, "alpha": 0.02, "pinned": [1,0,0]}.
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <spinfire/device.hpp>
#include <spinfire/io/json.hpp>
#include <spinfire/llg.hpp>

using namespace spinfire;

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    for (std::string item; std::getline(ss, item, sep);) out.push_back(item);
    return out;
}

double number(const std::string& s, const std::string& what) {
    try {
        std::size_t used = 0;
        const double v = std::stod(s, &used);
        if (used != s.size()) throw std::invalid_argument(s);
        return v;
    } catch (const std::exception&) {
        throw parameter_error("drive", "cannot read " + what + " from '" + s + "'");
    }
}

constexpr const char* drive_help =
    "Drive current in A (positive pulls m toward the pinned layer):\n"
    "  dc:I                                  constant current\n"
    "  pulses:AMP,WIDTH,PERIOD,SIGNS[,DELAY[,COUNT]]\n"
    "                                        rectangular pulses; SIGNS is a pattern over + - 0\n"
    "                                        repeated cyclically (e.g. ++-0); COUNT 0 = forever\n"
    "  spikes:WIDTH,T1@A1,T2@A2,...          pulses of amplitude Ak starting at Tk\n"
    "  sampled:DT,V0,V1,...                  piecewise-linear samples every DT, 0 outside\n"
    "Times in s, e.g. pulses:4e-3,1e-9,5e-9,++--,1e-9";

llg::drive parse_drive(const std::string& spec) {
    const auto colon = spec.find(':');
    if (colon == std::string::npos)
        throw parameter_error("drive", "expected KIND:ARGS, got '" + spec + "'");
    const std::string kind = spec.substr(0, colon);
    const auto args = split(spec.substr(colon + 1), ',');
    if (kind == "dc") {
        if (args.size() != 1) throw parameter_error("drive", "dc takes one value: dc:I");
        return llg::drive::dc(number(args[0], "the current"));
    }
    if (kind == "pulses") {
        if (args.size() < 4 || args.size() > 6)
            throw parameter_error("drive", "pulses:AMP,WIDTH,PERIOD,SIGNS[,DELAY[,COUNT]]");
        std::vector<double> signs;
        for (char ch : args[3]) {
            if (ch == '+')
                signs.push_back(1);
            else if (ch == '-')
                signs.push_back(-1);
            else if (ch == '0')
                signs.push_back(0);
            else
                throw parameter_error("drive",
                                      "sign pattern may only contain + - 0, got '" + args[3] + "'");
        }
        const double delay = args.size() > 4 ? number(args[4], "the delay") : 0.0;
        const double count = args.size() > 5 ? number(args[5], "the count") : 0.0;
        return llg::drive::pulses(number(args[0], "the amplitude"), number(args[1], "the width"),
                                  number(args[2], "the period"), signs, delay, std::size_t(count));
    }
    if (kind == "spikes") {
        if (args.size() < 2) throw parameter_error("drive", "spikes:WIDTH,T1@A1,...");
        std::vector<double> times, amps;
        for (std::size_t i = 1; i < args.size(); ++i) {
            const auto ta = split(args[i], '@');
            if (ta.size() != 2)
                throw parameter_error("drive", "spike '" + args[i] + "' is not T@A");
            times.push_back(number(ta[0], "a spike time"));
            amps.push_back(number(ta[1], "a spike amplitude"));
        }
        return llg::drive::spikes(times, amps, number(args[0], "the width"));
    }
    if (kind == "sampled") {
        if (args.size() < 2) throw parameter_error("drive", "sampled:DT,V0,V1,...");
        std::vector<double> v;
        for (std::size_t i = 1; i < args.size(); ++i) v.push_back(number(args[i], "a sample"));
        return llg::drive::sampled(0, number(args[0], "the sample interval"), v, true);
    }
    throw parameter_error("drive", "unknown kind '" + kind + "' (dc, pulses, spikes, sampled)");
}

void plot(const std::filesystem::path& dir) {
    if (std::system("command -v gnuplot > /dev/null 2>&1") != 0) {
        fmt::print("gnuplot is not installed: skipping trace.png\n");
        return;
    }
    const auto script = dir / "trace.gp";
    io::write_atomically(script.string(), [&](std::ostream& os) {
        os << "set terminal pngcairo size 1100,700 noenhanced\n"
           << "set output '" << (dir / "trace.png").string() << "'\n"
           << "set datafile separator ','\n"
           << "set multiplot layout 2,1\n"
           << "set ylabel 'm'\nset yrange [-1.05:1.05]\nset grid\nset key outside right\n"
           // m.p first, wide and pale: with the preset's pinned layer along x it equals m_x,
           // which is drawn over it instead of hidden under it.
           << "plot '" << (dir / "trace.csv").string()
           << "' every ::1 using ($1*1e9):5 w l lw 6 lc rgb '#c0c0c0' t 'm.p',"
           << " '' every ::1 using ($1*1e9):2 w l t 'm_x',"
           << " '' every ::1 using ($1*1e9):3 w l t 'm_y', '' every ::1 using ($1*1e9):4 w l t "
              "'m_z'\n"
           << "set xlabel 't (ns)'\nset ylabel 'I (mA)'\nset autoscale y\n"
           << "plot '" << (dir / "trace.csv").string()
           << "' every ::1 using ($1*1e9):($7*1e3) w l t 'drive'\n"
           << "unset multiplot\n";
    });
    const std::string cmd = "gnuplot '" + script.string() + "'";
    if (std::system(cmd.c_str()) != 0) {
        // pngcairo may be missing from gnuplot-nox: fall back to the png terminal.
        std::string text;
        {
            std::ifstream in(script);
            std::stringstream ss;
            ss << in.rdbuf();
            text = ss.str();
        }
        text.replace(text.find("pngcairo"), 8, "png");
        io::write_atomically(script.string(), [&](std::ostream& os) { os << text; });
        if (std::system(cmd.c_str()) != 0) {
            fmt::print("gnuplot failed: no trace.png (script kept at {})\n", script.string());
            return;
        }
    }
    fmt::print("  {}\n", (dir / "trace.png").string());
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"Simulate one MTJ free layer (macrospin LLG) under a drive and write its trace"};
    std::string device_file, drive_spec = "pulses:4e-3,1e-9,4e-9,++--,1e-9",
                             out_dir = "mtj_trace_out";
    double duration = 40e-9, dt = 1e-12, threshold = 0.5;
    std::optional<double> temperature;
    std::uint64_t seed = 1;
    std::size_t record_every = 10;
    app.add_option("--device", device_file,
                   "JSON file with device::mtj parameters (default: preset orthogonal_mtj)")
        ->check(CLI::ExistingFile);
    app.add_option("--drive", drive_spec, drive_help)->capture_default_str();
    app.add_option("--duration", duration, "Simulated time, s")->capture_default_str();
    app.add_option("--dt", dt, "Time step, s")->capture_default_str();
    app.add_option("--temperature", temperature, "Temperature in K (overrides the device file)");
    app.add_option("--seed", seed, "Thermal-noise seed")->capture_default_str();
    app.add_option("--record-every", record_every, "Write every k-th step to trace.csv")
        ->capture_default_str();
    app.add_option("--threshold", threshold,
                   "Spike threshold on m.p: +spike rising through +threshold, -spike falling "
                   "through -threshold (re-armed at half the threshold)")
        ->capture_default_str();
    app.add_option("--out", out_dir, "Output directory")->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    try {
        auto d = device::orthogonal_mtj();
        if (!device_file.empty()) io::from_json(io::read_json_file(device_file), d, "device");
        if (temperature) d.temperature = *temperature;
        const auto u = parse_drive(drive_spec);
        require_positive("duration", duration);
        require_positive("dt", dt);
        if (record_every == 0) throw parameter_error("record-every", "must be >= 1");
        // the trace holds duration / (dt x record-every) rows of 4 doubles: keep it in memory
        if (!(duration / dt / double(record_every) <= 1e8))
            throw parameter_error("duration",
                                  fmt::format("{:g} s at --dt {:g} s and --record-every {} "
                                              "is {:g} trace rows; at most 1e8",
                                              duration, dt, record_every,
                                              duration / dt / double(record_every)));
        if (!(duration / dt <= 1e12))
            throw parameter_error("duration", fmt::format("{:g} s at --dt {:g} s is {:g} steps; at "
                                                          "most 1e12",
                                                          duration, dt, duration / dt));
        if (!(threshold > 0 && threshold <= 1))
            throw parameter_error("threshold", "must be in (0, 1]");

        llg::ensemble<device::mtj_system> ens(1, device::llg_params(d), d.m0, u);
        llg::run_options o;
        o.dt = dt;
        o.steps = std::size_t(std::llround(duration / dt));
        o.method = d.temperature > 0 ? llg::integrator::heun : llg::integrator::rk4;
        o.seed = seed;
        o.record_every = record_every;
        o.events = {{d.pinned, threshold, +1, threshold / 2},
                    {d.pinned, -threshold, -1, -threshold / 2}};
        const auto r = ens.run(o);

        const std::filesystem::path dir(out_dir);
        const auto ro = device::mtj_readout(d);
        io::write_atomically((dir / "trace.csv").string(), [&](std::ostream& os) {
            os << "t_s,mx,my,mz,m_dot_p,conductance_S,drive_A\n";
            char line[256];
            for (std::size_t k = 0; k < r.trace.records; ++k) {
                const auto m = r.trace.m(0, k);
                const double t = r.trace.time(k);
                std::snprintf(line, sizeof line, "%.6e,%.9f,%.9f,%.9f,%.9f,%.9e,%.6e\n", t, m.x,
                              m.y, m.z, dot(m, d.pinned), ro.conductance(m), u(t));
                os << line;
            }
        });
        io::json spikes = io::json::array();
        for (const auto& e : r.events[0])
            spikes.push_back({{"time_s", e.time}, {"sign", e.spec == 0 ? 1 : -1}});
        double lo = 1, hi = -1;
        for (std::size_t k = 0; k < r.trace.records; ++k) {
            const double v = dot(r.trace.m(0, k), d.pinned);
            lo = std::min(lo, v), hi = std::max(hi, v);
        }
        io::json summary = {{"device", io::to_json(d)},
                            {"readout", {{"G_P_S", ro.g_p}, {"G_AP_S", ro.g_ap}}},
                            {"demag_factors", io::to_json(device::demag_factors(d))},
                            {"run",
                             {{"drive", drive_spec},
                              {"duration_s", double(o.steps) * dt},
                              {"dt_s", dt},
                              {"steps", o.steps},
                              {"integrator", llg::enum_name(o.method)},
                              {"seed", seed},
                              {"record_every", record_every}}},
                            {"threshold", threshold},
                            {"spikes", spikes},
                            {"m_dot_p_range", {lo, hi}},
                            {"final_m", io::to_json(ens.m(0))}};
        io::write_json_file((dir / "summary.json").string(), summary);

        fmt::print(
            "mtj_trace: {} steps of {:g} s ({}), {} spikes (+{} / -{}); m.p in [{:.3f}, {:.3f}]\n",
            o.steps, dt, llg::enum_name(o.method), spikes.size(),
            std::count_if(r.events[0].begin(), r.events[0].end(),
                          [](auto& e) { return e.spec == 0; }),
            std::count_if(r.events[0].begin(), r.events[0].end(),
                          [](auto& e) { return e.spec == 1; }),
            lo, hi);
        fmt::print("outputs:\n  {}\n  {}\n", (dir / "trace.csv").string(),
                   (dir / "summary.json").string());
        plot(dir);
    } catch (const std::exception& e) { // spinfire::error and the standard library's
        fmt::print(stderr, "mtj_trace: {}\n", e.what());
        return 1;
    }
    return 0;
}
