#pragma once
// Device in the loop: a population of neurons whose state is an LLG system. One SNN step of
// one neuron is exactly one step of the protocol the fit used (fit/protocol.hpp):
//
//   input x -> drive u = x * input_scale * drive_per_unit for pulse_ns -> free evolution
//   -> h = v_scale * <m . readout> over the read window -> +1 if h >= theta_pos,
//   -1 if h <= -theta_neg, else 0 -> reset (ideal: m := m0; relax: nothing; pulse: a drive
//   -s * reset_drive * drive_per_unit for reset_ns)
//
// It is generic over the system (any llg::system: the protocol system of fit/ with SOT, STT or
// field drive, or a user's); the drive u enters the system's terms as in llg::ensemble. Each
// neuron of a sample has its own device parameters (a "chip": fabrication draws made once),
// and the same chip serves every sample of a batch.
//
// Loop order (as llg/ensemble.hpp, for the same reason): TBB over (sample, group of lanes);
// a group is one detail::wide<batch> (2 x 16 floats on AVX-512) of consecutive neurons of one
// sample, whose state, parameters and drive stay in registers for all T steps and every
// integrator substep of each; only x, the spikes and (optionally) the reads touch memory.
// Thermal noise (stochastic Heun, any lane with temperature > 0) is counter-based: neuron i
// of global sample k draws Philox stream k * n + i at counter t * substeps + s, so the
// result depends on neither the thread count nor the batch split; for one sample from 0 it
// is the stream and counter llg::ensemble uses in fit::run_protocol.
#include "spinfire/core/intrinsics.hpp" // first: TBB includes <immintrin.h> as well

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <string>
#include <vector>

#include "spinfire/core/aligned.hpp"
#include "spinfire/core/error.hpp"
#include "spinfire/core/simd.hpp"
#include "spinfire/core/vec3.hpp"
#include "spinfire/device/mtj.hpp"
#include "spinfire/fit/protocol.hpp"
#include "spinfire/llg/detail/philox_lanes.hpp"
#include "spinfire/llg/detail/wide.hpp"
#include "spinfire/llg/steppers.hpp"

namespace spinfire::neuron {

/// What one neuron's device costs (SI). mechanism stt: the drive current flows through the
/// junction (I^2 R(m), R from `junction`); sot: through a line of `line_resistance`; field:
/// the field line is not modelled (0 J). Every read costs read_current^2 R(m) read_ns,
/// with R from `junction` (a junction with zero conductances reads for free).
struct device_energy {
    fit::mechanism input = fit::mechanism::field;
    double line_resistance = 0; // Ohm
    device::readout junction{};
};

/// Energy and activity of every forward call since the last reset_stats().
struct llg_stats {
    double drive_energy = 0, reset_energy = 0, read_energy = 0; // J
    std::uint64_t neuron_steps = 0;                             // neurons x samples x SNN steps
    std::uint64_t device_steps = 0; // neuron_steps x integrator substeps
    std::uint64_t positive_spikes = 0, negative_spikes = 0;
    double seconds = 0; // wall time inside forward
    double total_energy() const { return drive_energy + reset_energy + read_energy; }
};

template <class System, class Real = float>
class llg_population {
    static_assert(std::is_same_v<Real, double> || std::is_same_v<Real, float>);

public:
    using lane_params = typename System::template params<double>;
    using simd_type = llg::detail::wide<simd::batch<Real>>;
    static constexpr std::size_t width = simd::lanes_v<simd_type>;

    /// devices: one parameter set per neuron of a sample (n), or one shared by all n.
    /// energy: likewise (n or 1), or empty for no energy bookkeeping. input_scale converts
    /// the layer's input into protocol units X (a fitted neuron's folded drive scale).
    llg_population(const fit::protocol& proto, std::size_t n, std::vector<lane_params> devices,
                   const vec3<double>& m0, std::vector<device_energy> energy = {},
                   double input_scale = 1, std::uint64_t noise_seed = 1)
        : proto_(proto), n_(n), devices_(std::move(devices)), energy_(std::move(energy)), m0_(m0),
          input_scale_(input_scale), seed_(noise_seed) {
        fit::validate(proto_);
        if (n_ == 0) throw parameter_error("neurons", "a population needs at least one neuron");
        if (devices_.size() != 1 && devices_.size() != n_)
            throw parameter_error("devices", "has " + std::to_string(devices_.size()) +
                                                 " parameter sets for " + std::to_string(n_) +
                                                 " neurons (expected 1 or " + std::to_string(n_) +
                                                 ")");
        if (!energy_.empty() && energy_.size() != 1 && energy_.size() != n_)
            throw parameter_error("energy", "needs 0, 1 or " + std::to_string(n_) + " entries");
        require_finite("input_scale", input_scale_);
        if (std::abs(norm(m0_) - 1) > 1e-9) throw parameter_error("m0", "must be a unit vector");
        thermal_ = false;
        for (std::size_t i = 0; i < devices_.size(); ++i) {
            try {
                System::validate(devices_[i]);
            } catch (const parameter_error& e) {
                throw parameter_error(e.name(), e.reason() + " (neuron " + std::to_string(i) + ")");
            }
            thermal_ = thermal_ || System::sigma_rate(devices_[i]) > 0;
        }
        dt_ = proto_.dt_ps * 1e-12;
        n_step_ = proto_.substeps_per_step(), n_pulse_ = proto_.pulse_substeps();
        n_reset_ = proto_.reset_substeps(), n_read_ = proto_.read_substeps();
        pack_groups();
    }

