#pragma once
// One program, one sitting: train the ANN teacher (the network's analog twin, T = 1) into
// <out>/teacher with its own checkpoint, metrics and --resume, then the SNN from it
// (trainer::set_teacher: hybrid initialisation, calibration, distillation). The teacher's
// minutes count towards the run's wall time, so a run's budget is --teacher-budget plus
// --time-budget.
#include <cstdio>
#include <string>

#include "spinfire/train/hybrid.hpp"
#include "spinfire/train/trainer.hpp"

namespace spinfire::train {

/// The teacher's run: the SNN's recipe at T = 1 (no early phase, no EMA) for the teacher's
/// epochs or minutes, marked as the analog twin so --evaluate and --resume treat it as one.
inline run_options teacher_run_options(const run_options& o) {
    run_options t = o;
    t.out = o.out + "/teacher";
    t.steps = 1;
    t.early_steps = 0;
    t.early_until = 0;
    t.epochs = o.teacher.epochs;
    t.time_budget = o.teacher.time_budget;
    t.max_steps = 0;
    t.ema = 0;
    t.loss = "ce";
    t.teacher.twin = true;
    t.teacher.kd_alpha = 0;
    return t;
}

/// Trains the teacher when o.teacher asks for one, then the network; without a teacher this
/// is trainer(...).run().
template <class Net, data::sample_source Source>
run_result train_with_teacher(Net& net, const Source& train_set, const Source& test_set,
                              const run_options& o, const run_description& d,
                              parallel_options parallel = {}) {
    validate(o);
    if (!o.teacher.active())
        return trainer<Net, Source>(net, train_set, test_set, o, d, parallel).run();
    if (o.teacher.twin) throw parameter_error("teacher", "a teacher run has no teacher of its own");
    Net teacher = net;
    const run_options to = teacher_run_options(o);
    trainer<Net, Source> tt(teacher, train_set, test_set, to, d, parallel);
    if (!o.quiet)
        std::printf("training the ANN teacher (%s twin, T = 1) into %s\n",
                    o.teacher.activation.c_str(), to.out.c_str());
    const run_result tr = tt.run();
    if (tr.stop_reason == "interrupted") return tr; // Ctrl-C stops the program, not a phase
    const io::json report = {{"out", to.out},
                             {"activation", o.teacher.activation},
                             {"test_accuracy", tr.test.accuracy()},
                             {"epochs", tr.epochs},
                             {"train_seconds", tr.train_seconds},
                             {"wall_seconds_this_sitting", tr.wall_seconds}};
    if (!o.quiet)
        std::printf("teacher: test accuracy %.2f %% after %.2f epochs (%.1f s); now the SNN\n",
                    100 * tr.test.accuracy(), tr.epochs, tr.train_seconds);
    trainer<Net, Source> st(net, train_set, test_set, o, d, parallel);
    st.set_teacher(teacher, report);
    return st.run();
}

} // namespace spinfire::train
