#pragma once
// core/: scalars, vectors, counter-based randomness, errors, reflection, threads, heap policy.
#include "spinfire/config.hpp"
#include "spinfire/core/aligned.hpp"
#include "spinfire/core/constants.hpp"
#include "spinfire/core/dual.hpp"
#include "spinfire/core/error.hpp"
#include "spinfire/core/memory.hpp"
#include "spinfire/core/philox.hpp"
#include "spinfire/core/reflect.hpp"
#include "spinfire/core/simd.hpp"
#include "spinfire/core/threads.hpp"
#include "spinfire/core/vec3.hpp"
