#pragma once
// Struct reflection through Boost.Hana: a parameter struct declared with
// BOOST_HANA_DEFINE_STRUCT gets its field names once, and CSV columns, JSON reports,
// CLI options, checkpoint keys and sweep axes all come from that one definition.
#include <boost/hana/accessors.hpp>
#include <boost/hana/define_struct.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/length.hpp>
#include <boost/hana/string.hpp>
#include <boost/hana/first.hpp>
#include <boost/hana/second.hpp>
#include <boost/hana/concept/struct.hpp>
#include <cstddef>
#include <string>
#include <type_traits>
#include <vector>

namespace spinfire::reflect {

template <class S>
concept reflectable = boost::hana::Struct<std::remove_cvref_t<S>>::value;

/// Calls f(name, field) for every field of s, in declaration order.
template <reflectable S, class F>
void for_each_field(S&& s, F&& f) {
    boost::hana::for_each(boost::hana::accessors<std::remove_cvref_t<S>>(), [&](auto pair) {
        f(boost::hana::to<char const*>(boost::hana::first(pair)),
          boost::hana::second(pair)(s));
    });
}

/// Field names of S in declaration order.
template <reflectable S>
std::vector<std::string> field_names() {
    std::vector<std::string> names;
    boost::hana::for_each(boost::hana::accessors<S>(), [&](auto pair) {
        names.emplace_back(boost::hana::to<char const*>(boost::hana::first(pair)));
    });
    return names;
}

template <reflectable S>
inline constexpr std::size_t field_count =
    decltype(boost::hana::length(boost::hana::accessors<S>()))::value;

} // namespace spinfire::reflect
