# The package's components, what each needs from the others and from Debian. Shared by the
# build tree (every component) and the installed spinfireConfig.cmake (the requested ones and
# what they need). Every dependency is a Debian 12 package; nothing is downloaded.
#
#   core    config.hpp, core/, io/atomic_file.hpp          xsimd (+ xtl), Boost (Hana), oneTBB
#   llg     llg/, device/                                   core
#   neuron  neuron/, fit/fitted_model.hpp, fit/protocol.hpp llg
#   fit     fit/, io/json.hpp                               neuron, nlohmann-json
#   nn      nn/                                             neuron, xtensor, oneDNN
#   train   train/, data/                                   nn, fit, CLI11, stb
#
# OpenMP is absent on purpose: no header uses it. oneDNN loads its own runtime (libgomp) and
# spinfire::threads sizes that team when it is loaded (core/threads.hpp).
set(_spinfire_components core llg neuron fit nn train)
set(_spinfire_requires_core)
set(_spinfire_requires_llg core)
set(_spinfire_requires_neuron llg)
set(_spinfire_requires_fit neuron)
set(_spinfire_requires_nn neuron)
set(_spinfire_requires_train nn fit)

# out = the given components and every component they need, in dependency order.
function(spinfire_component_closure out)
  set(_need ${ARGN})
  set(_reverse ${_spinfire_components})
  list(REVERSE _reverse)
  foreach(_c IN LISTS _reverse) # requirements point backwards: one reverse pass suffices
    if(_c IN_LIST _need)
      list(APPEND _need ${_spinfire_requires_${_c}})
    endif()
  endforeach()
  set(_ordered)
  foreach(_c IN LISTS _spinfire_components)
    if(_c IN_LIST _need)
      list(APPEND _ordered ${_c})
    endif()
  endforeach()
  set(${out} ${_ordered} PARENT_SCOPE)
endfunction()

# A macro, not a function: find_dependency's return() must leave spinfireConfig.cmake with
# spinfire_FOUND false. In the build tree a missing dependency is a configure error.
include(CMakeFindDependencyMacro)
macro(_spinfire_dependency)
  if(CMAKE_FIND_PACKAGE_NAME)
    find_dependency(${ARGV})
  else()
    find_package(${ARGV} REQUIRED)
  endif()
endmacro()

# Finds the Debian packages of the given (closed) list of components.
macro(spinfire_find_dependencies)
  set(_spinfire_for ${ARGN})
  if("core" IN_LIST _spinfire_for)
    # Debian's xsimd target links "xtl" without looking for it: find xtl first.
    _spinfire_dependency(xtl)
    _spinfire_dependency(xsimd)
    _spinfire_dependency(Boost 1.74)
    _spinfire_dependency(TBB)
  endif()
  if("fit" IN_LIST _spinfire_for)
    _spinfire_dependency(nlohmann_json)
  endif()
  if("nn" IN_LIST _spinfire_for)
    _spinfire_dependency(xtensor)
    _spinfire_dependency(dnnl)
  endif()
  if("train" IN_LIST _spinfire_for)
    _spinfire_dependency(CLI11)
    # stb (libstb-dev) has no CMake package: wrap the shared library that carries stb_image.
    if(NOT TARGET spinfire_stb)
      find_path(SPINFIRE_STB_INCLUDE_DIR stb/stb_image.h)
      find_library(SPINFIRE_STB_LIBRARY NAMES stb)
      if(NOT SPINFIRE_STB_INCLUDE_DIR OR NOT SPINFIRE_STB_LIBRARY)
        if(CMAKE_FIND_PACKAGE_NAME)
          set(${CMAKE_FIND_PACKAGE_NAME}_NOT_FOUND_MESSAGE
              "component train needs stb (Debian libstb-dev): stb/stb_image.h or libstb not found")
          set(${CMAKE_FIND_PACKAGE_NAME}_FOUND FALSE)
          return()
        endif()
        message(FATAL_ERROR "stb (Debian libstb-dev) not found: stb/stb_image.h or libstb")
      endif()
      add_library(spinfire_stb INTERFACE IMPORTED)
      set_target_properties(spinfire_stb PROPERTIES
        INTERFACE_INCLUDE_DIRECTORIES "${SPINFIRE_STB_INCLUDE_DIR}"
        INTERFACE_LINK_LIBRARIES "${SPINFIRE_STB_LIBRARY}")
    endif()
  endif()
endmacro()
