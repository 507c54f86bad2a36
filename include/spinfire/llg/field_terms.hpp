#pragma once
// Effective-field terms, each a parameter struct over a generic scalar T (double, float or an
// xsimd batch holding one device per lane). Parameters are fields in tesla; device/ converts
// SI material values (K_u, Ms, N, J_iec) into them. energy(m) is the energy density divided
// by Ms, in tesla (E/(V Ms)), so that B = -dE/dm for tests and invariants.
#include "spinfire/core/reflect.hpp"
#include "spinfire/core/vec3.hpp"

namespace spinfire::llg {

/// Uniaxial anisotropy: B = b_k (m.u) u with b_k = 2 K_u / Ms; u a unit vector.
template <class T>
struct uniaxial {
    BOOST_HANA_DEFINE_STRUCT(uniaxial, (T, b_k), (vec3<T>, u));
    SPINFIRE_INLINE void field(const vec3<T>& m, vec3<T>& b) const {
        const T s = b_k * dot(m, u);
        b.x += s * u.x, b.y += s * u.y, b.z += s * u.z;
    }
    SPINFIRE_INLINE T energy(const vec3<T>& m) const {
        const T c = dot(m, u);
        return T(-0.5) * b_k * c * c;
    }
};

/// Shape anisotropy from a diagonal demagnetizing tensor in the device frame:
/// B = -(b_n.x m_x, b_n.y m_y, b_n.z m_z) with b_n = mu0 Ms (N_x, N_y, N_z).
template <class T>
struct demag {
    BOOST_HANA_DEFINE_STRUCT(demag, (vec3<T>, b_n));
    SPINFIRE_INLINE void field(const vec3<T>& m, vec3<T>& b) const {
        b.x -= b_n.x * m.x, b.y -= b_n.y * m.y, b.z -= b_n.z * m.z;
    }
    SPINFIRE_INLINE T energy(const vec3<T>& m) const {
        return T(0.5) * (b_n.x * m.x * m.x + b_n.y * m.y * m.y + b_n.z * m.z * m.z);
    }
};

/// Constant applied field b = mu0 H (tesla).
template <class T>
struct zeeman {
    BOOST_HANA_DEFINE_STRUCT(zeeman, (vec3<T>, b));
    SPINFIRE_INLINE void field(const vec3<T>&, vec3<T>& out) const { out += b; }
    SPINFIRE_INLINE T energy(const vec3<T>& m) const { return -dot(m, b); }
};

/// Interlayer (RKKY-type) coupling to a fixed layer along p: B = b_ex p,
/// b_ex = J_iec / (Ms t_free); J_iec > 0 favours parallel alignment.
template <class T>
struct interlayer {
    BOOST_HANA_DEFINE_STRUCT(interlayer, (T, b_ex), (vec3<T>, p));
    SPINFIRE_INLINE void field(const vec3<T>&, vec3<T>& out) const {
        out.x += b_ex * p.x, out.y += b_ex * p.y, out.z += b_ex * p.z;
    }
    SPINFIRE_INLINE T energy(const vec3<T>& m) const { return -b_ex * dot(m, p); }
};

} // namespace spinfire::llg
