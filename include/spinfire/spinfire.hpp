#pragma once
// Umbrella header: everything spinfire offers, in the order data flows:
//   llg (physics) -> device (MTJ stacks) -> fit (device -> neuron) -> neuron (models)
//   -> nn (layers, graphs, training) <- data (CIFAR-10, DVS events) -> train (programs' core)
#include "spinfire/core.hpp"
#include "spinfire/llg.hpp"
#include "spinfire/device.hpp"
#include "spinfire/fit.hpp"
#include "spinfire/neuron.hpp"
#include "spinfire/nn.hpp"
#include "spinfire/data.hpp"
#include "spinfire/train.hpp"
#include "spinfire/io/atomic_file.hpp"
#include "spinfire/io/json.hpp"
