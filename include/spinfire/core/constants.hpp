#pragma once
// Physical constants in SI units (CODATA 2018). The gyromagnetic ratio is a default only:
// tools differ (1.7595e11, 2.2128e5/mu0, ...), so every LLG system takes gamma as a parameter.

namespace spinfire::constants {
inline constexpr double pi = 3.14159265358979323846;
inline constexpr double gamma_e = 1.76085963023e11; ///< electron gyromagnetic ratio, rad/(s T)
inline constexpr double mu0 = 1.25663706212e-6;     ///< vacuum permeability, H/m
inline constexpr double hbar = 1.054571817e-34;     ///< reduced Planck constant, J s
inline constexpr double e = 1.602176634e-19;        ///< elementary charge, C
inline constexpr double kB = 1.380649e-23;          ///< Boltzmann constant, J/K
inline constexpr double muB = 9.2740100783e-24;     ///< Bohr magneton, J/T
} // namespace spinfire::constants
