#pragma once
// The processes of data-parallel training as the graph, the layers and the trainer see them:
// an interface without MPI, which dist::data_parallel implements (only built with
// -DSPINFIRE_WITH_MPI=ON). A single process has none: context::replicas stays null and no
// layer takes another branch.
//
// Every process holds the same model and runs the same calls in the same order on its own
// shard of each global batch; the calls below are collective (every process must make them).
#include <cstddef>
#include <span>

#include "spinfire/nn/parameter.hpp"

namespace spinfire::nn {

class replica_group {
public:
    virtual std::size_t rank() const = 0;
    virtual std::size_t size() const = 0;
    /// Element-wise sum over the processes, in place, on every process (synced batch-norm
    /// statistics, the step's loss and accuracy counts).
    virtual void sum(double* v, std::size_t n) = 0;
    /// Before training: process 0's parameter and buffer values on every process, and the
    /// parameters (in forward order) whose gradients gradient_ready will announce.
    virtual void share(std::span<parameter* const> params, std::span<buffer* const> buffers) = 0;
    /// p.grad holds this step's gradient (the graph calls it after each layer's backward):
    /// its reduction may start while backward goes on.
    virtual void gradient_ready(parameter& p) = 0;
    /// Waits until every parameter's grad is the mean of the processes' gradients (before
    /// the optimizer step).
    virtual void average_gradients() = 0;

protected:
    ~replica_group() = default;
};

} // namespace spinfire::nn
