#pragma once
// Command-line binding of run_options (CLI11), shared by the training programs so that
// both accept the same options with the same meaning.
#include <cstdlib>
#include <string>

#include <unistd.h>

#include <CLI/CLI.hpp>

#include "spinfire/train/options.hpp"

namespace spinfire::train {

/// GNU OpenMP idles its workers by spinning; beside TBB's element-wise kernels and the
/// loader thread on a few cores that spinning took 78 % of the CPU time of a training run
/// (perf, 2 cores). The policy is read once when libgomp loads, so a program calls this
/// first thing in main: it re-executes itself with OMP_WAIT_POLICY=PASSIVE unless the user
/// has set a policy.
inline void prefer_passive_openmp(char** argv) {
    if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
    ::setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    ::execv("/proc/self/exe", argv); // returns only on failure: then run as we are
}

/// Adds the common options; defaults shown in --help are the recipe's.
inline void add_options(CLI::App& app, run_options& o) {
    app.add_option("--data", o.data, "dataset directory")->required();
    app.add_option("--out", o.out, "output directory (metrics, checkpoints, evaluation, weights)")
        ->required();
    app.add_option("--neuron", o.neuron, "ideal | mtj | <fitted-neuron.json>")
        ->capture_default_str();
    app.add_option("--T", o.steps, "SNN time steps")->capture_default_str();
    app.add_option("--T-early", o.early_steps,
                   "time steps while training progress < --T-early-until (cheaper early steps; "
                   "0: always --T)")
        ->capture_default_str();
    app.add_option("--T-early-until", o.early_until,
                   "training progress (0-1, of the epochs or the time budget) at which training "
                   "switches from --T-early to --T")
        ->capture_default_str();
    app.add_option("--epochs", o.epochs, "epochs of the schedule (0: until the time budget)")
        ->capture_default_str();
    app.add_option("--time-budget", o.time_budget,
                   "minutes of training; the lr schedule ends and the run stops and evaluates then "
                   "(0: off)")
        ->capture_default_str();
    app.add_option("--batch", o.batch, "mini-batch size")->capture_default_str();
    app.add_option("--lr", o.lr, "peak learning rate")->capture_default_str();
    app.add_option("--precision", o.precision, "f32 | bf16 (bf16 is emulated without AVX-512 BF16)")
        ->check(CLI::IsMember({"f32", "bf16"}))
        ->capture_default_str();
    app.add_option("--threads", o.threads, "worker threads (TBB and oneDNN)")
        ->capture_default_str();
    app.add_option("--seed", o.seed, "seed of initialisation, shuffling and augmentation")
        ->capture_default_str();
    app.add_flag("--resume", o.resume, "continue from <out>/checkpoint.bin (same options)");
    app.add_flag("--overwrite", o.overwrite,
                 "start afresh even though <out> holds a checkpoint (it is replaced)");
    app.add_option("--optimizer", o.optimizer, "sgd | adamw")
        ->check(CLI::IsMember({"sgd", "adamw"}))
        ->capture_default_str();
    app.add_option("--loss", o.loss, "ce | tet")
        ->check(CLI::IsMember({"ce", "tet"}))
        ->capture_default_str();
    app.add_option("--momentum", o.momentum, "SGD momentum")->capture_default_str();
    app.add_option("--weight-decay", o.weight_decay, "weight decay")->capture_default_str();
    app.add_option("--label-smoothing", o.label_smoothing, "label smoothing (ce)")
        ->capture_default_str();
    app.add_option("--warmup", o.warmup, "fraction of the run spent warming the lr up")
        ->capture_default_str();
    app.add_option("--whiten", o.whiten,
                   "start the first conv as +/- whitened patch directions of the training images")
        ->capture_default_str();
    app.add_option("--alternate-flip", o.alternate_flip,
                   "flip each training image in every other epoch (random phase per image) "
                   "instead of independently per epoch")
        ->capture_default_str();
    app.add_option("--train-per-class", o.train_per_class,
                   "use the first N training samples per class (0: all)")
        ->capture_default_str();
    app.add_option("--test-per-class", o.test_per_class,
                   "use the first N test samples per class (0: all)")
        ->capture_default_str();
    app.add_option("--max-steps", o.max_steps,
                   "stop (with a checkpoint) after N optimizer steps in all (0: off)")
        ->capture_default_str();
    app.add_option("--eval-every", o.eval_every,
                   "test evaluation every N epochs (0: only at the end)")
        ->capture_default_str();
    app.add_option("--eval-batch", o.eval_batch, "evaluation batch size")->capture_default_str();
    app.add_option("--flip-tta", o.flip_tta,
                   "test-time augmentation: average each test sample's output with its mirror's")
        ->capture_default_str();
    app.add_option("--shift-tta", o.shift_tta,
                   "test-time augmentation: also average the outputs of copies shifted by N "
                   "pixels down-right and up-left (vacated pixels 0, the channel mean; 0: off)")
        ->capture_default_str();
    app.add_option("--match-neuron", o.match_neuron,
                   "start the BN scale before each neuron at mean threshold / gain (1 for ideal)")
        ->capture_default_str();
    app.add_option("--input-scale", o.input_scale,
                   "where a fitted neuron's drive scale (mean threshold / gain) lives: fixed (a "
                   "constant folded into the neuron's gain; the BNs train as for the ideal "
                   "neuron) | bn (the BN gamma in front of it, started there by --match-neuron; "
                   "the behaviour before 2026-11-30)")
        ->check(CLI::IsMember({"bn", "fixed"}))
        ->capture_default_str();
    app.add_option("--ema", o.ema,
                   "EMA decay of the weights that are evaluated and exported, e.g. 0.999 (0: off)")
        ->capture_default_str();
    app.add_option("--device-spread", o.device_spread,
                   "with --evaluate: relative per-neuron spread of beta, gain and thresholds")
        ->capture_default_str();
    app.add_option("--read-noise", o.device_read_noise,
                   "with --evaluate: read-noise standard deviation on the membrane read-out")
        ->capture_default_str();
    app.add_option(
           "--device-seed", o.device_seed,
           "with --evaluate: seed of the device draws (llg: the chip and its thermal noise)")
        ->capture_default_str();
    app.add_option("--neuron-sim", o.device.neuron_sim,
                   "with --evaluate: model (the fitted equations) | llg (every neuron a simulated "
                   "MTJ driven by the fitted protocol: device in the loop)")
        ->check(CLI::IsMember({"model", "llg"}))
        ->capture_default_str();
    app.add_option("--device", o.device.device_file,
                   "llg: device JSON (device::mtj keys; default: the preset orthogonal_mtj)");
    app.add_option("--protocol", o.device.protocol_file,
                   "llg: protocol JSON with every fit::protocol key (default: the protocol block "
                   "of the neuron's fitted file)");
    app.add_option("--temperature", o.device.temperature,
                   "llg: device temperature in K (stochastic Heun)")
        ->capture_default_str();
    app.add_option("--tolerance-nm", o.device.tolerance_nm,
                   "llg: per-device uniform +-tolerance on W, L and T, nm")
        ->capture_default_str();
    app.add_option("--ku-sigma", o.device.ku_sigma, "llg: per-device normal K_u spread, J/m^3")
        ->capture_default_str();
    app.add_option("--ms-sigma", o.device.ms_sigma, "llg: per-device relative normal Ms spread")
        ->capture_default_str();
    app.add_option("--llg-precision", o.device.llg_precision, "llg: float | double lanes")
        ->check(CLI::IsMember({"float", "double"}))
        ->capture_default_str();
    app.add_option("--train-spread", o.device.train_spread,
                   "noise-aware training: relative per-neuron spread of beta, gain and thresholds, "
                   "a new chip drawn every step (0: off)")
        ->capture_default_str();
    app.add_option("--train-read-noise", o.device.train_read_noise,
                   "noise-aware training: read-noise standard deviation on every spike decision "
                   "(units of V; 0: off)")
        ->capture_default_str();
    app.add_option("--teacher-epochs", o.teacher.epochs,
                   "train an ANN teacher (the network with the neuron's analog twin, T = 1) for "
                   "N epochs into <out>/teacher first (0: no teacher unless --teacher-budget)")
        ->capture_default_str();
    app.add_option("--teacher-budget", o.teacher.time_budget,
                   "minutes of teacher training (0: --teacher-epochs alone)")
        ->capture_default_str();
    app.add_option("--teacher-activation", o.teacher.activation,
                   "the analog twin of the signed neuron: clip (rate clipped to [-1, 1]) | tanh")
        ->check(CLI::IsMember({"clip", "tanh"}))
        ->capture_default_str();
    app.add_option("--hybrid-init", o.teacher.init,
                   "with a teacher: the SNN starts from the teacher's weights")
        ->capture_default_str();
    app.add_option("--calibrate", o.teacher.calibrate,
                   "with --hybrid-init: scale each BN before a neuron so that its spike rate "
                   "matches the teacher's mean |activation| there")
        ->capture_default_str();
    app.add_option(
           "--kd-alpha", o.teacher.kd_alpha,
           "with a teacher: weight of the distillation term, e.g. 0.5 (0: cross-entropy alone; "
           "off by default: it cost 1.9-3.4 points at 10 minutes, docs/results/cifar10.md)")
        ->capture_default_str();
    app.add_option("--kd-tau", o.teacher.kd_tau, "distillation softmax temperature")
        ->capture_default_str();
    app.add_flag("--quiet", o.quiet, "no progress lines");
}

/// The data-parallel options (the training programs add them when built with MPI).
inline void add_parallel_options(CLI::App& app, parallel_options& p) {
    app.add_flag("--sync-bn", p.sync_bn,
                 "under mpirun: batch norm trains on the statistics of the global batch (sums "
                 "over the ranks in forward and backward: one process's result within float "
                 "rounding) instead of each rank's shard (the default, cheaper)");
}

} // namespace spinfire::train
