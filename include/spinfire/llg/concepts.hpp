#pragma once
// What a term of an LLG system must provide. A system folds its terms into two vectors per
// evaluation: the effective field B (tesla) and the damping-like torque vector D (tesla),
// from which the Landau-Lifshitz right-hand side follows (see system.hpp):
//   field terms   add to B:            void field(const vec3<T>& m, vec3<T>& B) const
//                 and give their energy: T energy(const vec3<T>& m) const   (J/m^3; required:
//                 ensemble observers and the energy tests read it)
//   torque terms  add to B and D:      void torque(const vec3<T>& m, const T& drive,
//                                                   vec3<T>& B, vec3<T>& D) const
//   thermal terms provide sigma_rate:  the Brown field std.dev. times sqrt(dt), in T sqrt(s)
// Every term's parameters are in the units the hot path needs (tesla, tesla per drive unit),
// precomputed by device/ from SI quantities, so one evaluation is a handful of FMAs.
#include <concepts>

#include "spinfire/core/vec3.hpp"

namespace spinfire::llg {

template <class Term, class T = double>
concept field_term = requires(const Term& t, const vec3<T>& m, vec3<T>& b) {
    { t.field(m, b) } -> std::same_as<void>;
    { t.energy(m) } -> std::convertible_to<T>;
};

template <class Term, class T = double>
concept torque_term = requires(const Term& t, const vec3<T>& m, const T& u, vec3<T>& b) {
    { t.torque(m, u, b, b) } -> std::same_as<void>;
};

template <class Term, class T = double>
concept thermal_term = requires(const Term& t) {
    { t.sigma_rate } -> std::convertible_to<T>;
    requires Term::is_thermal;
};

/// A term is exactly one of the three kinds.
template <class Term, class T = double>
concept system_term = (field_term<Term, T> + torque_term<Term, T> + thermal_term<Term, T>) == 1;

namespace detail {
/// Instantiated once per term of a system: each check below fails on its own, with a message
/// saying which member is missing, and the compiler's "in instantiation of
/// 'check_term<YourTerm<double>>'" line names the term.
template <class Term, class T = double>
struct check_term {
    static constexpr bool has_field = requires(const Term& t, const vec3<T>& m, vec3<T>& b) {
        { t.field(m, b) } -> std::same_as<void>;
    };
    static constexpr bool has_energy = requires(const Term& t, const vec3<T>& m) {
        { t.energy(m) } -> std::convertible_to<T>;
    };
    static constexpr bool has_torque = torque_term<Term, T>;
    static constexpr bool has_sigma = requires(const Term& t) {
        { t.sigma_rate } -> std::convertible_to<T>;
    };
    static constexpr bool flagged_thermal = requires { requires Term::is_thermal; };

    static_assert(has_field || has_energy || has_torque || has_sigma || flagged_thermal,
                  "llg::system: this term is none of the three kinds; give it "
                  "`void field(const vec3<T>& m, vec3<T>& B) const` and `T energy(const vec3<T>& "
                  "m) const` (a field term), or `void torque(const vec3<T>& m, const T& drive, "
                  "vec3<T>& B, vec3<T>& D) const` (a torque term), or a member `T sigma_rate` and "
                  "`static constexpr bool is_thermal = true` (a thermal term)");
    static_assert(!has_field || has_energy,
                  "llg::system: a field term needs `T energy(const vec3<T>& m) const` (energy "
                  "density in J/m^3) beside field()");
    static_assert(!has_energy || has_field,
                  "llg::system: a term with energy() needs `void field(const vec3<T>& m, vec3<T>& "
                  "B) const` too");
    static_assert(!has_sigma || flagged_thermal,
                  "llg::system: a thermal term needs `static constexpr bool is_thermal = true` "
                  "beside sigma_rate");
    static_assert(!flagged_thermal || has_sigma,
                  "llg::system: a thermal term needs a member `T sigma_rate` (Brown field "
                  "std.dev. times sqrt(dt), T sqrt(s))");
    static_assert(int(has_field) + int(has_torque) + int(has_sigma) <= 1,
                  "llg::system: a term is exactly one kind; split a term that has more than one "
                  "of field(), torque() and sigma_rate into two terms");
    static constexpr bool value = system_term<Term, T>;
};
} // namespace detail

} // namespace spinfire::llg