    std::size_t neurons() const { return n_; }
    std::size_t substeps_per_step() const { return n_step_; }
    bool thermal() const { return thermal_; }
    const fit::protocol& protocol() const { return proto_; }
    const llg_stats& stats() const { return stats_; }
    void reset_stats() { stats_ = {}; }

    /// x: [x_steps][batch][n] in layer units (x_steps 1: the same input at every step);
    /// y: [steps][batch][n] spikes -1 / 0 / +1; h (may be null): [steps][batch][n] the read
    /// membrane that decided each spike. first_sample: global index of the batch's first
    /// sample (selects its noise streams). Throws numeric_error on NaN or a lost |m|.
    template <class In, class Out>
    void forward(std::size_t steps, std::size_t x_steps, std::size_t batch, const In* x, Out* y,
                 Real* h = nullptr, std::uint64_t first_sample = 0, bool parallel = true) {
        if (steps == 0) throw parameter_error("steps", "must be >= 1");
        if (x_steps != 1 && x_steps != steps)
            throw parameter_error("x_steps", "must be 1 or steps");
        const auto t0 = std::chrono::steady_clock::now();
        const std::size_t groups = groups_per_sample(), tasks = batch * groups;
        std::vector<group_tally> tally(tasks);
        const io<In, Out> a{steps, x_steps, batch, x, y, h, first_sample};
        auto body = [&](std::size_t k0, std::size_t k1) {
            for (std::size_t k = k0; k < k1; ++k) {
                if (thermal_)
                    run_group<true>(a, k / groups, k % groups, tally[k]);
                else
                    run_group<false>(a, k / groups, k % groups, tally[k]);
            }
        };
        if (parallel && tasks > 1)
            oneapi::tbb::parallel_for(oneapi::tbb::blocked_range<std::size_t>(0, tasks, 1),
                                      [&](const auto& r) { body(r.begin(), r.end()); });
        else
            body(0, tasks);
        for (const auto& g : tally) {
            if (!g.failure.empty()) throw numeric_error(g.failure);
            stats_.drive_energy += g.drive, stats_.reset_energy += g.reset;
            stats_.read_energy += g.read;
            stats_.positive_spikes += g.pos, stats_.negative_spikes += g.neg;
        }
        stats_.neuron_steps += std::uint64_t(steps * batch * n_);
        stats_.device_steps += std::uint64_t(steps * batch * n_ * n_step_);
        stats_.seconds +=
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }

private:
    using T = simd_type;
    using P = typename System::template params<T>;

    template <class In, class Out>
    struct io {
        std::size_t steps, x_steps, batch;
        const In* x;
        Out* y;
        Real* h;
        std::uint64_t first_sample;
    };
    struct group_tally {
        double drive = 0, reset = 0, read = 0;
        std::uint64_t pos = 0, neg = 0;
        std::string failure;
    };
    /// Per group: packed parameters and the per-lane constants that never change.
    struct group_consts {
        P p;
        T gp, sigma;
        bool noisy = false;
        std::array<device_energy, width> energy{};
    };

    std::size_t groups_per_sample() const { return (n_ + width - 1) / width; }

