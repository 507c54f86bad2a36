// expect: constraints not satisfied.*layer<typename std::decay
// Only types modelling nn::layer (kind, forward, backward, initialize) compose into graphs.
#include <spinfire/nn/graph.hpp>

struct not_a_layer {
    int value = 0;
};

int main() {
    using namespace spinfire::nn;
    auto net = sequential<shape<4>>(not_a_layer{});
    return int(net.size);
}
