#pragma once
// Umbrella header: everything spinfire offers. Group umbrellas: core.hpp, llg.hpp,
// neuron.hpp, nn.hpp, data.hpp.
#include "spinfire/core.hpp"
