#pragma once
// One trainer for every dataset and network: mini-batch BPTT with SGD (Nesterov) or AdamW,
// a warm-up + cosine learning-rate schedule driven by the run's progress, progress lines,
// per-epoch metrics (JSON lines), atomic checkpoints every epoch and on every stop, exact
// resume, and the final evaluation and weight export.
//
// Progress p in [0, 1] drives the schedule: p = step / (epochs x batches per epoch), or,
// with a time budget, the larger of that and training time / budget, so the learning rate
// anneals to zero exactly when the budget runs out. With --T-early it also picks T: cheap
// early steps at a smaller T, then the run's T (which every evaluation uses). The budget counts
// training time only (forward, backward, update and any wait for the loader); test evaluations,
// checkpoints and the final export are reported separately.
//
// With --ema the evaluations and the exported weights are the exponential moving average
// of the weights (batch-norm statistics stay the live ones); its state is checkpointed.
//
// Exact resume: the sample order and augmentation of a step are functions of (seed, epoch,
// index) (data::loader), the parameters, batch-norm statistics, optimizer state, step and
// the partial-epoch sums are in the checkpoint, so stopping after k steps and resuming
// gives the weights of an uninterrupted run bit for bit (same seed and thread count; a
// time budget makes the schedule depend on measured time and so is not reproducible).
//
// Data-parallel training (parallel_options::replicas, dist::data_parallel under mpirun): the
// data order and augmentation are those of one process with the same global batch B; each
// of the P processes trains on samples [r B/P, (r + 1) B/P) of every global batch, from the
// same initial model (process 0's), and the optimizer steps on the gradients averaged over
// them, so every process keeps the same weights. The loss and accuracy are summed over the
// processes, and process 0's training clock and any process's Ctrl-C decide the schedule and
// the stop for all. Only process 0 evaluates, prints and writes files; on --resume every
// process reads the checkpoint.
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <future>
#include <numbers>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <type_traits>
#include <unistd.h>
#include <vector>

#include "spinfire/core/error.hpp"
#include "spinfire/core/threads.hpp"
#include "spinfire/data/loader.hpp"
#include "spinfire/io/atomic_file.hpp"
#include "spinfire/io/json.hpp"
#include "spinfire/nn/checkpoint.hpp"
#include "spinfire/nn/ema.hpp"
#include "spinfire/nn/loss.hpp"
#include "spinfire/nn/optimizer.hpp"
#include "spinfire/train/device_loop.hpp"
#include "spinfire/train/evaluate.hpp"
#include "spinfire/train/export.hpp"
#include "spinfire/train/hybrid.hpp"
#include "spinfire/train/model_file.hpp"
#include "spinfire/train/neuron_choice.hpp"
#include "spinfire/train/options.hpp"
#include "spinfire/train/whiten.hpp"

