#pragma once
// Surrogate gradients: the fire functions are Heaviside steps of u = (distance past the
// threshold); training replaces their derivative by a bump g(u, w) of unit area and width
// w = width * theta. A surrogate is a struct with
//   static constexpr double width;                  // relative to the threshold
//   static constexpr bool smooth_forward;            // forward uses primitive() too
//   template <class T> static T grad(u, iw);         // the bump, iw = 1 / w
//   template <class T> static T primitive(u, iw);    // its integral, rising 0 -> 1
// They take the inverse width so kernels hoist the one division out of their loops.
// smooth<S> turns a surrogate's forward into its primitive: then the model is smooth and
// finite differences of the forward equal the surrogate gradient (used by the tests).
#include "spinfire/core/dual.hpp"
#include "spinfire/core/simd.hpp"

namespace spinfire::neuron {

/// max(0, 1 - |u|/w) / w: the triangle used by the reference torch network (w = theta).
struct triangle {
    static constexpr double width = 1.0;
    static constexpr bool smooth_forward = false;
    template <class T>
    static SPINFIRE_INLINE T grad(const T& u, const T& iw) {
        return math::max(T(0), T(1) - math::abs(u) * iw) * iw;
    }
    template <class T>
    static SPINFIRE_INLINE T primitive(const T& u, const T& iw) {
        const T z = math::min(T(1), math::max(T(-1), u * iw));
        const T half = T(0.5) * z * z;
        return math::select(z < T(0), T(0.5) + z + half, T(0.5) + z - half);
    }
};

/// Logistic: sigma(4u/w) 4/w (slope 1/w at u = 0 like the triangle); smooth everywhere.
struct sigmoid {
    static constexpr double width = 1.0;
    static constexpr bool smooth_forward = false;
    template <class T>
    static SPINFIRE_INLINE T primitive(const T& u, const T& iw) {
        return T(1) / (T(1) + math::exp(T(-4) * u * iw));
    }
    template <class T>
    static SPINFIRE_INLINE T grad(const T& u, const T& iw) {
        const T s = primitive(u, iw);
        return T(4) * s * (T(1) - s) * iw;
    }
};

/// Arctangent: 1 / (w (1 + (pi u / w)^2)), peak 1/w like the triangle, unit area.
struct atan {
    static constexpr double width = 1.0;
    static constexpr bool smooth_forward = false;
    template <class T>
    static SPINFIRE_INLINE T grad(const T& u, const T& iw) {
        const T z = T(3.14159265358979323846) * u * iw;
        return iw / (T(1) + z * z);
    }
    template <class T>
    static SPINFIRE_INLINE T primitive(const T& u, const T& iw) {
        const T z = T(3.14159265358979323846) * u * iw;
        if constexpr (simd::is_batch_v<T>)
            return T(0.5) + xsimd::atan(z) * T(0.31830988618379067154);
        else
            return T(0.5) + std::atan(z) * T(0.31830988618379067154);
    }
};

/// Straight-through (boxcar): 1/(2w) for |u| < w, else 0.
struct straight_through {
    static constexpr double width = 1.0;
    static constexpr bool smooth_forward = false;
    template <class T>
    static SPINFIRE_INLINE T grad(const T& u, const T& iw) {
        return math::select(math::abs(u) * iw < T(1), T(0.5) * iw, T(0));
    }
    template <class T>
    static SPINFIRE_INLINE T primitive(const T& u, const T& iw) {
        return math::min(T(1), math::max(T(0), T(0.5) * (u * iw + T(1))));
    }
};

/// The same surrogate with a smooth forward (forward = primitive): a differentiable stand-in
/// whose exact derivative is the surrogate, for finite-difference checks of the generated BPTT.
template <class Surrogate>
struct smooth : Surrogate {
    static constexpr bool smooth_forward = true;
};

/// Heaviside(u) = [u >= 0] for the forward; primitive(u, iw) under a smooth stand-in.
template <class Surrogate, class T>
SPINFIRE_INLINE T step_forward(const T& u, const T& iw) {
    if constexpr (Surrogate::smooth_forward)
        return Surrogate::primitive(u, iw);
    else
        return math::select(u >= T(0), T(1), T(0));
}

} // namespace spinfire::neuron
