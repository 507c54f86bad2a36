#pragma once
// spinfire::fit: from device traces to the signed LIF neuron model (protocols, fit, metrics,
// classification, sweeps, variability, the fitted-neuron file).
#include "spinfire/fit/classify.hpp"
#include "spinfire/fit/device_protocol.hpp"
#include "spinfire/fit/export.hpp"
#include "spinfire/fit/fitted_neuron.hpp"
#include "spinfire/fit/least_squares.hpp"
#include "spinfire/fit/metrics.hpp"
#include "spinfire/fit/protocol.hpp"
#include "spinfire/fit/protocol_json.hpp"
#include "spinfire/fit/signed_lif_fit.hpp"
#include "spinfire/fit/signed_lif_model.hpp"
#include "spinfire/fit/sweep.hpp"
#include "spinfire/fit/trace.hpp"
#include "spinfire/fit/variability.hpp"
