#pragma once
// Drives: the input of a device as a function of time (a current in A for the MTJ presets,
// in whatever unit a torque coefficient is expressed in). One value type covers the shapes
// users ask for; an ensemble holds one drive per lane and evaluates it per lane at each
// stage time, except that lanes whose drives are all constant are evaluated once.
//
//   dc(I)                                   I for all t
//   pulses(amp, width, period, signs, delay, count)
//       pulse n starts at delay + n period, lasts width, has value amp * signs[n % size];
//       count = 0 repeats forever, else only pulses n < count exist
//   sampled(t0, dt, values, linear)         values[k] at t0 + k dt, linear or zero-order
//                                           hold between samples, zero outside the samples
//   spikes(times, amplitudes, width)        rectangular pulses of the given signed amplitude
//                                           starting at sorted times (overlaps add)
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "spinfire/core/error.hpp"

namespace spinfire::llg {

class drive {
public:
    enum class kind { dc, pulses, sampled, spikes };

    drive() = default;

    static drive dc(double value) {
        require_finite("drive.dc", value);
        drive d;
        d.kind_ = kind::dc;
        d.amplitude_ = value;
        return d;
    }

    static drive pulses(double amplitude, double width, double period, std::vector<double> signs,
                        double delay = 0, std::size_t count = 0) {
        require_finite("drive.pulses.amplitude", amplitude);
        require_positive("drive.pulses.width", width);
        require_positive("drive.pulses.period", period);
        require_finite("drive.pulses.delay", delay);
        if (width > period) throw parameter_error("drive.pulses.width", "must be <= period");
        if (signs.empty()) throw parameter_error("drive.pulses.signs", "must not be empty");
        for (double s : signs) require_finite("drive.pulses.signs", s);
        drive d;
        d.kind_ = kind::pulses;
        d.amplitude_ = amplitude, d.width_ = width, d.period_ = period, d.t0_ = delay;
        d.count_ = count;
        d.values_ = std::move(signs);
        return d;
    }

    static drive sampled(double t0, double dt, std::vector<double> values, bool linear = true) {
        require_finite("drive.sampled.t0", t0);
        require_positive("drive.sampled.dt", dt);
        if (values.empty()) throw parameter_error("drive.sampled.values", "must not be empty");
        for (double v : values) require_finite("drive.sampled.values", v);
        drive d;
        d.kind_ = kind::sampled;
        d.t0_ = t0, d.period_ = dt, d.linear_ = linear;
        d.values_ = std::move(values);
        return d;
    }

    static drive spikes(std::vector<double> times, std::vector<double> amplitudes, double width) {
        require_positive("drive.spikes.width", width);
        if (times.size() != amplitudes.size())
            throw parameter_error("drive.spikes.amplitudes", "must have one entry per time");
        for (std::size_t i = 0; i < times.size(); ++i) {
            require_finite("drive.spikes.times", times[i]);
            require_finite("drive.spikes.amplitudes", amplitudes[i]);
            if (i > 0 && times[i] < times[i - 1])
                throw parameter_error("drive.spikes.times", "must be sorted");
        }
        drive d;
        d.kind_ = kind::spikes;
        d.width_ = width;
        d.times_ = std::move(times);
        d.values_ = std::move(amplitudes);
        return d;
    }

    /// The drive value at time t.
    double operator()(double t) const {
        switch (kind_) {
        case kind::dc:
            return amplitude_;
        case kind::pulses: {
            const double s = t - t0_;
            if (s < 0) return 0;
            const double n = std::floor(s / period_);
            if (count_ != 0 && n >= double(count_)) return 0;
            if (s - n * period_ >= width_) return 0;
            return amplitude_ * values_[std::size_t(n) % values_.size()];
        }
        case kind::sampled: {
            const double x = (t - t0_) / period_;
            if (x < 0 || x > double(values_.size() - 1) + (linear_ ? 0.0 : 1.0)) return 0;
            const std::size_t k = std::min(std::size_t(x), values_.size() - 1);
            if (!linear_ || k + 1 == values_.size()) return values_[k];
            const double f = x - double(k);
            return values_[k] + f * (values_[k + 1] - values_[k]);
        }
        case kind::spikes: {
            // Pulses starting in (t - width, t] are on.
            auto hi = std::upper_bound(times_.begin(), times_.end(), t);
            double v = 0;
            for (auto it = hi; it != times_.begin();) {
                --it;
                if (*it <= t - width_) break;
                v += values_[std::size_t(it - times_.begin())];
            }
            return v;
        }
        }
        return 0;
    }

    /// The one-sided limit of the drive at t, from the right (side > 0) or the left (side < 0).
    /// A step from t to t + dt uses the right limit at t and the left limit at t + dt, so an
    /// edge on the step grid belongs to the step on its own side and the drive is smooth inside
    /// every step (RK4 keeps its 4th order with edges on the grid). Edges are located to within
    /// eps > 0 (a small fraction of the step, far above the rounding of t): the value is read at
    /// t +- eps. A dc drive is its constant; a linearly sampled one is continuous inside its
    /// samples and read at t there, at t +- eps only within eps of its ends (where it jumps).
    double limit(double t, int side, double eps) const {
        const double at = side > 0 ? t + eps : t - eps;
        switch (kind_) {
        case kind::dc:
            return amplitude_;
        case kind::sampled: {
            if (!linear_) return (*this)(at);
            const double end = t0_ + double(values_.size() - 1) * period_;
            return std::abs(t - t0_) <= eps || std::abs(t - end) <= eps ? (*this)(at) : (*this)(t);
        }
        case kind::pulses:
        case kind::spikes:
            return (*this)(at);
        }
        return 0;
    }

    bool operator==(const drive&) const = default;

    kind type() const { return kind_; }
    bool is_constant() const { return kind_ == kind::dc; }
    /// Largest |value| the drive takes (for reports and step-size checks).
    double peak() const {
        double p = std::abs(amplitude_);
        if (kind_ == kind::pulses) {
            p = 0;
            for (double s : values_) p = std::max(p, std::abs(amplitude_ * s));
        } else if (kind_ == kind::sampled || kind_ == kind::spikes) {
            for (double v : values_) p = std::max(p, std::abs(v));
        }
        return p;
    }

    // Shape parameters (meaning depends on kind(); see the factories).
    double amplitude() const { return amplitude_; }
    double width() const { return width_; }
    double period() const { return period_; }
    double delay() const { return t0_; }
    std::size_t count() const { return count_; }
    const std::vector<double>& values() const { return values_; }
    const std::vector<double>& times() const { return times_; }
    bool linear() const { return linear_; }

private:
    kind kind_ = kind::dc;
    double amplitude_ = 0, width_ = 0, period_ = 1, t0_ = 0;
    std::size_t count_ = 0;
    bool linear_ = true;
    std::vector<double> values_, times_;
};

inline const char* enum_name(drive::kind k) {
    switch (k) {
    case drive::kind::dc:
        return "dc";
    case drive::kind::pulses:
        return "pulses";
    case drive::kind::sampled:
        return "sampled";
    case drive::kind::spikes:
        return "spikes";
    }
    return "?";
}

} // namespace spinfire::llg
