#pragma once
// The one way spinfire includes xtensor: xtensor includes xsimd, which must be parsed after
// core/intrinsics.hpp (GCC 12's -O0 AVX-512BW blend macros, its PR 105593 warnings). A test
// ("headers: xtensor and xsimd only through core/") keeps every other header to this one.
#include "spinfire/core/intrinsics.hpp"
#include <xtensor/xarray.hpp>
#include <xtensor/xtensor.hpp>