namespace spinfire::train {

/// Learning rate at progress p: linear ramp from lr/10 over the warm-up, then cosine to 0.
inline double scheduled_lr(double lr, double warmup, double p) {
    p = std::min(std::max(p, 0.0), 1.0);
    if (p < warmup) return lr * (0.1 + 0.9 * p / warmup);
    return lr * 0.5 * (1 + std::cos(std::numbers::pi * (p - warmup) / (1 - warmup)));
}

namespace detail {
inline std::atomic<bool>& interrupt_flag() {
    static std::atomic<bool> flag{false};
    return flag;
}
extern "C" inline void on_interrupt(int) { interrupt_flag().store(true); }

/// Options that must not change across a resume (they shape the weights).
inline const char* const resume_keys[] = {"steps",          "early_steps",     "early_until",
                                          "epochs",         "batch",           "lr",
                                          "seed",           "optimizer",       "loss",
                                          "momentum",       "weight_decay",    "label_smoothing",
                                          "warmup",         "train_per_class", "neuron",
                                          "precision",      "match_neuron",    "ema",
                                          "alternate_flip", "cutout",          "input_scale",
                                          "teacher"};

/// obj[key] as T, or a data_error naming file and field (missing, or of another type).
/// With a fallback, a missing field gives the fallback (an older file without it).
template <class T>
T state_field(const io::json& obj, const std::string& file, const std::string& key,
              const std::string& parent = "", std::optional<T> fallback = std::nullopt) {
    const std::string field = parent.empty() ? key : parent + "." + key;
    if (!obj.is_object()) throw data_error(file, "expected an object holding '" + field + "'");
    const auto it = obj.find(key);
    if (it == obj.end()) {
        if (fallback) return *fallback;
        throw data_error(file, "field '" + field + "' is missing");
    }
    bool ok = false;
    const char* expected = "";
    if constexpr (std::is_same_v<T, std::string>)
        ok = it->is_string(), expected = "a string";
    else if constexpr (std::is_same_v<T, bool>)
        ok = it->is_boolean(), expected = "true or false";
    else if constexpr (std::is_integral_v<T>)
        ok = it->is_number_unsigned(), expected = "a non-negative integer";
    else if constexpr (std::is_floating_point_v<T>)
        ok = it->is_number() && std::isfinite(it->template get<double>()),
        expected = "a finite number";
    else
        ok = it->is_array(), expected = "an array";
    if (!ok)
        throw data_error(file, "field '" + field + "' is " + it->dump() + ", expected " + expected);
    return it->template get<T>();
}

/// A state file's recorded options, with the value that files written before an option
/// meant by its absence (before --input-scale the drive scale lived in the BNs).
inline io::json saved_options(const io::json& state, const std::string& file) {
    if (!state.is_object() || !state.contains("options") || !state.at("options").is_object())
        throw data_error(file, "field 'options' is missing or not an object");
    io::json o = state.at("options");
    if (!o.contains("input_scale")) o["input_scale"] = "bn";
    return o;
}
} // namespace detail

/// T of a training step at progress p: --T-early before the switch point, then --T.
/// Early steps at T = 1 cost ~0.6x a T = 2 step (the first conv runs once either way), so a
/// time-budgeted run makes more optimizer steps; evaluations always use --T.
inline std::size_t training_steps(const run_options& o, double p) {
    return o.early_steps > 0 && p < o.early_until ? o.early_steps : o.steps;
}

/// The evaluation settings a run's options ask for (steps, batch, precision, test-time
/// flip and shifts, the neuron's spike energy, the class count).
inline eval_settings evaluation_settings(const run_options& o, const neuron_choice& n,
                                         std::size_t classes) {
    eval_settings s;
    s.steps = o.steps;
    s.batch = o.eval_batch;
    s.prec = parse_precision(o.precision);
    s.energy.pj_per_spike = n.pj_per_spike;
    s.classes = classes ? classes : 10;
    s.flip = o.flip_tta;
    s.shift = o.shift_tta;
    return s;
}

struct run_result {
    evaluation test;          ///< final evaluation on the test set
    std::size_t steps = 0;    ///< optimizer steps done (all sittings)
    double epochs = 0;        ///< steps / batches per epoch
    double train_seconds = 0; ///< training time (all sittings)
    double wall_seconds = 0;  ///< this sitting, everything included
    std::string stop_reason;  ///< epochs | time_budget | max_steps | interrupted
    io::json metrics;         ///< what metrics.json holds
};

/// What the trainer records about the network and data beside the options.
struct run_description {
    std::string network; ///< e.g. "cifar10_fast<32>"
    io::json dataset = io::json::object();
    std::vector<std::string> class_names;
};

/// A model file's metadata (model_file.hpp): what the weights are, the options --evaluate
/// needs to run them as trained and, when `recorded` is given, the test evaluation they
/// reproduce with the conditions it ran under.
inline io::json model_description(const run_description& d, const run_options& o,
                                  const neuron_choice& n, std::uint64_t step,
                                  const evaluation* recorded) {
    const io::json teacher = {{"twin", o.teacher.twin}, {"activation", o.teacher.activation}};
    io::json m = {{"network", d.network},
                  {"dataset", d.dataset.value("name", std::string())},
                  {"step", step},
                  {"neuron", to_json(n)},
                  {"options",
                   {{"neuron", o.neuron},
                    {"steps", o.steps},
                    {"precision", o.precision},
                    {"input_scale", o.input_scale},
                    {"teacher", teacher}}}};
    if (recorded)
        m["recorded"] = {{"test_accuracy", recorded->accuracy()},
                         {"test_loss", recorded->loss},
                         {"test_samples", recorded->samples},
                         {"test_per_class", o.test_per_class},
                         {"flip_tta", o.flip_tta},
                         {"shift_tta", o.shift_tta},
                         {"isa", build_isa()}};
    return m;
}

template <class Net, data::sample_source Source>
class trainer {
public:
    trainer(Net& net, const Source& train_set, const Source& test_set, run_options options,
            run_description description, parallel_options parallel = {})
        : net_(&net), train_(&train_set), test_(&test_set), o_(std::move(options)),
          d_(std::move(description)), parallel_(parallel),
          root_(!parallel.replicas || parallel.replicas->rank() == 0) {
        validate(o_);
        shard_batch(o_.batch, parallel_.replicas);
        if (!root_) o_.quiet = true; // process 0 prints for all
        neuron_ = choose_neuron(o_.neuron, o_.input_scale == "fixed");
    }

    /// Optimizer steps done so far (after run(): all sittings).
    std::size_t step() const { return step_; }

    /// A trained ANN teacher (the same network type as its analog twin, train/hybrid.hpp):
    /// with the options' teacher.init the run starts from its weights (calibrated unless
    /// .calibrate is off), with .kd_alpha > 0 every step distils its outputs. report goes
    /// into metrics.json. The teacher must outlive run().
    void set_teacher(Net& teacher, io::json report) {
        if (o_.loss != "ce" && o_.teacher.kd_alpha > 0)
            throw parameter_error("kd_alpha", "distillation is defined for --loss ce");
        teacher_ = &teacher;
        teacher_report_ = std::move(report);
    }

    /// Trains until the schedule, the budget, --max-steps or Ctrl-C ends the sitting, then
    /// evaluates, writes metrics and exports the weights.
    run_result run() {
        const auto wall0 = clock::now();
        threads budget(o_.threads);
        if (root_) prepare_output();
        prepare_model();
        data::loader<Source> ld(*train_, o_.batch, true, true, o_.seed, /*drop_last*/ true);
        sitting s = prepare_schedule(ld);
        const std::string reason = train_epochs(ld, s);
        std::optional<io::json> partial = close_sitting(s);
        return finish(reason, partial, wall0);
    }

private:
    using clock = std::chrono::steady_clock;

    /// What the parts of one sitting (one call of run()) share.
    struct sitting {
        std::size_t total = 0;          ///< steps of the whole schedule (0: no epoch limit)
        double budget_s = 0;            ///< training-time budget, s (0: none)
        bool tty = false;               ///< progress lines rewrite one terminal line
        clock::time_point last_print{}; ///< of the last progress line
        double epoch_seconds_start = 0; ///< train_seconds_ when the epoch began (this sitting)
        std::size_t epoch_steps_start = 0;
        decltype(SIG_DFL) previous_handler = SIG_DFL; ///< SIGINT's handler before the sitting
    };

    /// The output directory, refusing to overwrite a checkpoint unless asked to.
    void prepare_output() {
        namespace fs = std::filesystem;
        if (!o_.resume && !o_.overwrite &&
            (fs::exists(checkpoint_file()) || fs::exists(state_file())))
            throw parameter_error("out", o_.out +
                                             " already holds a checkpoint (checkpoint.bin/json): "
                                             "--resume continues it, --overwrite replaces it");
        fs::create_directories(o_.out);
        io::remove_stale_temporaries(o_.out);
    }

