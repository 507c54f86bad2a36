include(CMakePackageConfigHelpers)
install(DIRECTORY include/spinfire DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# One export set per component, so find_package(spinfire COMPONENTS llg) imports llg and
# core only and never names a target of a dependency it did not look for.
install(TARGETS spinfire EXPORT spinfire-train) # everything = train and what it needs
foreach(_c IN LISTS _spinfire_components)
  install(TARGETS spinfire_${_c} EXPORT spinfire-${_c})
  install(EXPORT spinfire-${_c} NAMESPACE spinfire:: FILE spinfire-${_c}-targets.cmake
          DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/spinfire)
endforeach()
configure_package_config_file(cmake/spinfireConfig.cmake.in
  ${PROJECT_BINARY_DIR}/spinfireConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/spinfire)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/spinfireConfigVersion.cmake
  COMPATIBILITY SameMinorVersion ARCH_INDEPENDENT)
install(FILES ${PROJECT_BINARY_DIR}/spinfireConfig.cmake
              ${PROJECT_BINARY_DIR}/spinfireConfigVersion.cmake
              cmake/spinfire_dependencies.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/spinfire)
