// expect: residual: the body must keep the shape of its input
// A residual body that changes the channel count cannot be added to its input.
#include <spinfire/nn/conv2d.hpp>
#include <spinfire/nn/graph.hpp>

int main() {
    using namespace spinfire::nn;
    auto net = sequential<shape<8, 8, 8>>(residual(conv2d<8, 16, 3>{}));
    return int(net.size);
}