    /// Initial weights (whitened first conv, or the teacher's), the neuron, the optimizer
    /// and the EMA.
    void prepare_model() {
        const bool from_teacher = teacher_ && o_.teacher.init;
        if (from_teacher)
            copy_weights(*net_, *teacher_);
        else
            net_->initialize(o_.seed);
        // counted as training time; a resume loads the weights, a teacher gave them
        if (o_.whiten && !o_.resume && !from_teacher) {
            const auto t0 = clock::now();
            const std::size_t pairs = whiten();
            const double secs = std::chrono::duration<double>(clock::now() - t0).count();
            train_seconds_ += secs;
            if (!o_.quiet)
                std::printf("whitened %zu filter pairs of the first conv in %.1f s\n", pairs, secs);
        }
        set_neuron(*net_, neuron_.params);
        set_analog(*net_, o_.teacher.twin ? parse_activation(o_.teacher.activation)
                                          : nn::analog_activation::off);
        // the teacher's twin saw the neuron's gain and thresholds: its BNs are matched already
        if (o_.match_neuron && !from_teacher) match_operating_point(net_->body(), neuron_.params);
        if (from_teacher && !resuming()) {
            if (o_.teacher.calibrate) calibrate();
            if (root_) evaluate_start();
        }
        if (auto* g = parallel_.replicas) { // process 0's model (whitening sums in any order)
            std::vector<nn::parameter*> params;
            std::vector<nn::buffer*> buffers;
            net_->visit_parameters(
                [&](const std::string&, nn::parameter& p) { params.push_back(&p); });
            net_->visit_buffers([&](const std::string&, nn::buffer& b) { buffers.push_back(&b); });
            g->share(params, buffers);
        }
        if (o_.optimizer == "sgd")
            sgd_.emplace(*net_, nn::sgd_options{o_.lr, o_.momentum, o_.weight_decay, true});
        else
            adamw_.emplace(*net_, nn::adamw_options{o_.lr, 0.9, 0.999, 1e-8, o_.weight_decay});
        if (o_.ema > 0) ema_.emplace(*net_, o_.ema);
    }

    bool resuming() const {
        return o_.resume && std::filesystem::is_regular_file(checkpoint_file());
    }

    /// Hybrid initialisation: the BN scales that put each neuron's spike rate on 256
    /// unaugmented training images at the teacher's activity (train/hybrid.hpp). Counted as
    /// training time. Every process computes the same scales (the same images).
    void calibrate() {
        const auto t0 = clock::now();
        const data::loader<Source> ld(*train_, std::min<std::size_t>(256, train_->size()), true,
                                      false, o_.seed);
        const auto b = ld.make_batch(ld.order(0), 0, 0);
        nn::tensor x;
        to_input(b.x, x);
        nn::context ctx;
        ctx.steps = o_.steps;
        ctx.prec = parse_precision(o_.precision);
        calibration_ = calibrate_to_teacher(*net_, *teacher_, x, ctx);
        const double secs = std::chrono::duration<double>(clock::now() - t0).count();
        train_seconds_ += secs;
        if (!o_.quiet) {
            std::printf("calibrated to the teacher in %.1f s: layer (teacher |a|, spike rate "
                        "before -> after, BN scale):",
                        secs);
            for (std::size_t l = 0; l < calibration_.scale.size(); ++l)
                std::printf(" %zu (%.3f, %.3f -> %.3f, x%.3f)", l, calibration_.target[l],
                            calibration_.before[l], calibration_.after[l], calibration_.scale[l]);
            std::printf("\n");
        }
    }

    /// The SNN's test accuracy on the teacher's (calibrated) weights, before any SNN step:
    /// what the conversion alone gives. Not training time, like every evaluation.
    void evaluate_start() {
        const evaluation ev = evaluate(*net_, *test_, eval_settings_(), d_.class_names);
        teacher_report_["snn_test_accuracy_at_start"] = ev.accuracy();
        if (!o_.quiet)
            std::printf("the SNN on the teacher's weights, before training: test accuracy %.2f %% "
                        "(spikes +%.4f -%.4f)\n",
                        100 * ev.accuracy(), ev.positive_rate, ev.negative_rate);
    }

    /// The schedule's length and budget, after resuming from a checkpoint when asked to.
    sitting prepare_schedule(const data::loader<Source>& ld) {
        bpe_ = ld.batches_per_epoch();
        if (bpe_ == 0) throw parameter_error("batch", "larger than the training set");
        sitting s;
        s.total = o_.epochs * bpe_;
        s.budget_s = o_.time_budget * 60.0;
        if (o_.resume) resume();
        if (s.total > 0 && step_ > s.total)
            throw parameter_error("epochs", "the checkpoint is past the end of this schedule");
        return s;
    }

    /// Why the sitting ends before the next step; empty while it goes on.
    std::string stop_reason(const sitting& s) const {
        if (s.total > 0 && step_ >= s.total) return "epochs";
        if (o_.max_steps > 0 && step_ >= o_.max_steps) return "max_steps";
        if (s.budget_s > 0 && train_seconds_ >= s.budget_s) return "time_budget";
        if (detail::interrupt_flag().load()) return "interrupted";
        return "";
    }

    /// Progress of the schedule in [0, 1]: steps done, or the budget's time spent if larger.
    double progress(const sitting& s) const {
        double p = s.total > 0 ? double(step_) / double(s.total) : 0.0;
        if (s.budget_s > 0) p = std::max(p, train_seconds_ / s.budget_s);
        return p;
    }

