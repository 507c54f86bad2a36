#pragma once
// Learning-rate schedules as functions of the optimizer step (0-based), PyTorch-compatible:
//   cosine:    min + (base - min) (1 + cos(pi s / total)) / 2
//   one_cycle: cosine warm-up from max/div to max over pct_start*total steps, then cosine
//              annealing to max/(div*final_div) (torch.optim.lr_scheduler.OneCycleLR)
//   warmup:    linear ramp from 0 over `steps` steps, then the wrapped schedule
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numbers>

#include "spinfire/core/error.hpp"

namespace spinfire::nn {

struct cosine_schedule {
    double base, min = 0;
    std::size_t total;
    cosine_schedule(double base_lr, std::size_t total_steps, double min_lr = 0)
        : base(base_lr), min(min_lr), total(total_steps) {
        require_non_negative("cosine_schedule.base", base_lr);
        if (total_steps == 0) throw parameter_error("cosine_schedule.total", "must be >= 1");
    }
    double operator()(std::size_t step) const {
        const double s = double(std::min(step, total));
        return min + (base - min) * 0.5 * (1 + std::cos(std::numbers::pi * s / double(total)));
    }
};

struct one_cycle_schedule {
    double max_lr, pct_start = 0.3, div = 25, final_div = 1e4;
    std::size_t total;
    one_cycle_schedule(double max, std::size_t total_steps, double pct = 0.3, double d = 25,
                       double fd = 1e4)
        : max_lr(max), pct_start(pct), div(d), final_div(fd), total(total_steps) {
        if (total_steps < 2) throw parameter_error("one_cycle_schedule.total", "must be >= 2");
        if (!(pct > 0 && pct < 1)) throw parameter_error("one_cycle_schedule.pct_start", "must be in (0, 1)");
    }
    double operator()(std::size_t step) const {
        const double initial = max_lr / div, final_lr = initial / final_div;
        const double up_end = pct_start * double(total) - 1, end = double(total) - 1;
        const double s = double(std::min(step, total - 1));
        auto anneal = [](double a, double b, double pct) {
            return b + (a - b) * 0.5 * (1 + std::cos(std::numbers::pi * pct));
        };
        if (s <= up_end) return anneal(initial, max_lr, s / up_end);
        return anneal(max_lr, final_lr, (s - up_end) / (end - up_end));
    }
};

template <class Inner>
struct warmup_schedule {
    std::size_t steps;
    Inner inner;
    double operator()(std::size_t step) const {
        const double lr = inner(step);
        return step < steps ? lr * double(step + 1) / double(steps) : lr;
    }
};
template <class Inner>
warmup_schedule<Inner> warmup(std::size_t steps, Inner inner) {
    return {steps, inner};
}

} // namespace spinfire::nn
