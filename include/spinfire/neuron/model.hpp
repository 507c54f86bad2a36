#pragma once
// The neuron-model concept. A model is a type with
//   template <class T> struct params { BOOST_HANA_DEFINE_STRUCT(params, (T, ...)...); };
//   template <class T> struct state  { BOOST_HANA_DEFINE_STRUCT(state,  (T, ...)...); };
//   template <class T> static T step(const params<T>&, state<T>&, const T& x);  // -> spike
// written over a generic T (float/double, xsimd batch, dual number) with + - * /,
// spinfire::math and the fire functions; a decision on a value is a lane-wise select
// (math::select, the fire functions), never an `if`, which fails to compile on a batch at
// that line. The concept checks the signature on float, batch and dual, and that the state
// is taken by reference. Optional:
//   template <class T> static params<T> defaults();          // default parameters
//   static void validate(const params<double>&);             // throws parameter_error
//   template <class S> struct fused_kernel;                  // hand-written population kernel
// Every field of params and state is a T, so the library can enumerate them (reflection),
// seed one dual tangent per field and get a step's local Jacobian.
#include <array>
#include <concepts>
#include <cstddef>
#include <type_traits>
#include <utility>

#include <boost/hana/unpack.hpp>

#include "spinfire/core/dual.hpp"
#include "spinfire/core/reflect.hpp"
#include "spinfire/core/simd.hpp"

namespace spinfire::neuron {

namespace detail {
/// True when every field of the reflected struct St has type T (decided in decltype only).
template <class St, class T>
inline constexpr bool fields_all_v = decltype(boost::hana::unpack(
    boost::hana::accessors<St>(), [](auto... pairs) {
        return std::bool_constant<(
            std::is_same_v<std::remove_cvref_t<decltype(boost::hana::second(pairs)(
                               std::declval<St&>()))>,
                           T> &&
            ...)>{};
    }))::value;
} // namespace detail

/// params<T> and state<T> exist, are reflectable and hold only T fields.
template <class M>
concept has_reflected_params_and_state =
    requires {
        typename M::template params<float>;
        typename M::template state<float>;
    } && reflect::reflectable<typename M::template params<float>> &&
    reflect::reflectable<typename M::template state<float>> &&
    detail::fields_all_v<typename M::template params<float>, float> &&
    detail::fields_all_v<typename M::template state<float>, float>;

/// M::step(params<T>, state<T>&, T) -> T exists for the scalar type T. Checked on float, on an
/// xsimd batch (one neuron per lane) and on a dual number (the generated backward pass), so a
/// step written for float only is rejected here, naming the type it lacks.
template <class M, class T>
concept steps_on = requires(const typename M::template params<T>& p,
                            typename M::template state<T>& s, const T& x) {
    { M::step(p, s, x) } -> std::same_as<T>;
};

/// step must update the caller's state: a step that takes the state by value (or by const
/// reference) compiles and silently never integrates. Such a step also accepts a temporary
/// state, which a `state<T>&` parameter does not, and that is what is tested.
template <class M>
concept step_takes_state_by_reference =
    !requires(const typename M::template params<float>& p, const float& x) {
        M::step(p, typename M::template state<float>{}, x);
    };

template <class M>
concept neuron_model = has_reflected_params_and_state<M> && steps_on<M, float> &&
                       step_takes_state_by_reference<M> && steps_on<M, simd::batch<float>> &&
                       steps_on<M, dual<float, 2>>;

template <neuron_model M, class T>
using params_t = typename M::template params<T>;
template <neuron_model M, class T>
using state_t = typename M::template state<T>;

/// Number of parameters / state variables of a model.
template <neuron_model M>
inline constexpr std::size_t param_count = reflect::field_count<params_t<M, float>>;
template <neuron_model M>
inline constexpr std::size_t state_count = reflect::field_count<state_t<M, float>>;

namespace detail {
/// Calls f(i, field) for the i-th field of a reflected struct, in declaration order.
template <class St, class F>
SPINFIRE_INLINE void for_each_field_indexed(St& s, F&& f) {
    std::size_t i = 0;
    boost::hana::for_each(boost::hana::accessors<std::remove_cvref_t<St>>(),
                          [&](auto pair) { f(i++, boost::hana::second(pair)(s)); });
}
} // namespace detail

/// The fields of a params/state struct as an array (all fields have one type).
template <class V, class St>
SPINFIRE_INLINE std::array<V, reflect::field_count<std::remove_cvref_t<St>>> to_array(const St& s) {
    std::array<V, reflect::field_count<std::remove_cvref_t<St>>> a{};
    detail::for_each_field_indexed(s, [&](std::size_t i, const auto& f) { a[i] = V(f); });
    return a;
}

/// Fills every field of dst with make(i), i the field index.
template <class St, class F>
SPINFIRE_INLINE void fill_fields(St& dst, F&& make) {
    detail::for_each_field_indexed(dst, [&](std::size_t i, auto& f) { f = make(i); });
}

/// Converts parameters between scalar types (e.g. params<double> -> params<float>).
template <class To, neuron_model M, class From>
params_t<M, To> convert_params(const params_t<M, From>& p) {
    const auto a = to_array<double>(p);
    params_t<M, To> r;
    fill_fields(r, [&](std::size_t i) { return To(simd::scalar_of_t<To>(a[i])); });
    return r;
}

/// The model's default parameters (Model::defaults<T>() when given, else all zero).
template <neuron_model M, class T>
params_t<M, T> default_params() {
    if constexpr (requires { M::template defaults<T>(); }) {
        return M::template defaults<T>();
    } else {
        params_t<M, T> p;
        fill_fields(p, [](std::size_t) { return T(0); });
        return p;
    }
}

/// Model::validate on the parameters when the model has one.
template <neuron_model M, class T>
void validate_params(const params_t<M, T>& p) {
    if constexpr (requires(const params_t<M, double>& q) { M::validate(q); })
        M::validate(convert_params<double, M, T>(p));
}

/// A state with every variable zero: the rest state every population starts from.
template <neuron_model M, class T>
SPINFIRE_INLINE state_t<M, T> zero_state() {
    state_t<M, T> s;
    fill_fields(s, [](std::size_t) { return T(0); });
    return s;
}

} // namespace spinfire::neuron
