#pragma once
// device/: demagnetizing factors, MTJ stacks and readout, presets.
#include "spinfire/device/demag.hpp"
#include "spinfire/device/mtj.hpp"
#include "spinfire/device/presets.hpp"
