# Every header under DIR includes xtensor and xsimd only through spinfire/core/xtensor.hpp and
# spinfire/core/intrinsics.hpp, which must be parsed first (see intrinsics.hpp): reports each
# header that includes them directly and fails.
#   cmake -DDIR=<include dir> -P include_rule.cmake
get_filename_component(DIR ${DIR} ABSOLUTE)
file(GLOB_RECURSE _headers RELATIVE ${DIR} ${DIR}/*.hpp)
set(_bad)
foreach(_h ${_headers})
  if(_h MATCHES "spinfire/core/(xtensor|intrinsics)\\.hpp$")
    continue()
  endif()
  file(STRINGS ${DIR}/${_h} _lines REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"](xtensor|xsimd)/")
  if(_lines)
    list(APPEND _bad "${_h}: ${_lines}")
  endif()
endforeach()
if(_bad)
  list(JOIN _bad "\n  " _msg)
  message(FATAL_ERROR "include xtensor through spinfire/core/xtensor.hpp, not directly:\n  "
                      "${_msg}")
endif()
list(LENGTH _headers _n)
message(STATUS "include rule holds in ${_n} headers")
