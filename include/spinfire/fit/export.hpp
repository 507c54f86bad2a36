#pragma once
// From a fit to the fitted-neuron file (fit/fitted_neuron.hpp) that the network code loads
// as the mtj_signed_lif neuron: model, quality, spread, and the device and protocol it came
// from (their JSON keys are the parameter names, so a run can be reproduced from the file).
#include "spinfire/device/mtj.hpp"
#include "spinfire/fit/fitted_neuron.hpp"
#include "spinfire/fit/protocol.hpp"
#include "spinfire/fit/signed_lif_fit.hpp"
#include "spinfire/io/json.hpp"

namespace spinfire::fit {

/// Throws parameter_error when the fitted model is unusable by a network (beta outside
/// (0, 1], non-positive threshold): such a device is not a signed LIF and gets no file.
inline fitted_neuron make_fitted_neuron(const fit_result& r, const device::mtj& d,
                                        const protocol& p, const parameter_spread& spread = {}) {
    validate(r.model);
    fitted_neuron f;
    f.model = r.model;
    f.quality = r.quality;
    f.spread = spread;
    f.device = io::to_json(d);
    f.protocol = io::to_json(p);
    return f;
}

} // namespace spinfire::fit
