#pragma once
// Group umbrella: the neuron-model DSL (concept, fire functions, surrogates, generated and
// hand-written population kernels) and the built-in models.
#include "spinfire/core/dual.hpp"
#include "spinfire/neuron/fire.hpp"
#include "spinfire/neuron/generated.hpp"
#include "spinfire/neuron/model.hpp"
#include "spinfire/neuron/population.hpp"
#include "spinfire/neuron/signed_lif.hpp"
#include "spinfire/neuron/surrogate.hpp"
#include "spinfire/neuron/lif.hpp"
#include "spinfire/neuron/mtj_signed_lif.hpp"
#include "spinfire/neuron/plif.hpp"
