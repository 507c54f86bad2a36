#pragma once
// The options of a training run, one reflected struct: the command line, the recorded
// configuration in metrics.json and the resume compatibility check all come from it.
// The defaults per dataset are the recipes (train/recipe.hpp).
#include <cstddef>
#include <cstdint>
#include <string>

#include "spinfire/core/error.hpp"
#include "spinfire/core/reflect.hpp"
#include "spinfire/nn/replicas.hpp"
#include "spinfire/nn/tensor.hpp"

namespace spinfire::train {

/// The device behind the neurons: simulated MTJs in --evaluate (--neuron-sim llg,
/// train/device_loop.hpp) and noise-aware training of a fitted neuron. A nested struct: Hana
/// reflects at most 39 fields per struct.
struct device_options {
    BOOST_HANA_DEFINE_STRUCT(device_options, (std::string, neuron_sim), // model | llg
                             (std::string, device_file), // device JSON (empty: the preset)
                             (std::string,
                              protocol_file),        // protocol JSON (empty: the fitted file's)
                             (double, temperature),  // K (replaces the device file's)
                             (double, tolerance_nm), // uniform +-tol on W, L, T per device
                             (double, ku_sigma),     // normal K_u spread, J/m^3
                             (double, ms_sigma),     // normal relative Ms spread
                             (std::string, llg_precision), // float | double lanes
                             (double, train_spread),       // training: sd of beta, gain, thresholds
                             (double, train_read_noise));  // training: sd on every spike decision
    device_options()
        : neuron_sim("model"), temperature(0), tolerance_nm(0), ku_sigma(0), ms_sigma(0),
          llg_precision("float"), train_spread(0), train_read_noise(0) {}
    bool noise_aware() const { return train_spread > 0 || train_read_noise > 0; }
};

/// An ANN teacher that the same program trains first (train/hybrid.hpp): the network with
/// the analog twin of its neuron, at T = 1. The SNN can start from its weights (hybrid
/// initialisation), with the BN scale in front of each neuron calibrated so that the layer
/// fires as much as the teacher's activation is large, and learn from its outputs
/// (knowledge distillation). No teacher unless teacher epochs or minutes are set.
struct teacher_options {
    BOOST_HANA_DEFINE_STRUCT(teacher_options, (std::size_t, epochs), // teacher epochs
                             (double, time_budget),                  // teacher minutes (0: none)
                             (std::string, activation),              // clip | tanh
                             (bool, init),       // the SNN starts from its weights
                             (bool, calibrate),  // BN scales matched to its activity
                             (double, kd_alpha), // weight of the distillation term
                             (double, kd_tau),   // softmax temperature of both sides
                             (bool, twin));      // this run trains the teacher itself
    teacher_options()
        : epochs(0), time_budget(0), activation("clip"), init(true), calibrate(true), kd_alpha(0),
          kd_tau(2), twin(false) {}
    bool active() const { return epochs > 0 || time_budget > 0; }
};

struct run_options {
    BOOST_HANA_DEFINE_STRUCT(
        run_options, (std::string, data), // dataset directory
        (std::string, out),               // output directory (metrics, checkpoints, evaluation)
        (std::string, neuron),            // ideal | mtj | <fitted-neuron.json>
        (std::size_t, steps), // T, SNN time steps (evaluation; training after the early phase)
        (std::size_t, early_steps),     // T while training progress < early_until (0: always T)
        (double, early_until),          // progress in [0, 1] at which training switches to T
        (std::size_t, epochs),          // epochs of the schedule (0: the time budget alone ends it)
        (double, time_budget),          // minutes of training time (0: none)
        (std::size_t, batch),           // training mini-batch
        (double, lr),                   // peak learning rate
        (std::string, precision),       // f32 | bf16
        (std::size_t, threads),         // TBB + OpenMP threads
        (std::uint64_t, seed),          // initialisation, shuffling, augmentation
        (bool, resume),                 // continue from <out>/checkpoint.bin
        (bool, overwrite),              // replace a checkpoint already in <out>
        (std::string, optimizer),       // sgd (Nesterov) | adamw
        (std::string, loss),            // ce | tet
        (double, momentum),             // SGD momentum
        (double, weight_decay),         // L2 (SGD) or decoupled (AdamW) decay
        (double, label_smoothing),      // CE label smoothing
        (double, warmup),               // fraction of the run spent ramping the lr up
        (bool, whiten),                 // first conv starts as whitened patch directions
        (bool, alternate_flip),         // flip each image in every other epoch, not at random
        (std::size_t, cutout),          // side of the square zeroed per training image (0: off)
        (std::size_t, train_per_class), // 0: all; else the first N training samples per class
        (std::size_t, test_per_class),  // 0: all; else the first N test samples per class
        (std::size_t, max_steps),   // stop (and checkpoint) after this many optimizer steps; 0: off
        (std::size_t, eval_every),  // test evaluation every N epochs (0: only at the end)
        (std::size_t, eval_batch),  // evaluation mini-batch
        (bool, flip_tta),           // evaluate each test sample and its mirror, average outputs
        (std::size_t, shift_tta),   // also evaluate copies shifted by +-N pixels, average outputs
        (bool, match_neuron),       // BN scale before each neuron starts at threshold / gain
        (std::string, input_scale), // bn | fixed: where a fitted neuron's drive scale lives
        (double, ema),              // EMA decay of the weights evaluated and exported (0: off)
        (double, device_spread), // --evaluate: relative per-neuron spread of the neuron parameters
        (double, device_read_noise),  // --evaluate: read-noise standard deviation (units of V)
        (std::uint64_t, device_seed), // --evaluate: seed of those draws (and of the LLG chip)
        (device_options, device),     // simulated MTJs in --evaluate, noise-aware training
        (teacher_options, teacher));  // ANN teacher: hybrid initialisation, distillation
    bool quiet = false;               ///< no progress line (not part of the recorded configuration)
};

/// Data-parallel training: the processes and how batch norm sees their shards.
struct parallel_options {
    nn::replica_group* replicas = nullptr; ///< null: one process
    bool sync_bn = false; ///< BN statistics of the global batch (else of each shard: cheaper)
};

/// The samples per process of a global batch (all of it on one process); refuses a batch
/// that does not split evenly.
inline std::size_t shard_batch(std::size_t batch, const nn::replica_group* replicas) {
    if (!replicas) return batch;
    const std::size_t p = replicas->size();
    if (batch % p != 0)
        throw parameter_error("batch", "the global batch " + std::to_string(batch) +
                                           " does not split over " + std::to_string(p) +
                                           " processes: use a multiple of " + std::to_string(p));
    return batch / p;
}

/// Neutral values; a recipe fills in the dataset's defaults.
inline run_options base_options() {
    run_options o;
    o.neuron = "ideal";
    o.steps = 2;
    o.early_steps = 0;
    o.early_until = 0;
    o.epochs = 10;
    o.time_budget = 0;
    o.batch = 128;
    o.lr = 0.1;
    o.precision = "f32";
    o.threads = 2;
    o.seed = 1;
    o.resume = false;
    o.overwrite = false;
    o.optimizer = "sgd";
    o.loss = "ce";
    o.momentum = 0.9;
    o.weight_decay = 5e-4;
    o.label_smoothing = 0.1;
    o.warmup = 0.15;
    o.whiten = false;
    o.alternate_flip = false;
    o.cutout = 0;
    o.train_per_class = 0;
    o.test_per_class = 0;
    o.max_steps = 0;
    o.eval_every = 1;
    o.eval_batch = 250;
    o.flip_tta = false;
    o.shift_tta = 0;
    o.match_neuron = true;
    o.input_scale = "fixed";
    o.ema = 0;
    o.device_spread = 0;
    o.device_read_noise = 0;
    o.device_seed = 1;
    return o;
}

inline nn::precision parse_precision(const std::string& s) {
    if (s == "f32") return nn::precision::f32;
    if (s == "bf16") return nn::precision::bf16;
    throw parameter_error("precision", "'" + s + "' is not f32 or bf16");
}

/// --neuron-sim and the device options that only it reads (so none is silently ignored).
inline void validate_neuron_sim(const run_options& o) {
    const auto& l = o.device;
    if (l.neuron_sim != "model" && l.neuron_sim != "llg")
        throw parameter_error("neuron_sim", "'" + l.neuron_sim + "' is not model or llg");
    if (l.neuron_sim == "llg") {
        if (o.device_spread > 0 || o.device_read_noise > 0)
            throw parameter_error("neuron_sim", "llg simulates the devices themselves: "
                                                "--device-spread and --read-noise are for the "
                                                "model (use --tolerance-nm, --ku-sigma, "
                                                "--ms-sigma, --temperature)");
        return;
    }
    const device_options defaults;
    const bool device_options =
        !l.device_file.empty() || !l.protocol_file.empty() ||
        l.temperature != defaults.temperature || l.tolerance_nm != defaults.tolerance_nm ||
        l.ku_sigma != defaults.ku_sigma || l.ms_sigma != defaults.ms_sigma ||
        l.llg_precision != defaults.llg_precision;
    if (device_options)
        throw parameter_error("neuron_sim", "--device, --protocol, --temperature, --tolerance-nm, "
                                            "--ku-sigma, --ms-sigma and --llg-precision need "
                                            "--neuron-sim llg");
}

/// Rejects inconsistent options with the name of the offending one.
inline void validate(const run_options& o) {
    if (o.out.empty()) throw parameter_error("out", "an output directory is required");
    if (o.steps == 0) throw parameter_error("T", "must be >= 1");
    if (!(o.early_until >= 0 && o.early_until <= 1))
        throw parameter_error("early_until", "must be in [0, 1]");
    if (o.early_steps > 0 && o.early_until == 0)
        throw parameter_error("early_until", "--T-early needs a switch point in (0, 1]");
    if (o.input_scale != "bn" && o.input_scale != "fixed")
        throw parameter_error("input_scale", "'" + o.input_scale + "' is not bn or fixed");
    if (o.batch == 0) throw parameter_error("batch", "must be >= 1");
    if (o.eval_batch == 0) throw parameter_error("eval_batch", "must be >= 1");
    if (o.threads == 0) throw parameter_error("threads", "must be >= 1");
    if (o.epochs == 0 && o.time_budget <= 0 && o.max_steps == 0)
        throw parameter_error("epochs", "0 needs a --time-budget (or max_steps) to end the run");
    require_non_negative("time_budget", o.time_budget);
    require_positive("lr", o.lr);
    require_non_negative("weight_decay", o.weight_decay);
    if (!(o.momentum >= 0 && o.momentum < 1))
        throw parameter_error("momentum", "must be in [0, 1)");
    if (!(o.label_smoothing >= 0 && o.label_smoothing < 1))
        throw parameter_error("label_smoothing", "must be in [0, 1)");
    if (!(o.warmup >= 0 && o.warmup < 1)) throw parameter_error("warmup", "must be in [0, 1)");
    if (!(o.ema >= 0 && o.ema < 1)) throw parameter_error("ema", "must be in [0, 1)");
    require_non_negative("device_spread", o.device_spread);
    require_non_negative("device_read_noise", o.device_read_noise);
    require_non_negative("train_spread", o.device.train_spread);
    require_non_negative("train_read_noise", o.device.train_read_noise);
    validate_neuron_sim(o);
    const teacher_options& t = o.teacher;
    if (t.activation != "clip" && t.activation != "tanh")
        throw parameter_error("teacher_activation", "'" + t.activation + "' is not clip or tanh");
    require_non_negative("teacher_budget", t.time_budget);
    if (!(t.kd_alpha >= 0 && t.kd_alpha <= 1))
        throw parameter_error("kd_alpha", "must be in [0, 1]");
    require_positive("kd_tau", t.kd_tau);
    if (t.active() && t.kd_alpha > 0 && o.loss != "ce")
        throw parameter_error("kd_alpha", "distillation is defined for --loss ce");
    if (o.optimizer != "sgd" && o.optimizer != "adamw")
        throw parameter_error("optimizer", "'" + o.optimizer + "' is not sgd or adamw");
    if (o.loss != "ce" && o.loss != "tet")
        throw parameter_error("loss", "'" + o.loss + "' is not ce or tet");
    parse_precision(o.precision);
}

} // namespace spinfire::train