    /// The optimizer steps of this sitting, with the next batch loaded in the background;
    /// returns why they stopped (run_result::stop_reason).
    std::string train_epochs(const data::loader<Source>& ld, sitting& s) {
        nn::context ctx;
        ctx.training = true;
        ctx.steps = o_.steps;
        ctx.prec = parse_precision(o_.precision);
        ctx.seed = o_.seed;
        ctx.replicas = parallel_.replicas;
        ctx.sync_bn = parallel_.sync_bn;
        detail::interrupt_flag().store(false);
        s.previous_handler = std::signal(SIGINT, detail::on_interrupt);
        s.tty = ::isatty(1) != 0;

        // A process's shard r of global batch j is batch j P + r of a loader with batch B/P
        // over the same order (P = 1, r = 0: the global batch itself).
        const std::size_t shards = parallel_.replicas ? parallel_.replicas->size() : 1;
        const std::size_t shard = parallel_.replicas ? parallel_.replicas->rank() : 0;
        const data::loader<Source> by_shard(*train_, o_.batch / shards, true, true, o_.seed);
        if (parallel_.replicas) { // e.g. the whitening took each process its own time
            double loss = 0;
            std::size_t correct = 0, seen = 0;
            share_clock(loss, correct, seen);
        }
        std::uint64_t order_epoch = ~0ull;
        std::vector<std::size_t> order;
        auto batch_at = [&](std::size_t k) {
            const std::size_t e = k / bpe_;
            if (e != order_epoch) order = ld.order(e), order_epoch = e;
            return std::async(std::launch::async,
                              [&by_shard, ord = order, e, j = (k % bpe_) * shards + shard] {
                                  return by_shard.make_batch(ord, e, j);
                              });
        };
        s.last_print = clock::now();
        s.epoch_seconds_start = train_seconds_;
        s.epoch_steps_start = step_;
        auto next = batch_at(step_);
        std::string reason;
        while ((reason = stop_reason(s)).empty()) {
            const auto t0 = clock::now();
            auto b = next.get();
            if (step_ + 1 < (s.total > 0 ? s.total : ~std::size_t(0))) next = batch_at(step_ + 1);
            const double p = progress(s);
            const double lr = scheduled_lr(o_.lr, o_.warmup, p);
            ctx.steps = training_steps(o_, p);
            const nn::loss_result r = train_step(b, ctx, lr, s);
            ++step_;
            double loss = r.value * double(b.size());
            std::size_t correct = r.correct, seen = b.size();
            train_seconds_ += std::chrono::duration<double>(clock::now() - t0).count();
            if (parallel_.replicas) share_clock(loss, correct, seen);
            epoch_loss_ += loss;
            epoch_correct_ += correct;
            epoch_seen_ += seen;
            last_lr_ = lr;

            const bool epoch_end = step_ % bpe_ == 0;
            if (!o_.quiet) print_progress(s, lr, epoch_end);
            if (epoch_end) end_epoch(s);
        }
        if (next.valid()) next.wait();
        std::signal(SIGINT, s.previous_handler);
        if (!o_.quiet && s.tty) std::printf("\n");
        return reason;
    }

    /// Forward, loss, backward and the optimizer's update on one batch at learning rate lr.
    nn::loss_result train_step(const typename data::loader<Source>::batch_type& b, nn::context& ctx,
                               double lr, const sitting& s) {
        to_input(b.x, x_);
        ctx.iteration = step_;
        // Noise-aware training: a new chip (per-neuron parameters) every step, and read
        // noise on every spike decision; evaluations between steps see the nominal model.
        const bool noise_aware = o_.device.noise_aware();
        if (noise_aware)
            set_device(*net_, neuron_,
                       {o_.device.train_spread, o_.device.train_read_noise,
                        o_.seed ^ (0x5851f42d4c957f2dull * (step_ + 1))});
        // a non-finite output or loss stops the run before the update spreads it
        const auto r = [&] {
            try {
                const nn::tensor& out = net_->forward(x_, ctx);
                const std::span<const int> labels(b.labels.data(), b.labels.size());
                auto res = loss(out, labels, ctx);
                if (!std::isfinite(res.value))
                    throw numeric_error("the loss is not finite (" +
                                        spinfire::detail::num(res.value) + ")");
                return res;
            } catch (const numeric_error& e) {
                std::signal(SIGINT, s.previous_handler);
                throw numeric_error("training step " + std::to_string(step_ + 1) + " (lr " +
                                    spinfire::detail::num(lr) + "): " + e.what() +
                                    "; training stopped, " + checkpoint_file() +
                                    " holds the last saved state");
            }
        }();
        net_->backward(r.grad, ctx);
        if (parallel_.replicas) parallel_.replicas->average_gradients();
        if (noise_aware) clear_device(*net_);
        if (sgd_)
            sgd_->set_lr(lr), sgd_->step();
        else
            adamw_->set_lr(lr), adamw_->step();
        if (ema_) ema_->update(*net_);
        return r;
    }

    /// The run's loss: TET, or CE with the teacher's outputs distilled into it when there is
    /// one.
    nn::loss_result loss(const nn::tensor& out, std::span<const int> labels,
                         const nn::context& ctx) {
        if (o_.loss == "tet") return nn::tet(out, labels);
        if (teacher_ && o_.teacher.kd_alpha > 0)
            return nn::distillation(out, labels, teacher_outputs(ctx), o_.teacher.kd_alpha,
                                    o_.teacher.kd_tau, o_.label_smoothing);
        return nn::cross_entropy(out, labels, o_.label_smoothing);
    }
    /// The teacher's logits on the step's input (inference, one step, the run's precision).
    const nn::tensor& teacher_outputs(const nn::context& ctx) {
        nn::context tc;
        tc.training = false;
        tc.steps = 1;
        tc.prec = ctx.prec;
        return teacher_->forward(x_, tc);
    }

