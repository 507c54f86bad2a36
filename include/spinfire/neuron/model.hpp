#pragma once
// The neuron-model concept. A model is a type with
//   template <class T> struct params { BOOST_HANA_DEFINE_STRUCT(params, (T, ...)...); };
//   template <class T> struct state  { BOOST_HANA_DEFINE_STRUCT(state,  (T, ...)...); };
//   template <class T> static T step(const params<T>&, state<T>&, const T& x);  // -> spike
// written over a generic T (float/double, xsimd batch, dual number) with + - * /,
// spinfire::math and the fire functions. Optional:
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

template <class M>
concept neuron_model =
    requires {
        typename M::template params<float>;
        typename M::template state<float>;
    } && reflect::reflectable<typename M::template params<float>> &&
    reflect::reflectable<typename M::template state<float>> &&
    detail::fields_all_v<typename M::template params<float>, float> &&
    detail::fields_all_v<typename M::template state<float>, float> &&
    requires(const typename M::template params<float>& p, typename M::template state<float>& s,
             const float& x) {
        { M::step(p, s, x) } -> std::same_as<float>;
    };

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
