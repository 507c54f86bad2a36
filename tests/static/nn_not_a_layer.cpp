// expect: constraints not satisfied.*layer<typename std::decay
// Only types modelling nn::layer (kind, forward, backward, initialize) compose into graphs.
// Twin: a linear layer in its place.
#include <spinfire/nn/graph.hpp>
#include <spinfire/nn/linear.hpp>

struct not_a_layer {
    int value = 0;
};

int main() {
    using namespace spinfire::nn;
#ifdef SPINFIRE_STATIC_FAIL
    auto net = sequential<shape<4>>(not_a_layer{});
#else
    auto net = sequential<shape<4>>(linear<4, 2>{});
#endif
    return int(net.size);
}
