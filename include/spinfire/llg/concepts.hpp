#pragma once
// What a term of an LLG system must provide. A system folds its terms into two vectors per
// evaluation: the effective field B (tesla) and the damping-like torque vector D (tesla),
// from which the Landau-Lifshitz right-hand side follows (see system.hpp):
//   field terms   add to B:            void field(const vec3<T>& m, vec3<T>& B) const
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
concept term = (field_term<Term, T> + torque_term<Term, T> + thermal_term<Term, T>) == 1;

} // namespace spinfire::llg
