#pragma once
// llg::system<Terms...>: a macrospin free layer composed from field, torque and thermal terms
// at compile time. params<T> holds gamma, alpha and one struct per term, over any scalar T;
// rate() folds the terms and evaluates the Landau-Lifshitz right-hand side
//   dm/dt = -gamma' [ m x B + alpha m x (m x B) + m x (m x D) - alpha m x D ],
//   gamma' = gamma / (1 + alpha^2),
// where B is the effective field (plus the thermal field) and D the damping-like torque
// vector (torques.hpp). Terms that are absent cost nothing: there is no run-time dispatch.
#include <cmath>
#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include "spinfire/core/constants.hpp"
#include "spinfire/core/error.hpp"
#include "spinfire/core/vec3.hpp"
#include "spinfire/llg/concepts.hpp"
#include "spinfire/llg/pack.hpp"

namespace spinfire::llg {

template <template <class> class... Terms>
struct system {
    // One check per term, so a mistake names the term and the member (concepts.hpp).
    static_assert((detail::check_term<Terms<double>>::value && ...));

    /// True when a thermal term is present: the system must be integrated with heun.
    static constexpr bool stochastic = (thermal_term<Terms<double>> || ...);
    static constexpr bool has_torque = (torque_term<Terms<double>> || ...);

    template <class T>
    struct params {
        T gamma = T(constants::gamma_e); ///< gyromagnetic ratio, rad/(s T)
        T alpha = T(0.01);               ///< Gilbert damping
        std::tuple<Terms<T>...> terms{};

        /// The term of kind Term, e.g. p.template term<llg::uniaxial>().b_k; inside templates
        /// the free llg::term<llg::uniaxial>(p) reads better.
        template <template <class> class Term>
        Term<T>& term() {
            return std::get<Term<T>>(terms);
        }
        template <template <class> class Term>
        const Term<T>& term() const {
            return std::get<Term<T>>(terms);
        }
    };

    /// gamma' = gamma / (1 + alpha^2), computed once per device (or batch), not per stage.
    template <class T>
    static SPINFIRE_INLINE T reduced_gamma(const params<T>& p) {
        return p.gamma / (T(1) + p.alpha * p.alpha);
    }

    /// dm/dt for drive value u and thermal field b_th (ignored unless stochastic).
    template <class T>
    static SPINFIRE_INLINE vec3<T> rate(const params<T>& p, const T& gp, const vec3<T>& m,
                                        const T& u, const vec3<T>& b_th) {
        vec3<T> b = b_th;
        if constexpr (!stochastic) b = vec3<T>(T(0), T(0), T(0));
        vec3<T> d(T(0), T(0), T(0));
        add_terms(p, m, u, b, d, std::index_sequence_for<Terms<T>...>{});
        const vec3<T> c = cross(m, b);
        vec3<T> v, w;
        if constexpr (has_torque) {
            const vec3<T> dm = cross(m, d);
            v = c - p.alpha * dm;
            w = p.alpha * c + dm;
        } else {
            v = c;
            w = p.alpha * c;
        }
        const vec3<T> r = v + cross(m, w);
        return (-gp) * r;
    }

    /// Effective field of the field terms only (no torque, no thermal field), tesla.
    template <class T>
    static vec3<T> field(const params<T>& p, const vec3<T>& m) {
        vec3<T> b(T(0), T(0), T(0));
        std::apply([&](const auto&... t) { ((add_field(t, m, b)), ...); }, p.terms);
        return b;
    }

    /// Energy density over Ms of the field terms, tesla (E / (V Ms)); B = -dE/dm.
    template <class T>
    static T energy(const params<T>& p, const vec3<T>& m) {
        T e = T(0);
        std::apply([&](const auto&... t) { ((add_energy(t, m, e)), ...); }, p.terms);
        return e;
    }

    /// Sum of sigma_rate of the thermal terms (zero when none).
    template <class T>
    static T sigma_rate(const params<T>& p) {
        T s = T(0);
        std::apply([&](const auto&... t) { ((add_sigma(t, s)), ...); }, p.terms);
        return s;
    }

    /// Batch params whose lane i is lanes[i] (converting the scalar type if needed).
    template <class T, class S>
    static params<T> pack(const params<S>* const* lanes) {
        params<T> out;
        pack_lanes(out.gamma, [&](std::size_t i) { return lanes[i]->gamma; });
        pack_lanes(out.alpha, [&](std::size_t i) { return lanes[i]->alpha; });
        pack_terms<T>(out, lanes, std::index_sequence_for<Terms<T>...>{});
        return out;
    }

    /// Throws parameter_error unless gamma > 0, alpha >= 0 and every parameter is finite.
    static void validate(const params<double>& p) {
        require_positive("gamma", p.gamma);
        require_non_negative("alpha", p.alpha);
        std::apply([&](const auto&... t) { ((check_finite(t)), ...); }, p.terms);
    }

private:
    // A fold over an index sequence, not std::apply with a lambda: the lambda is not
    // always-inline, and an out-of-line call per stage costs more than the physics.
    template <class T, std::size_t... I>
    static SPINFIRE_INLINE void add_terms(const params<T>& p, const vec3<T>& m, const T& u,
                                          vec3<T>& b, vec3<T>& d, std::index_sequence<I...>) {
        (add_term(std::get<I>(p.terms), m, u, b, d), ...);
    }
    template <class Term, class T>
    static SPINFIRE_INLINE void add_term(const Term& t, const vec3<T>& m, const T& u, vec3<T>& b,
                                         vec3<T>& d) {
        if constexpr (field_term<Term, T>)
            t.field(m, b);
        else if constexpr (torque_term<Term, T>)
            t.torque(m, u, b, d);
        // thermal terms: their field arrives through b_th, drawn once per step.
    }
    template <class Term, class T>
    static void add_field(const Term& t, const vec3<T>& m, vec3<T>& b) {
        if constexpr (field_term<Term, T>) t.field(m, b);
    }
    template <class Term, class T>
    static void add_energy(const Term& t, const vec3<T>& m, T& e) {
        if constexpr (field_term<Term, T>) e += t.energy(m);
    }
    template <class Term, class T>
    static SPINFIRE_INLINE void add_sigma(const Term& t, T& s) {
        if constexpr (thermal_term<Term, T>) s += t.sigma_rate;
    }
    template <class T, class S, std::size_t... I>
    static void pack_terms(params<T>& out, const params<S>* const* lanes,
                           std::index_sequence<I...>) {
        ((pack_lanes(std::get<I>(out.terms),
                     [&](std::size_t i) -> const auto& { return std::get<I>(lanes[i]->terms); })),
         ...);
    }
    template <class Term>
    static void check_finite(const Term& t) {
        reflect::for_each_field(t, [](const char* name, const auto& v) {
            if constexpr (detail::is_vec3<std::remove_cvref_t<decltype(v)>>::value) {
                if (!std::isfinite(v.x) || !std::isfinite(v.y) || !std::isfinite(v.z))
                    throw parameter_error(name, "must be finite");
            } else {
                require_finite(name, double(v));
            }
        });
    }
};

/// The term of kind Term in a system's params, without `.template` inside templates:
/// llg::term<llg::uniaxial>(p).b_k. Const and non-const params alike.
template <template <class> class Term, class Params>
SPINFIRE_INLINE decltype(auto) term(Params& p) {
    return p.template term<Term>();
}

} // namespace spinfire::llg
