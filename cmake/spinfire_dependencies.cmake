# Every dependency is a Debian 12 package; nothing is downloaded.
# Shared between the build tree and the installed spinfireConfig.cmake.
include(CMakeFindDependencyMacro)
find_dependency(xsimd)
find_dependency(xtensor)
find_dependency(TBB)
find_dependency(Boost 1.74)
find_dependency(nlohmann_json)
find_dependency(dnnl)
find_dependency(OpenMP)
# stb (libstb-dev) has no CMake package: wrap the shared library that carries stb_image.
if(NOT TARGET spinfire_stb)
  find_path(SPINFIRE_STB_INCLUDE_DIR stb/stb_image.h REQUIRED)
  find_library(SPINFIRE_STB_LIBRARY NAMES stb REQUIRED)
  add_library(spinfire_stb INTERFACE IMPORTED)
  set_target_properties(spinfire_stb PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${SPINFIRE_STB_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "${SPINFIRE_STB_LIBRARY}")
endif()