    /// Sums a step's loss, correct and seen counts over the processes, and gives every
    /// process process 0's training time and a Ctrl-C that any process received: the
    /// schedule's progress and the stop must be the same everywhere.
    void share_clock(double& loss, std::size_t& correct, std::size_t& seen) {
        double v[5] = {loss, double(correct), double(seen), root_ ? train_seconds_ : 0.0,
                       detail::interrupt_flag().load() ? 1.0 : 0.0};
        parallel_.replicas->sum(v, 5);
        loss = v[0];
        correct = std::size_t(v[1]);
        seen = std::size_t(v[2]);
        train_seconds_ = v[3];
        if (v[4] > 0) detail::interrupt_flag().store(true);
    }

    /// A progress line at each epoch's end and every second (30 s when not a terminal).
    void print_progress(sitting& s, double lr, bool epoch_end) {
        const auto now = clock::now();
        const double since = std::chrono::duration<double>(now - s.last_print).count();
        if (!epoch_end && since < (s.tty ? 1.0 : 30.0)) return;
        s.last_print = now;
        const double secs = train_seconds_ - s.epoch_seconds_start;
        const double rate = double((step_ - s.epoch_steps_start) * o_.batch) / std::max(secs, 1e-9);
        double eta = 0;
        if (s.total > 0) eta = double(s.total - std::min(step_, s.total)) * double(o_.batch) / rate;
        if (s.budget_s > 0)
            eta = s.total > 0 ? std::min(eta, s.budget_s - train_seconds_)
                              : s.budget_s - train_seconds_;
        std::printf("%sepoch %3zu step %5zu/%zu | %7.1f img/s | ETA %6.0f s | lr %.4f | loss "
                    "%.4f | acc %6.2f %%%s",
                    s.tty ? "\r" : "", step_ / bpe_ + (epoch_end ? 0 : 1), (step_ - 1) % bpe_ + 1,
                    bpe_, rate, std::max(eta, 0.0), lr, epoch_loss_ / double(epoch_seen_),
                    100.0 * double(epoch_correct_) / double(epoch_seen_), s.tty ? "" : "\n");
        std::fflush(stdout);
    }

    /// An epoch's record (with a test evaluation every --eval-every epochs but the last,
    /// which finish() evaluates) and a checkpoint.
    void end_epoch(sitting& s) {
        if (!o_.quiet && s.tty) std::printf("\n");
        const std::size_t epoch = step_ / bpe_;
        const bool last =
            (s.total > 0 && step_ >= s.total) || (s.budget_s > 0 && train_seconds_ >= s.budget_s);
        io::json rec = epoch_record(epoch, train_seconds_ - s.epoch_seconds_start,
                                    step_ - s.epoch_steps_start);
        if (root_ && !last && o_.eval_every > 0 && epoch % o_.eval_every == 0) {
            const evaluation ev =
                averaged([&] { return evaluate(*net_, *test_, eval_settings_(), d_.class_names); });
            add_eval(rec, ev);
            if (!o_.quiet)
                std::printf("epoch %3zu: test accuracy %.2f %% (loss %.4f, spikes +%.4f "
                            "-%.4f), %.1f s eval\n",
                            epoch, 100 * ev.accuracy(), ev.loss, ev.positive_rate, ev.negative_rate,
                            ev.seconds);
        }
        history_.push_back(rec);
        epoch_loss_ = 0, epoch_correct_ = 0, epoch_seen_ = 0;
        save();
        s.epoch_seconds_start = train_seconds_;
        s.epoch_steps_start = step_;
    }

    /// A sitting that stopped inside an epoch saves a checkpoint (epoch ends saved one
    /// already) and returns that partial epoch's record.
    std::optional<io::json> close_sitting(const sitting& s) {
        if (step_ % bpe_ == 0 && step_ != 0) return std::nullopt;
        save();
        io::json partial = epoch_record(step_ / bpe_, train_seconds_ - s.epoch_seconds_start,
                                        step_ - s.epoch_steps_start);
        partial["epoch"] = double(step_) / double(bpe_);
        partial["partial"] = true;
        return partial;
    }

    /// The final evaluation, metrics.jsonl with it, the exported weights and metrics.json.
    run_result finish(const std::string& reason, std::optional<io::json>& partial,
                      clock::time_point wall0) {
        run_result res;
        res.stop_reason = reason;
        res.steps = step_;
        res.epochs = double(step_) / double(bpe_);
        res.train_seconds = train_seconds_;
        if (!root_) return res;
        res.test =
            averaged([&] { return evaluate(*net_, *test_, eval_settings_(), d_.class_names); });
        write_evaluation(o_.out, res.test);
        // the last (possibly partial) epoch's record gets the final evaluation
        if (partial) {
            add_eval(*partial, res.test);
            write_metrics_lines(&*partial);
        } else if (!history_.empty()) {
            add_eval(history_.back(), res.test);
            write_metrics_lines();
        }
        export_final(res.test);
        res.wall_seconds = std::chrono::duration<double>(clock::now() - wall0).count();
        res.metrics = metrics_json(res);
        io::write_json_file(o_.out + "/metrics.json", res.metrics);
        if (!o_.quiet)
            std::printf("stopped (%s) after %zu steps (%.2f epochs, %.1f s training): test "
                        "accuracy %.2f %%\n",
                        reason.c_str(), step_, res.epochs, train_seconds_,
                        100 * res.test.accuracy());
        return res;
    }

    /// The (averaged) weights with what they are: o.out/weights (numpy) and o.out/model.bin
    /// (a model file recording the final test evaluation, which it reproduces).
    void export_final(const evaluation& test) {
        averaged([&] {
            export_weights(*net_, o_.out + "/weights",
                           {{"network", d_.network},
                            {"T", o_.steps},
                            {"neuron", to_json(neuron_)},
                            {"dataset", d_.dataset},
                            {"step", step_},
                            {"ema", o_.ema}});
            save_model(o_.out + "/model.bin", *net_,
                       model_description(d_, o_, neuron_, step_, &test));
            return 0;
        });
    }