    void pack_groups() {
        const std::size_t groups = groups_per_sample();
        groups_.resize(groups);
        for (std::size_t g = 0; g < groups; ++g) {
            const lane_params* lp[width];
            alignas(SPINFIRE_ALIGNMENT) Real sg[width];
            auto& c = groups_[g];
            for (std::size_t i = 0; i < width; ++i) {
                // Pad lanes past n copy the last neuron; their results are never stored.
                const std::size_t k = std::min(g * width + i, n_ - 1);
                lp[i] = &devices_[devices_.size() == 1 ? 0 : k];
                sg[i] = Real(System::sigma_rate(*lp[i]) / std::sqrt(dt_));
                c.noisy = c.noisy || sg[i] > 0;
                if (!energy_.empty()) c.energy[i] = energy_[energy_.size() == 1 ? 0 : k];
            }
            c.p = System::template pack<T>(lp);
            c.gp = System::reduced_gamma(c.p);
            c.sigma = simd::load<T>(sg);
        }
    }

    /// Resistance of the junction along m for each lane (1/G with G linear in cos theta).
    static T resistance(const std::array<device_energy, width>& e, const vec3<T>& m) {
        alignas(SPINFIRE_ALIGNMENT) Real mx[width], my[width], mz[width], r[width];
        simd::store(mx, m.x), simd::store(my, m.y), simd::store(mz, m.z);
        for (std::size_t i = 0; i < width; ++i) {
            const auto& ro = e[i].junction;
            r[i] = ro.g_p > 0 ? Real(ro.resistance({double(mx[i]), double(my[i]), double(mz[i])}))
                              : Real(0);
        }
        return simd::load<T>(r);
    }

    template <bool Thermal, class In, class Out>
    void run_group(const io<In, Out>& a, std::size_t b, std::size_t g, group_tally& tally) const {
        const group_consts& c = groups_[g];
        const std::size_t first = g * width, real = std::min(width, n_ - first);
        const P& p = c.p;
        const T gp = c.gp, sigma = c.sigma, dt = T(Real(dt_));
        const vec3<T> r(T(Real(proto_.readout.x)), T(Real(proto_.readout.y)),
                        T(Real(proto_.readout.z)));
        const vec3<T> m0(T(Real(m0_.x)), T(Real(m0_.y)), T(Real(m0_.z)));
        const T v_scale = T(Real(proto_.v_scale)), th_pos = T(Real(proto_.theta_pos)),
                th_neg = T(Real(-proto_.theta_neg));
        const T drive_unit = T(Real(proto_.drive_per_unit * input_scale_));
        const T reset_unit = T(Real(-proto_.reset_drive * proto_.drive_per_unit));
        const bool energy = !energy_.empty();
        const bool stt = energy && c.energy[0].input == fit::mechanism::stt;
        const std::uint64_t stream = (a.first_sample + b) * n_ + first;
        const std::size_t n_free = n_step_ - n_pulse_ - n_reset_;
        vec3<T> m = m0;
        T drift(Real(0));
        std::uint64_t counter = 0;
        // Advances `count` substeps with drive u; returns sum of R(m) over the substeps' end
        // states when `integrate_r` (the STT drive energy), else 0.
        auto advance = [&](std::size_t count, const T& u, bool integrate_r) {
            T rsum(Real(0));
            for (std::size_t s = 0; s < count; ++s, ++counter) {
                llg::step_result<T> res;
                if constexpr (Thermal) {
                    vec3<T> bth(T(Real(0)), T(Real(0)), T(Real(0)));
                    if (c.noisy) {
                        const auto z = llg::detail::normal4_lanes<T>(seed_, stream, counter);
                        bth = vec3<T>(sigma * z[0], sigma * z[1], sigma * z[2]);
                    }
                    res = llg::heun_step<System>(p, gp, m, u, u, bth, dt);
                } else {
                    res = llg::rk4_step<System>(p, gp, m, u, u, u, dt);
                }
                drift = math::max(drift, math::abs(res.norm2 - T(Real(1))));
                m = res.m;
                if (integrate_r) rsum += resistance(c.energy, m);
            }
            return rsum;
        };
        alignas(SPINFIRE_ALIGNMENT) Real xs[width], hs[width], ss[width];
        const std::size_t n_all = a.batch * n_;
        for (std::size_t t = 0; t < a.steps; ++t) {
            const In* xin = a.x + (a.x_steps == 1 ? 0 : t * n_all) + b * n_ + first;
            for (std::size_t i = 0; i < width; ++i) xs[i] = Real(xin[std::min(i, real - 1)]);
            const T xv = simd::load<T>(xs);
            const T u = xv * drive_unit;
            const T rs = advance(n_pulse_, u, stt);
            advance(n_free - n_read_, T(Real(0)), false);
            // The sense amplifier: trapezoid average of m . readout over the read window.
            T acc = dot(m, r);
            if (n_read_ > 0) {
                acc = T(Real(0.5)) * acc;
                for (std::size_t k = 1; k <= n_read_; ++k) {
                    advance(1, T(Real(0)), false);
                    acc += (k == n_read_ ? T(Real(0.5)) : T(Real(1))) * dot(m, r);
                }
                acc = acc / T(Real(double(n_read_)));
            }
            const T hv = v_scale * acc;
            const auto pos = hv >= th_pos, neg = hv <= th_neg;
            const T spike =
                math::select(pos, T(Real(1)), math::select(neg, T(Real(-1)), T(Real(0))));
            // Bookkeeping per lane: spikes out, reads, energy.
            simd::store(ss, spike);
            simd::store(hs, hv);
            Out* yout = a.y + t * n_all + b * n_ + first;
            for (std::size_t i = 0; i < real; ++i) {
                yout[i] = Out(ss[i]);
                tally.pos += ss[i] > 0, tally.neg += ss[i] < 0;
            }
            if (a.h) {
                Real* hout = a.h + t * n_all + b * n_ + first;
                for (std::size_t i = 0; i < real; ++i) hout[i] = hs[i];
            }
            if (energy) account(c, m, xs, rs, real, tally);
            if (proto_.reset == fit::reset_mode::ideal) {
                const auto fired = pos | neg;
                m = vec3<T>(math::select(fired, m0.x, m.x), math::select(fired, m0.y, m.y),
                            math::select(fired, m0.z, m.z));
            }
            if (n_reset_ > 0) {
                const T ur =
                    proto_.reset == fit::reset_mode::pulse ? spike * reset_unit : T(Real(0));
                const T rr = advance(n_reset_, ur, stt && proto_.reset == fit::reset_mode::pulse);
                if (energy && proto_.reset == fit::reset_mode::pulse)
                    account_reset(c, ss, rr, real, tally);
            }
            if (simd::any(!(drift <= T(Real(1e-2))))) {
                tally.failure = "llg neuron: |m| lost (NaN or an unstable time step) in sample " +
                                std::to_string(a.first_sample + b) + ", neurons " +
                                std::to_string(first) + "-" + std::to_string(first + real - 1) +
                                ", SNN step " + std::to_string(t) + "; reduce dt_ps";
                return;
            }
        }
    }

