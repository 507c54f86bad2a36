// fit_signed_lif: fit the signed LIF neuron to a device trace and write the fitted-neuron
// JSON that the network trainers load with --neuron <file> (model mtj_signed_lif).
//
//   fit_signed_lif                                   simulate the orthogonal_mtj preset under
//                                                    the default protocol, fit, add the 300 K
//                                                    variability spread, write ./fitted.json
//   fit_signed_lif --trace trace.csv --out n.json    fit a recorded trace (spinfire.trace.v1
//                                                    CSV: step,x,h,v,s with a v0 comment line)
//   fit_signed_lif --device d.json --protocol p.json --steps 400 --devices 64
//
// Outputs: the fitted-neuron JSON (--out), and beside it <stem>.trace.csv (device trace),
// <stem>.model.csv (fitted model on the same input) and <stem>.report.json (fit details,
// energies, variability summary).
#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>
#include <fmt/core.h>
#include <spinfire/core/threads.hpp>
#include <spinfire/device/presets.hpp>
#include <spinfire/fit.hpp>
#ifdef SPINFIRE_WITH_MPI // built with -DSPINFIRE_WITH_MPI=ON: mpirun -np N fit_signed_lif ...
#include <cstdio>
#include <spinfire/dist.hpp>
#endif

using namespace spinfire;