    /// What metrics.json holds: the final evaluation, the run's totals and its conditions.
    io::json metrics_json(const run_result& res) const {
        io::json m = to_json(res.test);
        m["test_accuracy"] = res.test.accuracy();
        m["test_loss"] = res.test.loss;
        m["steps"] = res.steps;
        m["epochs"] = res.epochs;
        m["train_seconds"] = res.train_seconds;
        m["wall_seconds_this_sitting"] = res.wall_seconds;
        m["stop_reason"] = res.stop_reason;
        m["network"] = d_.network;
        m["dataset"] = d_.dataset;
        m["neuron"] = to_json(neuron_);
        m["options"] = io::to_json(o_);
        m["machine"] = {{"threads", o_.threads},
                        {"hardware_threads", std::thread::hardware_concurrency()},
                        {"native_bf16", nn::detail::native_bf16()}};
        if (teacher_) {
            m["teacher"] = teacher_report_;
            if (!calibration_.scale.empty()) m["teacher"]["calibration"] = to_json(calibration_);
        }
        if (parallel_.replicas)
            m["data_parallel"] = {{"processes", parallel_.replicas->size()},
                                  {"batch_per_process", o_.batch / parallel_.replicas->size()},
                                  {"sync_bn", parallel_.sync_bn}};
        return m;
    }
    /// Patch statistics from 10,000 training images spread over the set (~2 s here).
    std::size_t whiten() {
        if constexpr (Source::batch_rank == 4) {
            return whiten_first_conv(net_->body(), *train_, 10000);
        } else {
            throw parameter_error("whiten", "needs image batches [B, C, H, W]");
        }
    }

    /// f() with the EMA weights in the network when --ema is on.
    template <class F>
    auto averaged(F&& f) {
        if (ema_) ema_->swap(*net_);
        struct restore {
            trainer* t;
            ~restore() {
                if (t->ema_) t->ema_->swap(*t->net_);
            }
        } r{this};
        return f();
    }

    eval_settings eval_settings_() const {
        return evaluation_settings(o_, neuron_, d_.class_names.size());
    }

    io::json epoch_record(std::size_t epoch, double seconds, std::size_t steps) const {
        return {
            {"epoch", epoch},
            {"step", step_},
            {"lr", last_lr_},
            {"train_loss", epoch_seen_ ? epoch_loss_ / double(epoch_seen_) : 0.0},
            {"train_accuracy", epoch_seen_ ? double(epoch_correct_) / double(epoch_seen_) : 0.0},
            {"test_accuracy", nullptr},
            {"images_per_s", double(steps * o_.batch) / std::max(seconds, 1e-9)},
            {"train_seconds", train_seconds_}};
    }
    static void add_eval(io::json& rec, const evaluation& ev) {
        rec["test_accuracy"] = ev.accuracy();
        rec["test_loss"] = ev.loss;
        rec["spike_rate_positive"] = ev.positive_rate;
        rec["spike_rate_negative"] = ev.negative_rate;
        rec["sops_per_sample"] = ev.network.sops;
        rec["macs_per_sample"] = ev.network.macs;
        rec["energy_pj_per_sample"] = ev.network.energy_pj;
    }

    std::string checkpoint_file() const { return o_.out + "/checkpoint.bin"; }
    std::string state_file() const { return o_.out + "/checkpoint.json"; }

    /// metrics.jsonl: one line per finished epoch (and the partial one a stop leaves).
    void write_metrics_lines(const io::json* partial = nullptr) const {
        io::write_atomically(o_.out + "/metrics.jsonl", [&](std::ostream& os) {
            for (const auto& r : history_) os << r.dump() << '\n';
            if (partial) os << partial->dump() << '\n';
        });
    }

    /// One file, replaced by one rename: checkpoint.bin holds the weights, statistics and
    /// optimizer state and, as its metadata, the training state that names their step, so a
    /// kill at any moment leaves a consistent checkpoint. checkpoint.json, written after it,
    /// is a readable copy of that state (a kill in between leaves it one save behind).
    void save() {
        if (!root_) return;
        io::json opts = io::to_json(o_);
        io::json keep = io::json::object();
        for (const char* k : detail::resume_keys) keep[k] = opts[k];
        const io::json state = {{"format", "spinfire.train_state.v1"},
                                {"step", step_},
                                {"train_seconds", train_seconds_},
                                {"epoch_loss", epoch_loss_},
                                {"epoch_correct", epoch_correct_},
                                {"epoch_seen", epoch_seen_},
                                {"last_lr", last_lr_},
                                {"network", d_.network},
                                {"options", keep},
                                {"history", history_}};
        nn::ema* avg = ema_ ? &*ema_ : nullptr;
        if (sgd_) {
            nn::with_ema<nn::sgd> st{&*sgd_, avg};
            nn::save_checkpoint(checkpoint_file(), *net_, &st, step_, state.dump());
        } else {
            nn::with_ema<nn::adamw> st{&*adamw_, avg};
            nn::save_checkpoint(checkpoint_file(), *net_, &st, step_, state.dump());
        }
        io::write_json_file(state_file(), state);
        write_metrics_lines();
    }

