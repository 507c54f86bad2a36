// mtj_sweep: which devices and protocols make the orthogonal-easy-axis MTJ a signed LIF?
//
//   mtj_sweep                                   nominal study (writes to ./mtj_sweep_out)
//   mtj_sweep --width 8,10,12 --length 40,45,50 --heatmap width_nm,length_nm
//   mtj_sweep --mechanism stt --polarizer 0,-1,0 --amplitude 1e-3,2e-3 --temperature 0,300
//   mtj_sweep --combinations                    every mechanism x polarizer x readout axis
//   mtj_sweep --match-periods 4 ...             step = 4 precession periods of each device
//
// Grid axes (comma lists): --width, --length, --height (nm), --amplitude (drive per unit X:
// A for stt/sot, T for field), --alpha, --temperature (K); or --grid FILE (JSON with those
// keys: width_nm, length_nm, height_nm, amplitude, alpha, temperature). Every point runs
// the same input X[t] ~ N(0, 1) through the protocol, is fitted by the signed LIF and
// classified. Outputs in --out: sweep.csv (one row per point), report.json, heat maps
// heat_<a>_<b>.png (gnuplot; .dat/.gp kept when gnuplot is missing).
#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>
#include <fmt/core.h>
#include <spinfire/core/threads.hpp>
#include <spinfire/device/presets.hpp>
#include <spinfire/fit.hpp>
#ifdef SPINFIRE_WITH_MPI // built with -DSPINFIRE_WITH_MPI=ON: mpirun -np N mtj_sweep ...
#include <spinfire/dist.hpp>
#endif

using namespace spinfire;

namespace {
vec3<double> parse_axis(const std::string& s, const char* what) {
    if (s == "x" || s == "W" || s == "+x") return {1, 0, 0};
    if (s == "-x" || s == "-W") return {-1, 0, 0};
    if (s == "y" || s == "L" || s == "+y") return {0, 1, 0};
    if (s == "-y" || s == "-L") return {0, -1, 0};
    if (s == "z" || s == "T" || s == "+z") return {0, 0, 1};
    if (s == "-z" || s == "-T") return {0, 0, -1};
    vec3<double> v;
    if (std::sscanf(s.c_str(), "%lf,%lf,%lf", &v.x, &v.y, &v.z) != 3)
        throw parameter_error(what, "expected x|y|z|-x|-y|-z|W|L|T or 'a,b,c', got '" + s + "'");
    const double n = norm(v);
    if (!(n > 0)) throw parameter_error(what, "zero vector");
    return (1 / n) * v;
}
} // namespace

