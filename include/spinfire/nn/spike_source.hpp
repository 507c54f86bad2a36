#pragma once
// What can stand in for a spiking layer's model kernel in inference: the device in the loop
// (train/device_loop.hpp puts populations of simulated MTJs here, neuron/llg_population.hpp).
// The layer hands over its input as it got it and takes the spikes back; everything else in
// the network (convolutions, BN, metrics) is unchanged.
#include <cstddef>

#include "spinfire/nn/tensor.hpp"

namespace spinfire::nn {

class spike_source {
public:
    virtual ~spike_source() = default;
    /// x: [x_steps, batch, n] (x_steps 1: the same input at every step, direct encoding);
    /// y: [steps, batch, n] spikes -1 / 0 / +1; n neurons per sample.
    virtual void forward(std::size_t steps, std::size_t x_steps, std::size_t batch, std::size_t n,
                         const float* x, float* y, const context& ctx) = 0;
};

} // namespace spinfire::nn
