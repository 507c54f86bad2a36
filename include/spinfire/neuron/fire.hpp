#pragma once
// Fire functions: the only non-smooth operations of a neuron model. On values they are
// Heaviside steps; on dual numbers their derivative is the surrogate's bump, which is how
// the generated BPTT gets surrogate gradients from the plain model definition.
#include "spinfire/core/dual.hpp"
#include "spinfire/neuron/surrogate.hpp"

namespace spinfire::neuron {

namespace detail {
/// Inverse surrogate width for threshold theta: 1 / (width * theta), or 1 / width for a
/// smooth stand-in (so its forward depends on theta only through u and finite differences
/// match the surrogate).
template <class Surrogate, class V>
SPINFIRE_INLINE V surrogate_inv_width(const V& theta) {
    using S = simd::scalar_of_t<V>;
    if constexpr (Surrogate::smooth_forward)
        return V(S(1.0 / Surrogate::width));
    else
        return V(S(1.0 / Surrogate::width)) / theta;
}
} // namespace detail

/// 1 where h >= theta, else 0; derivative g(h - theta) (dh - dtheta) under the surrogate.
template <class T, class Surrogate>
SPINFIRE_INLINE T fire(const T& h, const T& theta, Surrogate) {
    if constexpr (is_dual_v<T>) {
        using V = typename T::value_type;
        const V iw = detail::surrogate_inv_width<Surrogate>(theta.v);
        const V u = h.v - theta.v;
        T r(step_forward<Surrogate>(u, iw));
        const V g = Surrogate::grad(u, iw);
        for (std::size_t k = 0; k < T::tangents; ++k) r.d[k] = g * (h.d[k] - theta.d[k]);
        return r;
    } else {
        if constexpr (Surrogate::smooth_forward)
            return step_forward<Surrogate>(h - theta, detail::surrogate_inv_width<Surrogate>(theta));
        else
            return step_forward<Surrogate>(h - theta, theta); // the width is not used
    }
}

/// +1 where h >= theta_pos, -1 where h <= -theta_neg, else 0 (theta_neg is a magnitude):
/// fire(h, theta_pos) - fire(-h, theta_neg), so the derivative has a bump at each threshold.
template <class T, class Surrogate>
SPINFIRE_INLINE T signed_fire(const T& h, const T& theta_pos, const T& theta_neg, Surrogate s) {
    return fire(h, theta_pos, s) - fire(-h, theta_neg, s);
}

/// The spike as seen by the reset: detached from the graph when Detach (a common choice in
/// surrogate training), unchanged otherwise (the reference torch network keeps it).
template <bool Detach, class T>
SPINFIRE_INLINE T reset_spike(const T& s) {
    if constexpr (Detach)
        return detach(s);
    else
        return s;
}

} // namespace spinfire::neuron