int main(int argc, char** argv) {
    bool root = true;
#ifdef SPINFIRE_WITH_MPI
    // Every rank fits the nominal device (cheap); the Monte Carlo devices are shared out;
    // only rank 0 prints and writes.
    dist::environment mpi(argc, argv);
    const dist::communicator comm;
    root = comm.root();
    if (!root && !std::freopen("/dev/null", "w", stdout)) return 1;
    std::string schedule = "dynamic";
#endif
    CLI::App app{"Fit the signed LIF neuron to an MTJ trace and write the fitted-neuron JSON"};
    std::string trace_file, device_file, protocol_file, out = "fitted.json";
    std::size_t steps = 400, nthreads = threads::available();
    long devices = 32;
    double temperature = 300, tol_nm = 1.0, ku_sigma = 5e3, ms_sigma = 0.02;
    std::uint64_t seed = 1;
    fit::fit_options fo;
    app.add_option("--trace", trace_file, "fit this trace CSV instead of simulating");
    app.add_option("--device", device_file, "device JSON (device::mtj keys); default orthogonal_mtj");
    app.add_option("--protocol", protocol_file, "protocol JSON (fit::protocol keys); default protocol");
    app.add_option("--steps", steps, "SNN steps to simulate")->capture_default_str();
    app.add_option("--seed", seed, "input sequence seed (X ~ N(0, 1))")->capture_default_str();
    app.add_option("--devices", devices, "Monte Carlo devices for the spread (0: none)")->capture_default_str();
    app.add_option("--temperature", temperature, "Monte Carlo temperature, K")->capture_default_str();
    app.add_option("--tolerance-nm", tol_nm, "Monte Carlo dimension tolerance (uniform +-)")->capture_default_str();
    app.add_option("--ku-sigma", ku_sigma, "Monte Carlo anisotropy spread, J/m^3")->capture_default_str();
    app.add_option("--ms-sigma", ms_sigma, "Monte Carlo relative Ms spread")->capture_default_str();
    app.add_flag("!--no-saturation", fo.allow_saturation, "do not try the tanh saturation term");
    app.add_option("--threads", nthreads, "worker threads")->capture_default_str();
    app.add_option("--out", out, "fitted-neuron JSON to write")->capture_default_str();
#ifdef SPINFIRE_WITH_MPI
    app.add_option("--schedule", schedule,
                   "MPI: which rank runs which group of devices: blocks | cyclic | dynamic")
        ->capture_default_str();
#endif
    CLI11_PARSE(app, argc, argv);
    try {
        threads budget(nthreads);
        const std::filesystem::path outp(out);
        const std::string stem = (outp.parent_path() / outp.stem()).string();
        device::mtj dev = device::orthogonal_mtj();
        fit::protocol proto;
        if (!device_file.empty()) io::from_json(io::read_json_file(device_file), dev, "device");
        if (!protocol_file.empty()) proto = fit::protocol_from_json(io::read_json_file(protocol_file));
        io::json report = io::json::object();
        fit::trace tr;
        const auto t0 = std::chrono::steady_clock::now();
        if (!trace_file.empty()) {
            tr = fit::read_trace_csv(trace_file);
            report["trace"] = trace_file;
            fmt::print("fit_signed_lif: {} steps from {}\n", tr.size(), trace_file);
        } else {
            fit::sweep_config c;
            c.steps = steps, c.input_seed = seed;
            const auto x = fit::sweep_input(c);
            const fit::protocol_lane lane{dev, proto, {}};
            fmt::print("fit_signed_lif: simulating {} steps of {} ns on the device ({} drive)...\n", steps,
                       proto.step_ns, fit::enum_name(proto.input));
            const auto r = fit::run_protocol(std::span(&lane, 1), x).front();
            if (!r.failure.empty()) throw numeric_error(r.failure);
            tr = r.tr;
            if (root) fit::write_trace_csv(stem + ".trace.csv", tr);
            const double spikes = double(std::max(1L, r.spikes()));
            report["energy"] = {{"input_J", r.input_energy}, {"reset_J", r.reset_energy},
                                {"read_J", r.read_energy}, {"per_step_J", r.total_energy() / double(steps)},
                                {"per_spike_J", r.total_energy() / spikes}, {"spikes", r.spikes()},
                                {"paper_estimate_per_spike_J", 0.3e-12}};
        }
        const auto f = fit::fit_signed_lif(tr, fo);
        const auto cls = fit::classify(f);
        fmt::print("  beta {:.4f}  gain {:.4f}  theta+ {:.4f} [{:.4f}, {:.4f}]  theta- {:.4f} [{:.4f}, {:.4f}]\n",
                   f.model.beta, f.model.gain, f.model.theta_pos, f.theta_pos_lo, f.theta_pos_hi,
                   f.model.theta_neg, f.theta_neg_lo, f.theta_neg_hi);
        fmt::print("  {} reset (v_reset {:.4f}), v_sat {:.4f}\n", f.model.hard_reset ? "hard" : "soft",
                   f.model.v_reset, f.model.v_sat);
        fmt::print("  nrmse {:.4f}  R^2 {:.4f}  one-step R^2 {:.4f}  spike agreement {:.4f} ({} device, {} model spikes)"
                   "  -> {}\n", f.quality.nrmse, f.quality.r2, f.one_step_r2, f.quality.spike_agreement,
                   f.quality.device_spikes, f.quality.model_spikes, fit::enum_name(cls));
        if (root) fit::write_trace_csv(stem + ".model.csv", f.model_trace);
        fit::parameter_spread spread{};
        if (trace_file.empty() && devices > 0) {
            fit::variability_spec vs;
            vs.devices = devices, vs.temperature = temperature, vs.dimension_tol_nm = tol_nm;
            vs.ku_sigma = ku_sigma, vs.ms_rel_sigma = ms_sigma;
            fit::sweep_config c;
            c.steps = steps, c.input_seed = seed;
            const auto x = fit::sweep_input(c);
            fmt::print("  variability: {} devices, +-{} nm, K_u sigma {} J/m^3, Ms sigma {} %, {} K...\n",
                       devices, tol_nm, vs.ku_sigma, 100 * vs.ms_rel_sigma, temperature);
#ifdef SPINFIRE_WITH_MPI
            const auto v = dist::run_variability(
                comm, dev, proto, vs, x, {}, fo,
                dist::parse_enum(schedule, static_cast<dist::schedule*>(nullptr), "--schedule"));
            if (!root) return 0; // rank 0 holds the summary and writes every file
#else
            const auto v = fit::run_variability(dev, proto, vs, x, {}, fo);
#endif
            spread = v.spread;
            report["variability"] = fit::to_json(v);
            report["variability"]["spec"] = io::to_json(vs);
            fmt::print("  beta {:.3f} +- {:.3f}, gain {:.3f} +- {:.3f}, read noise {:.3f}; spike sign errors {:.2f} %,"
                       " missed {:.2f} %, extra {:.2f} % (vs the nominal model)\n",
                       v.beta.mean, v.beta.std, v.gain.mean, v.gain.std, v.read_noise.mean,
                       100 * v.sign_error_rate, 100 * v.missed_rate, 100 * v.extra_rate);
        }
        if (!root) return 0;
        fit::fitted_neuron n;
        if (trace_file.empty()) n = fit::make_fitted_neuron(f, dev, proto, spread);
        else {
            fit::validate(f.model);
            n.model = f.model, n.quality = f.quality, n.spread = spread;
            n.protocol = {{"trace", trace_file}};
        }
        fit::save(out, n);
        report["model"] = io::to_json(f.model);
        report["quality"] = io::to_json(f.quality);
        report["class"] = fit::enum_name(cls);
        report["one_step_r2"] = f.one_step_r2;
        report["theta_brackets"] = {{"pos", {f.theta_pos_lo, f.theta_pos_hi}}, {"neg", {f.theta_neg_lo, f.theta_neg_hi}}};
        report["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        io::write_json_file(stem + ".report.json", report);
        fmt::print("wrote {} ({}.report.json, {}.model.csv{})\n", out, stem, stem,
                   trace_file.empty() ? ", " + stem + ".trace.csv" : "");
    } catch (const std::exception& e) {
        fmt::print(stderr, "fit_signed_lif: {}\n", e.what());
#ifdef SPINFIRE_WITH_MPI
        if (comm.size() > 1) dist::environment::abort(1); // the other ranks may wait in a collective
#endif
        return 1;
    }
}
