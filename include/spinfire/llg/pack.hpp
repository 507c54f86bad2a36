#pragma once
// Gathers per-lane parameter structs (scalar, one per device) into one struct over SIMD
// batches (lane i = device i). Works on any nesting of scalars, vec3 and reflected structs,
// so a new term needs no packing code: its BOOST_HANA_DEFINE_STRUCT is enough.
#include <boost/hana/at.hpp>
#include <boost/hana/range.hpp>
#include <cstddef>
#include <type_traits>

#include "spinfire/core/reflect.hpp"
#include "spinfire/core/simd.hpp"
#include "spinfire/core/vec3.hpp"

namespace spinfire::llg {

namespace detail {
template <class T>
struct is_vec3 : std::false_type {};
template <class T>
struct is_vec3<vec3<T>> : std::true_type {};
} // namespace detail

/// out = the value whose lane i is get(i) (get(i) returns the scalar-typed counterpart).
/// For scalar Out, lane 0 is taken (the scalar path is the one-lane case).
template <class Out, class Get>
void pack_lanes(Out& out, const Get& get) {
    namespace hana = boost::hana;
    if constexpr (simd::is_batch_v<Out>) {
        using S = simd::scalar_of_t<Out>;
        alignas(SPINFIRE_ALIGNMENT) S buf[Out::size];
        for (std::size_t i = 0; i < Out::size; ++i) buf[i] = S(get(i));
        out = Out::load_aligned(buf);
    } else if constexpr (std::is_arithmetic_v<Out>) {
        out = Out(get(0));
    } else if constexpr (detail::is_vec3<Out>::value) {
        pack_lanes(out.x, [&](std::size_t i) { return get(i).x; });
        pack_lanes(out.y, [&](std::size_t i) { return get(i).y; });
        pack_lanes(out.z, [&](std::size_t i) { return get(i).z; });
    } else {
        static_assert(reflect::reflectable<Out>,
                      "pack_lanes: a term's parameters must be scalars, vec3 or reflected structs");
        using In = std::remove_cvref_t<decltype(get(0))>;
        constexpr auto n = reflect::field_count<Out>;
        static_assert(n == reflect::field_count<In>, "pack_lanes: lane and batch types differ");
        hana::for_each(hana::make_range(hana::size_c<0>, hana::size_c<n>), [&](auto k) {
            auto& dst = hana::second(hana::at(hana::accessors<Out>(), k))(out);
            pack_lanes(dst, [&](std::size_t i) -> decltype(auto) {
                return hana::second(hana::at(hana::accessors<In>(), k))(get(i));
            });
        });
    }
}

} // namespace spinfire::llg
