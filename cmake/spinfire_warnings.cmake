# Our own code builds warning-free; dependencies are SYSTEM includes.
function(spinfire_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
    -Wno-maybe-uninitialized)
endfunction()
