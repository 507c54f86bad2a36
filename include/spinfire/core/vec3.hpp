#pragma once
// vec3<T>: a 3-vector over a generic scalar (double, float, xsimd batch, dual number).
#include "spinfire/core/simd.hpp"

namespace spinfire {

template <class T>
struct vec3 {
    T x, y, z;

    vec3() = default;
    constexpr vec3(T x_, T y_, T z_) : x(x_), y(y_), z(z_) {}
    /// Broadcast from a vector of the lane type (scalar -> batch).
    template <class U>
        requires(!std::is_same_v<U, T> && std::is_constructible_v<T, U>)
    explicit constexpr vec3(const vec3<U>& o) : x(T(o.x)), y(T(o.y)), z(T(o.z)) {}

    SPINFIRE_INLINE vec3& operator+=(const vec3& o) {
        x += o.x, y += o.y, z += o.z;
        return *this;
    }
    SPINFIRE_INLINE vec3& operator-=(const vec3& o) {
        x -= o.x, y -= o.y, z -= o.z;
        return *this;
    }
    SPINFIRE_INLINE vec3& operator*=(const T& s) {
        x *= s, y *= s, z *= s;
        return *this;
    }
};

template <class T>
SPINFIRE_INLINE vec3<T> operator+(const vec3<T>& a, const vec3<T>& b) {
    return {a.x + b.x, a.y + b.y, a.z + b.z};
}
template <class T>
SPINFIRE_INLINE vec3<T> operator-(const vec3<T>& a, const vec3<T>& b) {
    return {a.x - b.x, a.y - b.y, a.z - b.z};
}
template <class T>
SPINFIRE_INLINE vec3<T> operator-(const vec3<T>& a) {
    return {-a.x, -a.y, -a.z};
}
template <class T>
SPINFIRE_INLINE vec3<T> operator*(const T& s, const vec3<T>& a) {
    return {s * a.x, s * a.y, s * a.z};
}
template <class T>
SPINFIRE_INLINE vec3<T> operator*(const vec3<T>& a, const T& s) {
    return {s * a.x, s * a.y, s * a.z};
}
template <class T>
SPINFIRE_INLINE T dot(const vec3<T>& a, const vec3<T>& b) {
    return a.x * b.x + a.y * b.y + a.z * b.z;
}
template <class T>
SPINFIRE_INLINE vec3<T> cross(const vec3<T>& a, const vec3<T>& b) {
    return {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x};
}
template <class T>
SPINFIRE_INLINE T norm2(const vec3<T>& a) {
    return dot(a, a);
}
template <class T>
SPINFIRE_INLINE T norm(const vec3<T>& a) {
    return math::sqrt(dot(a, a));
}
template <class T>
SPINFIRE_INLINE vec3<T> normalized(const vec3<T>& a) {
    const T inv = T(1) / norm(a);
    return inv * a;
}

} // namespace spinfire
