# Installs the build tree into a private prefix, then builds one project per component
# (tests/consumer/CMakeLists.txt with COMPONENT=<c>, find_package(spinfire COMPONENTS <c>))
# and runs its program; each checks its own answer and what its component links. Also: a
# plain find_package(spinfire) imports everything, and an unknown component fails clearly.
# ARCH (optional) is handed to the programs as SPINFIRE_ARCH, the consumer's -march option.
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "install failed: ${rc}")
endif()

function(configure name)
  execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/${name}
                  -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCMAKE_BUILD_TYPE=Release ${ARGN}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  set(configure_rc ${rc} PARENT_SCOPE)
  set(configure_out "${out}${err}" PARENT_SCOPE)
endfunction()

foreach(c llg neuron fit nn train)
  configure(${c} -DCOMPONENT=${c} -DSPINFIRE_ARCH=${ARCH})
  if(configure_rc)
    message(FATAL_ERROR "configure of the ${c} consumer failed:\n${configure_out}")
  endif()
  string(REGEX MATCH "spinfire::${c} links: [^\n]*" links "${configure_out}")
  message(STATUS "${links}")
  execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/${c} RESULT_VARIABLE rc
                  OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(rc)
    message(FATAL_ERROR "build of the ${c} consumer failed:\n${out}")
  endif()
  execute_process(COMMAND ${WORK_DIR}/${c}/consumer_${c} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE out)
  message(STATUS "${out}")
  if(rc)
    message(FATAL_ERROR "the ${c} consumer exited with ${rc}")
  endif()
  if(c MATCHES "^(llg|neuron)$") # the program as linked: no oneDNN, no OpenMP runtime
    file(GET_RUNTIME_DEPENDENCIES EXECUTABLES ${WORK_DIR}/${c}/consumer_${c}
         RESOLVED_DEPENDENCIES_VAR libs UNRESOLVED_DEPENDENCIES_VAR missing)
    if(libs MATCHES "dnnl|gomp|libomp")
      message(FATAL_ERROR "the ${c} consumer loads ${libs}")
    endif()
    message(STATUS "consumer_${c} loads: ${libs}")
  endif()
endforeach()

configure(all -DCOMPONENT=all)
if(configure_rc)
  message(FATAL_ERROR "find_package(spinfire) without components failed:\n${configure_out}")
endif()
configure(bogus -DCOMPONENT=bogus)
if(NOT configure_rc OR NOT configure_out MATCHES "unknown component\\(s\\): bogus")
  message(FATAL_ERROR "an unknown component was not refused clearly:\n${configure_out}")
endif()
message(STATUS "find_package(spinfire) imports every component; an unknown one is refused")
