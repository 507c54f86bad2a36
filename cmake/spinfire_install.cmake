include(CMakePackageConfigHelpers)
install(DIRECTORY include/spinfire DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS spinfire EXPORT spinfireTargets)
install(EXPORT spinfireTargets NAMESPACE spinfire::
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/spinfire)
configure_package_config_file(cmake/spinfireConfig.cmake.in
  ${PROJECT_BINARY_DIR}/spinfireConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/spinfire)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/spinfireConfigVersion.cmake
  COMPATIBILITY SameMinorVersion ARCH_INDEPENDENT)
install(FILES ${PROJECT_BINARY_DIR}/spinfireConfig.cmake
              ${PROJECT_BINARY_DIR}/spinfireConfigVersion.cmake
              cmake/spinfire_dependencies.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/spinfire)
