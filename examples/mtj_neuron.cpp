// mtj_neuron: the paper's idea in one run. The preset orthogonal-easy-axis MTJ is driven by
// the protocol docs/results/device.md found (SOT along -L, m_W read at a step of four
// precession periods) with a random signed input; a signed LIF is fitted to the device's
// membrane, run on the same input, and both are drawn together with their + and - spikes.
//
//   mtj_neuron                         300 steps of X ~ N(0, 1), seed 1 -> mtj_neuron_out/
//   mtj_neuron --steps 400 --seed 2 --out dir
//
// Outputs: neuron.json (the fitted-neuron file the trainers load with --neuron <file>),
// membrane.csv (device and model per step), membrane.png. The switching demo (STT pulses
// flipping m, the full m(t)) is mtj_trace.
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <spinfire/device/presets.hpp>
#include <spinfire/fit/classify.hpp>
#include <spinfire/fit/device_protocol.hpp>
#include <spinfire/fit/export.hpp>
#include <spinfire/fit/signed_lif_fit.hpp>
#include <spinfire/fit/sweep.hpp>

using namespace spinfire;
namespace fs = std::filesystem;

namespace {

void write_csv(const fs::path& file, const fit::trace& dev, const fit::trace& model) {
    io::write_atomically(file.string(), [&](std::ostream& os) {
        os << "step,x,device_h,device_v,device_s,model_h,model_v,model_s\n";
        char line[160];
        for (std::size_t t = 0; t < dev.size(); ++t) {
            std::snprintf(line, sizeof line, "%zu,%.6f,%.6f,%.6f,%d,%.6f,%.6f,%d\n", t, dev.x[t],
                          dev.h[t], dev.v[t], int(dev.s[t]), model.h[t], model.v[t],
                          int(model.s[t]));
            os << line;
        }
    });
}

// Three panels on one step axis: membranes (pre-reset h, what the thresholds see, with m_W on
// the right axis), a spike raster (device row above the model row), the input underneath.
std::string plot(const fs::path& dir, const device::mtj& d, const fit::protocol& p,
                 const fit::fit_result& f) {
    const auto csv = (dir / "membrane.csv").string(), png = (dir / "membrane.png").string();
    const auto gp = (dir / "membrane.gp").string();
    const auto& m = f.model;
    const double lim = 2.5 * std::max(m.theta_pos, m.theta_neg); // a saturating read is clipped
    auto clip = [&](int col) {
        return "($" + std::to_string(col) + ">" + std::to_string(lim) + "?" + std::to_string(lim) +
               ":$" + std::to_string(col) + "<-" + std::to_string(lim) + "?-" +
               std::to_string(lim) + ":$" + std::to_string(col) + ")";
    };
    auto marks = [&](int spike_col, int h_col, bool pos, const char* style, const char* title) {
        return "'' skip 1 using 1:($" + std::to_string(spike_col) + (pos ? ">0" : "<0") + "?" +
               clip(h_col) + ":1/0) w p " + style + " t '" + title + "'";
    };
    io::write_atomically(gp, [&](std::ostream& os) {
        os << "set terminal pngcairo size 1400,950 font ',11' noenhanced\n"
           << "set output '" << png << "'\nset datafile separator ','\n"
           << "set multiplot title sprintf(\"Orthogonal-easy-axis MTJ (" << 1e9 * d.width << " x "
           << 1e9 * d.length << " x " << 1e9 * d.height
           << " nm, macrospin LLG, 0 K): SOT input along -L, "
           << "membrane = " << p.v_scale << " m_W read every " << p.step_ns << " ns\\n"
           << "fitted signed LIF: beta %.3f, gain %.3f, theta+ %.3f, theta- %.3f;  free-running on "
              "the same "
           << "input: nrmse %.1f %%, spike agreement %.1f %%\", " << m.beta << ',' << m.gain << ','
           << m.theta_pos << ',' << m.theta_neg << ',' << 100 * f.quality.nrmse << ','
           << 100 * f.quality.spike_agreement << ") font ',13'\n"
           << "set lmargin 10\nset rmargin 11\nset grid xtics ytics\nset xrange [-1:"
           << f.model_trace.size()
           << "]\nset format x ''\n"
           // membrane
           << "set size 1,0.54\nset origin 0,0.38\nset tmargin 2.5\nset bmargin 0.5\n"
           << "set key at graph 0.5, graph 1.0 center bottom horizontal maxrows 1 width 1 samplen "
              "3\n"
           << "set ylabel 'membrane h (before reset)'\nset y2label 'm_W'\nset ytics nomirror\n"
           << "set yrange [" << -lim * 1.08 << ':' << lim * 1.08 << "]\n"
           << "set link y2 via y/" << p.v_scale << " inverse y*" << p.v_scale << "\nset y2tics\n"
           << "plot " << m.theta_pos << " w l lc 'gray30' dt 2 lw 1.5 t 'thresholds',"
           << -m.theta_neg << " w l lc 'gray30' dt 2 lw 1.5 notitle,"
           << "'" << csv << "' skip 1 using 1:" << clip(3)
           << " w l lw 4 lc rgb '#9ecae1' t 'MTJ (LLG)',"
           << "'' skip 1 using 1:" << clip(6)
           << " w l lw 1.2 lc rgb '#d94801' t 'fitted signed LIF',"
           << marks(5, 3, true, "pt 9 ps 2.0 lc rgb '#c00000'", "MTJ +") << ','
           << marks(5, 3, false, "pt 11 ps 2.0 lc rgb '#0050c0'", "MTJ -") << ','
           << marks(8, 6, true, "pt 8 ps 3.0 lw 1.5 lc rgb '#000000'", "LIF +") << ','
           << marks(8, 6, false, "pt 10 ps 3.0 lw 1.5 lc rgb '#000000'", "LIF -") << "\n"
           << "unset y2label\nunset y2tics\nset ytics mirror\nunset key\n"
           // raster
           << "set size 1,0.13\nset origin 0,0.26\nset tmargin 0.5\nset bmargin 0.5\n"
           << "set ylabel 'spikes'\nset yrange [-0.7:1.7]\nset ytics ('LIF' 0, 'MTJ' 1)\nset grid "
              "noytics\n"
           << "plot '" << csv << "' skip 1 using 1:($5>0?1:1/0) w p pt 9 ps 1.6 lc rgb '#c00000',"
           << "'' skip 1 using 1:($5<0?1:1/0) w p pt 11 ps 1.6 lc rgb '#0050c0',"
           << "'' skip 1 using 1:($8>0?0:1/0) w p pt 8 ps 1.6 lw 1.5 lc rgb '#000000',"
           << "'' skip 1 using 1:($8<0?0:1/0) w p pt 10 ps 1.6 lw 1.5 lc rgb '#000000'\n"
           // input
           << "set size 1,0.26\nset origin 0,0.0\nset tmargin 0.5\nset bmargin 3.5\nset grid "
              "ytics\n"
           << "set autoscale y\nset ytics auto\nset format x '%g'\nset xlabel 'SNN step ("
           << p.step_ns << " ns each)'\nset ylabel 'input X (x " << 1e3 * p.drive_per_unit
           << " mA)'\n"
           << "plot '" << csv << "' skip 1 using 1:2 w impulses lw 2 lc rgb '#555555'\n"
           << "unset multiplot\n";
    });
    if (std::system("command -v gnuplot > /dev/null 2>&1") != 0)
        return "gnuplot is not installed: kept " + gp + ", no PNG";
    if (std::system(("gnuplot '" + gp + "'").c_str()) != 0)
        return "gnuplot failed on " + gp + ", no PNG";
    return png;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"Drive the preset MTJ as a signed neuron, fit a signed LIF to it, plot both"};
    std::size_t steps = 300;
    std::uint64_t seed = 1;
    std::string out = "mtj_neuron_out";
    app.add_option("--steps", steps, "SNN steps of random input")->capture_default_str();
    app.add_option("--seed", seed, "input sequence seed (X ~ N(0, 1))")->capture_default_str();
    app.add_option("--out", out, "output directory")->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    try {
        const device::mtj dev = device::orthogonal_mtj();
        const fit::protocol proto; // defaults: the SOT protocol of docs/results/device.md
        fit::sweep_config c;
        c.steps = steps, c.input_seed = seed;
        const auto x = fit::sweep_input(c);
        fmt::print("mtj_neuron: {} x {} x {} nm free layer, {} drive {:g} mA per unit input, "
                   "{} SNN steps of {} ns ({} LLG steps each)\n",
                   1e9 * dev.width, 1e9 * dev.length, 1e9 * dev.height, fit::enum_name(proto.input),
                   1e3 * proto.drive_per_unit, steps, proto.step_ns, proto.substeps_per_step());
        const fit::protocol_lane lane{dev, proto, {}};
        const auto r = fit::run_protocol(std::span(&lane, 1), x).front();
        if (!r.failure.empty()) throw numeric_error(r.failure);

        const auto f = fit::fit_signed_lif(r.tr);
        const auto& m = f.model;
        const auto& s = f.spikes;
        fmt::print("fitted signed LIF: beta {:.4f}  gain {:.4f}  theta+ {:.4f}  theta- {:.4f}  ({} "
                   "reset)\n",
                   m.beta, m.gain, m.theta_pos, m.theta_neg, m.hard_reset ? "hard" : "soft");
        fmt::print(
            "free-running on the same input: nrmse {:.2f} %  R^2 {:.3f}  spike agreement {:.2f} %"
            "  -> {}\n",
            100 * f.quality.nrmse, f.quality.r2, 100 * f.quality.spike_agreement,
            fit::enum_name(fit::classify(f)));
        fmt::print("spikes: MTJ +{} / -{}, LIF +{} / -{} (missed {}, extra {}, sign errors {})\n",
                   s.device_pos, s.device_neg, s.model_pos, s.model_neg, s.missed, s.extra,
                   s.sign_errors);
        fmt::print("energy: {:.3f} pJ per step, {:.2f} pJ per spike\n",
                   1e12 * r.total_energy() / double(steps),
                   1e12 * r.total_energy() / double(std::max(1L, r.spikes())));

        const fs::path dir(out);
        fit::save((dir / "neuron.json").string(), fit::make_fitted_neuron(f, dev, proto));
        write_csv(dir / "membrane.csv", r.tr, f.model_trace);
        fmt::print("outputs:\n  {}\n  {}\n  {}\n", (dir / "neuron.json").string(),
                   (dir / "membrane.csv").string(), plot(dir, dev, proto, f));
    } catch (const std::exception& e) {
        fmt::print(stderr, "mtj_neuron: {}\n", e.what());
        return 1;
    }
    return 0;
}