    void resume() {
        namespace fs = std::filesystem;
        if (!fs::is_regular_file(checkpoint_file())) {
            if (!o_.quiet)
                std::printf("--resume: no checkpoint in %s, starting from scratch\n",
                            o_.out.c_str());
            return;
        }
        const nn::checkpoint_contents ck = nn::read_checkpoint(checkpoint_file());
        // the state inside checkpoint.bin; files written before it was there: checkpoint.json
        const std::string file = ck.metadata.empty() ? state_file() : checkpoint_file();
        io::json st;
        if (ck.metadata.empty()) {
            st = io::read_json_file(state_file());
        } else {
            try {
                st = io::json::parse(ck.metadata);
            } catch (const io::json::exception& e) {
                throw data_error(file, std::string("training state: ") + e.what());
            }
        }
        if (detail::state_field<std::string>(st, file, "format") != "spinfire.train_state.v1")
            throw data_error(file, "not a spinfire training state (field 'format')");
        const auto network = detail::state_field<std::string>(st, file, "network");
        if (network != d_.network)
            throw parameter_error("resume", "checkpoint is for network '" + network +
                                                "', this run trains '" + d_.network + "'");
        const io::json opts = io::to_json(o_);
        const io::json saved = detail::saved_options(st, file);
        for (const char* k : detail::resume_keys)
            if (saved.contains(k) && saved[k] != opts[k]) // older files lack newer keys
                throw parameter_error(k, "differs from the checkpoint (" + saved[k].dump() +
                                             " there, " + opts[k].dump() +
                                             " here): resume needs the same value");
        const auto state_step = detail::state_field<std::uint64_t>(st, file, "step");
        if (ck.user_step != state_step)
            throw data_error(
                file, "step " + std::to_string(state_step) + " but checkpoint.bin holds step " +
                          std::to_string(ck.user_step) + " (delete both to start again)");
        const auto seconds = detail::state_field<double>(st, file, "train_seconds");
        const auto loss = detail::state_field<double>(st, file, "epoch_loss");
        const auto correct = detail::state_field<std::size_t>(st, file, "epoch_correct");
        const auto seen = detail::state_field<std::size_t>(st, file, "epoch_seen");
        const auto lr = detail::state_field<double>(st, file, "last_lr");
        auto history = detail::state_field<std::vector<io::json>>(st, file, "history");
        nn::ema* avg = ema_ ? &*ema_ : nullptr;
        if (sgd_) {
            nn::with_ema<nn::sgd> state{&*sgd_, avg};
            nn::apply_checkpoint(ck, *net_, &state);
        } else {
            nn::with_ema<nn::adamw> state{&*adamw_, avg};
            nn::apply_checkpoint(ck, *net_, &state);
        }
        step_ = std::size_t(ck.user_step);
        train_seconds_ = seconds;
        epoch_loss_ = loss;
        epoch_correct_ = correct;
        epoch_seen_ = seen;
        last_lr_ = lr;
        history_ = std::move(history);
        if (!o_.quiet)
            std::printf("resumed from %s at step %zu (%.2f epochs, %.1f s of training)\n",
                        checkpoint_file().c_str(), step_, double(step_) / double(bpe_),
                        train_seconds_);
    }