    /// Drive and read energy of one SNN step for the real lanes of a group.
    void account(const group_consts& c, const vec3<T>& m, const Real* xs, const T& rsum,
                 std::size_t real, group_tally& tally) const {
        alignas(SPINFIRE_ALIGNMENT) Real rs[width];
        simd::store(rs, rsum);
        const T rread = resistance(c.energy, m);
        alignas(SPINFIRE_ALIGNMENT) Real rr[width];
        simd::store(rr, rread);
        const double pulse_s = double(n_pulse_) * dt_, read_s = proto_.read_ns * 1e-9;
        const double unit = proto_.drive_per_unit * input_scale_;
        for (std::size_t i = 0; i < real; ++i) {
            const double u = double(xs[i]) * unit, u2 = u * u;
            switch (c.energy[i].input) {
            case fit::mechanism::stt:
                tally.drive += u2 * double(rs[i]) * dt_;
                break;
            case fit::mechanism::sot:
                tally.drive += u2 * c.energy[i].line_resistance * pulse_s;
                break;
            case fit::mechanism::field:
                break;
            }
            tally.read += proto_.read_current * proto_.read_current * double(rr[i]) * read_s;
        }
    }
    void account_reset(const group_consts& c, const Real* ss, const T& rsum, std::size_t real,
                       group_tally& tally) const {
        alignas(SPINFIRE_ALIGNMENT) Real rs[width];
        simd::store(rs, rsum);
        const double u = proto_.reset_drive * proto_.drive_per_unit, u2 = u * u;
        for (std::size_t i = 0; i < real; ++i) {
            if (ss[i] == 0) continue;
            switch (c.energy[i].input) {
            case fit::mechanism::stt:
                tally.reset += u2 * double(rs[i]) * dt_;
                break;
            case fit::mechanism::sot:
                tally.reset += u2 * c.energy[i].line_resistance * double(n_reset_) * dt_;
                break;
            case fit::mechanism::field:
                break;
            }
        }
    }

    fit::protocol proto_;
    std::size_t n_;
    std::vector<lane_params> devices_;
    std::vector<device_energy> energy_;
    vec3<double> m0_;
    double input_scale_;
    std::uint64_t seed_;
    bool thermal_ = false;
    double dt_ = 0;
    std::size_t n_step_ = 0, n_pulse_ = 0, n_reset_ = 0, n_read_ = 0;
    std::vector<group_consts> groups_;
    llg_stats stats_;
};

} // namespace spinfire::neuron