int main(int argc, char** argv) {
#ifdef SPINFIRE_WITH_MPI
    dist::environment mpi(argc, argv);
    const dist::communicator comm;
    std::string schedule = "dynamic";
#endif
    CLI::App app{"Sweep MTJ free-layer dimensions, drive, damping and temperature; fit the signed "
                 "LIF at every point and classify it"};
    fit::sweep_grid grid;
    fit::sweep_config cfg;
    std::string grid_file, device_file, protocol_file, out = "mtj_sweep_out";
    std::string mech = "sot", polarizer = "-y", readout = "x", reset = "ideal";
    std::vector<std::string> heatmaps{"width_nm,length_nm"};
    std::size_t nthreads = threads::available();
    bool combinations = false;
    double step_ns = cfg.proto.step_ns, pulse_ns = cfg.proto.pulse_ns, read_ns = cfg.proto.read_ns;
    app.add_option("--width", grid.width_nm, "free-layer W values, nm")->delimiter(',');
    app.add_option("--length", grid.length_nm, "free-layer L values, nm")->delimiter(',');
    app.add_option("--height", grid.height_nm, "free-layer T values, nm")->delimiter(',');
    app.add_option("--amplitude", grid.amplitude, "drive per unit X (A, or T for field)")->delimiter(',');
    app.add_option("--alpha", grid.alpha, "Gilbert damping values")->delimiter(',');
    app.add_option("--temperature", grid.temperature, "temperatures, K")->delimiter(',');
    app.add_option("--grid", grid_file, "grid JSON (replaces the axis options)");
    app.add_option("--device", device_file, "base device JSON (device::mtj keys); default orthogonal_mtj");
    app.add_option("--protocol", protocol_file, "base protocol JSON (fit::protocol keys)");
    app.add_option("--mechanism", mech, "stt | sot | field")->capture_default_str();
    app.add_option("--polarizer", polarizer, "STT polarizer / SOT spin / field axis")->capture_default_str();
    app.add_option("--readout", readout, "axis V is read along")->capture_default_str();
    app.add_option("--reset", reset, "relax | pulse | ideal")->capture_default_str();
    app.add_option("--step-ns", step_ns, "SNN step duration")->capture_default_str();
    app.add_option("--pulse-ns", pulse_ns, "input pulse width")->capture_default_str();
    app.add_option("--read-ns", read_ns, "read window")->capture_default_str();
    app.add_option("--match-periods", cfg.match_periods,
                   "> 0: each point's step = this many of its own precession periods (pulse: half)")
        ->capture_default_str();
    app.add_option("--steps", cfg.steps, "SNN steps per point")->capture_default_str();
    app.add_option("--seed", cfg.input_seed, "input sequence seed")->capture_default_str();
    app.add_option("--heatmap", heatmaps, "axis pairs a,b for heat maps (repeatable)");
    app.add_option("--threads", nthreads, "worker threads")->capture_default_str();
    app.add_option("--out", out, "output directory")->capture_default_str();
    app.add_flag("--combinations", combinations,
                 "run every mechanism x polarizer (W, L, -L) x readout (W, L) on the grid's first point");
#ifdef SPINFIRE_WITH_MPI
    app.add_option("--schedule", schedule,
                   "MPI: which rank runs which chunk: blocks | cyclic | dynamic")
        ->capture_default_str();
#endif
    CLI11_PARSE(app, argc, argv);

    try {
        threads budget(nthreads);
        cfg.device = device::orthogonal_mtj();
        if (!device_file.empty()) io::from_json(io::read_json_file(device_file), cfg.device, "device");
        if (!protocol_file.empty()) cfg.proto = fit::protocol_from_json(io::read_json_file(protocol_file));
        if (protocol_file.empty()) {
            cfg.proto.input = fit::parse_enum(mech, static_cast<fit::mechanism*>(nullptr), "--mechanism");
            cfg.proto.polarizer = parse_axis(polarizer, "--polarizer");
            cfg.proto.readout = parse_axis(readout, "--readout");
            cfg.proto.reset = fit::parse_enum(reset, static_cast<fit::reset_mode*>(nullptr), "--reset");
            cfg.proto.step_ns = step_ns, cfg.proto.pulse_ns = pulse_ns, cfg.proto.read_ns = read_ns;
        }
        if (!grid_file.empty()) io::from_json(io::read_json_file(grid_file), grid, "grid");
        std::filesystem::create_directories(out);
        io::json report = {{"device", io::to_json(cfg.device)}, {"protocol", fit::to_json(cfg.proto)},
                           {"grid", io::to_json(grid)}, {"steps", cfg.steps}, {"threads", nthreads}};

#ifdef SPINFIRE_WITH_MPI
        if (combinations && !comm.root()) return 0; // a handful of lanes: rank 0 alone
#endif
        if (combinations) {
            // One lane per (mechanism, polarizer, readout) at the grid's first point.
            const auto p0 = fit::grid_point(grid, 0);
            std::vector<fit::protocol_lane> lanes;
            std::vector<std::string> names;
            const std::pair<const char*, vec3<double>> pols[] = {{"W", {1, 0, 0}}, {"L", {0, 1, 0}}, {"-L", {0, -1, 0}}};
            const std::pair<const char*, vec3<double>> reads[] = {{"W", {1, 0, 0}}, {"L", {0, 1, 0}}};
            for (auto m : {fit::mechanism::stt, fit::mechanism::sot, fit::mechanism::field})
                for (const auto& [pn, pv] : pols)
                    for (const auto& [rn, rv] : reads) {
                        auto l = fit::sweep_lane(cfg, p0);
                        l.proto.input = m, l.proto.polarizer = pv, l.proto.readout = rv;
                        if (m == fit::mechanism::field) l.proto.drive_per_unit = p0.amplitude * 10; // ~T per A scale
                        lanes.push_back(l);
                        names.push_back(fmt::format("{} pol {} read {}", fit::enum_name(m), pn, rn));
                    }
            const auto x = fit::sweep_input(cfg);
            const auto res = fit::run_protocol(lanes, x);
            io::json rows = io::json::array();
            fmt::print("{:<24} {:>7} {:>8} {:>7} {:>8} {:>7} {:>9}  {}\n", "combination", "beta", "gain",
                       "nrmse", "agree", "spikes", "E/step", "class");
            for (std::size_t i = 0; i < lanes.size(); ++i) {
                io::json row = {{"combination", names[i]}, {"drive_per_unit", lanes[i].proto.drive_per_unit}};
                if (!res[i].failure.empty()) {
                    row["class"] = "unstable", row["failure"] = res[i].failure;
                    fmt::print("{:<24} unstable: {}\n", names[i], res[i].failure);
                } else {
                    try {
                        const auto f = fit::fit_signed_lif(res[i].tr, cfg.fit);
                        const auto c = fit::classify(f, cfg.classes);
                        row["model"] = io::to_json(f.model), row["quality"] = io::to_json(f.quality);
                        row["class"] = fit::enum_name(c);
                        row["energy_per_step_J"] = res[i].total_energy() / double(x.size());
                        fmt::print("{:<24} {:>7.3f} {:>8.4f} {:>7.4f} {:>8.3f} {:>7} {:>9.3g}  {}\n", names[i],
                                   f.model.beta, f.model.gain, f.quality.nrmse, f.quality.spike_agreement,
                                   f.quality.device_spikes, res[i].total_energy() / double(x.size()),
                                   fit::enum_name(c));
                    } catch (const error& e) {
                        row["class"] = "unstable", row["failure"] = e.what();
                        fmt::print("{:<24} no fit: {}\n", names[i], e.what());
                    }
                }
                rows.push_back(row);
            }
            report["combinations"] = rows;
            io::write_json_file(out + "/combinations.json", report);
            fmt::print("wrote {}/combinations.json\n", out);
            return 0;
        }

        const std::size_t n = fit::grid_size(grid);
        bool root = true;
#ifdef SPINFIRE_WITH_MPI
        root = comm.root();
        report["ranks"] = comm.size();
#endif
        if (root)
            fmt::print("mtj_sweep: {} points x {} steps ({} {} pol ({:g},{:g},{:g}) read ({:g},{:g},{:g})), {} threads\n",
                       n, cfg.steps, fit::enum_name(cfg.proto.input), fit::enum_name(cfg.proto.reset),
                       cfg.proto.polarizer.x, cfg.proto.polarizer.y, cfg.proto.polarizer.z, cfg.proto.readout.x,
                       cfg.proto.readout.y, cfg.proto.readout.z, nthreads);
        const auto t0 = std::chrono::steady_clock::now();
        auto progress = [&](std::size_t done, std::size_t total) {
            if (!root) return;
            const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            const double rate = double(done) / s;
            fmt::print("  [{}/{}] {:.1f} points/s, ETA {:.0f} s\n", done, total, rate, double(total - done) / rate);
            std::fflush(stdout);
        };
#ifdef SPINFIRE_WITH_MPI
        auto rows = dist::run_sweep(comm, cfg, grid,
                                    dist::parse_enum(schedule, static_cast<dist::schedule*>(nullptr), "--schedule"),
                                    progress);
        if (!root) return 0; // rank 0 holds every row and writes every file
#else
        auto rows = fit::run_sweep(cfg, grid, progress);
#endif
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        fit::write_sweep_csv(out + "/sweep.csv", rows);
        report["seconds"] = secs;
        report["points_per_second"] = double(n) / secs;
        report["classes"] = fit::class_counts(rows);
        const fit::sweep_row* best = nullptr;
        for (const auto& r : rows)
            if (r.failure.empty() && r.cls == fit::device_class::signed_lif &&
                (!best || r.quality.nrmse < best->quality.nrmse))
                best = &r;
        if (best) report["best_signed_lif"] = {{"point", io::to_json(best->point)},
                                               {"model", io::to_json(best->model)},
                                               {"quality", io::to_json(best->quality)}};
        io::json maps = io::json::array();
        for (const auto& hm : heatmaps) {
            const auto comma = hm.find(',');
            if (comma == std::string::npos) throw parameter_error("--heatmap", "expected a,b");
            const auto a = hm.substr(0, comma), b = hm.substr(comma + 1);
            const auto msg = fit::write_heatmap(rows, a, b, out + "/heat_" + a + "_" + b);
            fmt::print("  {}\n", msg);
            maps.push_back(msg);
        }
        report["heatmaps"] = maps;
        io::write_json_file(out + "/report.json", report);
        fmt::print("{} points in {:.1f} s; classes {}; wrote {}/sweep.csv and {}/report.json\n", n, secs,
                   report["classes"].dump(), out, out);
    } catch (const std::exception& e) {
        fmt::print(stderr, "mtj_sweep: {}\n", e.what());
#ifdef SPINFIRE_WITH_MPI
        if (comm.size() > 1) dist::environment::abort(1); // the other ranks may wait in a collective
#endif
        return 1;
    }
}