    Net* net_;
    const Source* train_;
    const Source* test_;
    run_options o_;
    run_description d_;
    parallel_options parallel_;
    bool root_; ///< process 0 (or the only one): evaluates, prints and writes
    neuron_choice neuron_;
    std::optional<nn::sgd> sgd_;
    std::optional<nn::adamw> adamw_;
    std::optional<nn::ema> ema_;
    Net* teacher_ = nullptr;
    io::json teacher_report_;
    calibration calibration_;
    nn::tensor x_;
    std::size_t bpe_ = 0, step_ = 0, epoch_correct_ = 0, epoch_seen_ = 0;
    double train_seconds_ = 0, epoch_loss_ = 0, last_lr_ = 0;
    std::vector<io::json> history_;
};

/// One line on how an evaluation compares with the accuracy its model file records; empty
/// when it was not a model file or recorded none.
/// What the network's neurons did during evaluation e, for a program's one-line summary: the
/// spike rates, or for an ANN teacher (an analog twin: evaluate_checkpoint of a teacher's
/// checkpoint) that it has none, since its activations' signs are not spikes.
inline std::string activity_note(const evaluation& e) {
    char buf[96];
    if (e.conditions.contains("analog_twin"))
        std::snprintf(buf, sizeof buf, "no spikes (an analog twin, %s activations)",
                      e.conditions["analog_twin"].get<std::string>().c_str());
    else
        std::snprintf(buf, sizeof buf, "spikes +%.4f -%.4f per neuron and step", e.positive_rate,
                      e.negative_rate);
    return buf;
}

inline std::string recorded_note(const evaluation& e) {
    if (!e.conditions.contains("recorded")) return {};
    const io::json& r = e.conditions["recorded"];
    const double acc = r["test_accuracy"].get<double>();
    char pct[32];
    std::snprintf(pct, sizeof pct, "%.2f %%", 100 * acc);
    std::string note = std::string("recorded in the model file: ") + pct;
    if (!r["same_conditions"].get<bool>())
        return note + " under other conditions (test set, test-time views or device effects)";
    if (acc == e.accuracy()) return note + ", reproduced exactly";
    const std::string isa = r["isa"].get<std::string>();
    if (isa != build_isa())
        return note + ", not reproduced exactly: recorded by a build for " + isa +
               ", this one is " + build_isa() + " (other kernels, other order of float sums)";
    return note + ", NOT reproduced by a build for the same instruction set (a bug)";
}

namespace detail {
/// Takes the options a training state or model file records (file names it in errors)
/// into o, after checking that it is for network d.network.
inline void take_saved_options(run_options& o, const io::json& st, const std::string& file,
                               const run_description& d) {
    const auto network = state_field<std::string>(st, file, "network");
    if (network != d.network)
        throw parameter_error("net", "checkpoint is for network '" + network + "'");
    const io::json saved = saved_options(st, file);
    o.neuron = state_field<std::string>(saved, file, "neuron", "options");
    o.steps = state_field<std::size_t>(saved, file, "steps", "options");
    o.precision = state_field<std::string>(saved, file, "precision", "options");
    o.optimizer = state_field<std::string>(saved, file, "optimizer", "options", o.optimizer);
    o.ema = state_field<double>(saved, file, "ema", "options", 0.0);
    o.input_scale = state_field<std::string>(saved, file, "input_scale", "options");
    if (saved.contains("teacher") && saved["teacher"].is_object()) { // a teacher's own run
        const io::json& t = saved["teacher"];
        o.teacher.twin = state_field<bool>(t, file, "twin", "teacher");
        o.teacher.activation = state_field<std::string>(t, file, "activation", "teacher");
    }
}
} // namespace detail

/// Inference on a saved checkpoint or model file: evaluation.json, confusion.csv/png and
/// predictions.csv in o.out, and the weights exported to o.out/weights and o.out/model.bin.
/// The neuron and T recorded in a model file, or beside a checkpoint (checkpoint.json), take
/// precedence over o, so weights are evaluated as they were trained. A model file's recorded
/// test accuracy is compared when the conditions are the recorded ones
/// (e.conditions["recorded"]).
template <class Net, data::sample_source Source>
evaluation evaluate_checkpoint(Net& net, const Source& test, run_options o,
                               const run_description& d, const std::string& checkpoint) {
    namespace fs = std::filesystem;
    const nn::checkpoint_contents ck = nn::read_checkpoint(checkpoint);
    const std::optional<io::json> model = model_metadata(ck);
    const fs::path state = fs::path(checkpoint).parent_path() / "checkpoint.json";
    if (model)
        detail::take_saved_options(o, *model, checkpoint, d);
    else if (fs::is_regular_file(state))
        detail::take_saved_options(o, io::read_json_file(state.string()), state.string(), d);
    validate(o);
    threads budget(o.threads);
    fs::create_directories(o.out);
    const neuron_choice n = choose_neuron(o.neuron, o.input_scale == "fixed");
    if (model) { // the neuron's function must be the one the weights were trained with
        if (!model->contains("neuron") || !(*model)["neuron"].is_object())
            throw data_error(checkpoint, "field 'neuron' is missing or not an object");
        const io::json& was = (*model)["neuron"];
        const io::json now = to_json(n);
        if (was.value("params", io::json()) != now["params"] ||
            was.value("input_scale", io::json()) != now["input_scale"])
            throw data_error(checkpoint, "was trained with the neuron " + was.dump() + ", but '" +
                                             o.neuron + "' now resolves to " + now.dump() +
                                             " (set SPINFIRE_FITTED_NEURON to the file it was "
                                             "trained with)");
    }
    set_neuron(net, n.params);
    if (o.teacher.twin) set_analog(net, parse_activation(o.teacher.activation));
    std::uint64_t step = 0;
    if (o.ema > 0) { // the averaged weights, which the run itself evaluated and exported
        nn::ema avg(net, o.ema);
        if (o.optimizer == "sgd") {
            nn::sgd opt(net, nn::sgd_options{});
            nn::with_ema<nn::sgd> saved{&opt, &avg};
            step = nn::apply_checkpoint(ck, net, &saved);
        } else {
            nn::adamw opt(net, nn::adamw_options{});
            nn::with_ema<nn::adamw> saved{&opt, &avg};
            step = nn::apply_checkpoint(ck, net, &saved);
        }
        avg.swap(net);
    } else {
        step = nn::apply_checkpoint(ck, net);
    }
    if (model) step = detail::state_field<std::uint64_t>(*model, checkpoint, "step");
    const device_settings dev{o.device_spread, o.device_read_noise, o.device_seed};
    if (dev.active()) set_device(net, n, dev);
    auto es = evaluation_settings(o, n, d.class_names.size());
    std::optional<device_loop> loop;
    if (o.device.neuron_sim == "llg") {
        loop.emplace(net, n, o);
        es.before_forward = [&](const nn::tensor& in, const nn::context& c) {
            loop->reference_pass(net, in, c);
        };
    }
    evaluation e = evaluate(net, test, es, d.class_names);
    e.conditions = {{"neuron", to_json(n)},
                    {"device", to_json(dev)},
                    {"neuron_sim", o.device.neuron_sim},
                    {"test_per_class", o.test_per_class},
                    {"flip_tta", o.flip_tta},
                    {"shift_tta", o.shift_tta}};
    if (loop) e.conditions["device_in_the_loop"] = loop->report(e.samples * es.views());
    if (o.teacher.twin) e.conditions["analog_twin"] = o.teacher.activation;
    // the plain evaluation (no device effects) is what a model file records and reproduces
    const bool plain = !dev.active() && !loop;
    if (model && model->contains("recorded")) {
        const io::json& r = (*model)["recorded"];
        const bool same = plain && r.value("test_samples", std::size_t(0)) == e.samples &&
                          r.value("test_per_class", std::size_t(0)) == o.test_per_class &&
                          r.value("flip_tta", false) == o.flip_tta &&
                          r.value("shift_tta", std::size_t(0)) == o.shift_tta;
        e.conditions["recorded"] = {
            {"test_accuracy",
             detail::state_field<double>(r, checkpoint, "test_accuracy", "recorded")},
            {"same_conditions", same},
            {"isa", r.value("isa", std::string("unknown"))}};
    }
    write_evaluation(o.out, e);
    export_weights(net, o.out + "/weights",
                   {{"network", d.network},
                    {"T", o.steps},
                    {"neuron", to_json(n)},
                    {"dataset", d.dataset},
                    {"step", step},
                    {"checkpoint", checkpoint},
                    {"ema", o.ema}});
    save_model(o.out + "/model.bin", net, model_description(d, o, n, step, plain ? &e : nullptr));
    return e;
}

} // namespace spinfire::train
