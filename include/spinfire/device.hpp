#pragma once
// device/: demagnetizing factors, MTJ stacks and readout, SI spin-torque coefficients, presets.
#include "spinfire/device/demag.hpp"
#include "spinfire/device/mtj.hpp"
#include "spinfire/device/spin_torque.hpp"
#include "spinfire/device/presets.hpp"
