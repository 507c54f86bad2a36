#pragma once
// Brown's thermal field: each Cartesian component is Gaussian with standard deviation
//   sigma_B = sqrt(2 alpha kB T / (gamma Ms V dt))   tesla  (gamma in rad/(s T))
// drawn once per step and held through every stage of the step (Stratonovich sense; use the
// stochastic Heun stepper). The term stores sigma_rate = sigma_B sqrt(dt), so one device
// description serves any time step.
#include <cmath>

#include "spinfire/core/constants.hpp"
#include "spinfire/core/error.hpp"
#include "spinfire/core/reflect.hpp"

namespace spinfire::llg {

template <class T>
struct thermal {
    static constexpr bool is_thermal = true;
    BOOST_HANA_DEFINE_STRUCT(thermal, (T, sigma_rate));
};

/// sigma_B sqrt(dt) in T sqrt(s) for damping alpha, temperature (K), Ms (A/m), volume (m^3).
inline double thermal_sigma_rate(double alpha, double temperature, double ms, double volume,
                                 double gamma = constants::gamma_e) {
    require_non_negative("alpha", alpha);
    require_non_negative("temperature", temperature);
    require_positive("Ms", ms);
    require_positive("volume", volume);
    require_positive("gamma", gamma);
    return std::sqrt(2 * alpha * constants::kB * temperature / (gamma * ms * volume));
}

} // namespace spinfire::llg
