// expect: residual: the body must keep the shape of its input
// A residual body that changes the channel count cannot be added to its input. Twin: 8 -> 8.
#include <spinfire/nn/conv2d.hpp>
#include <spinfire/nn/graph.hpp>

int main() {
    using namespace spinfire::nn;
#ifdef SPINFIRE_STATIC_FAIL
    auto net = sequential<shape<8, 8, 8>>(residual(conv2d<8, 16, 3>{}));
#else
    auto net = sequential<shape<8, 8, 8>>(residual(conv2d<8, 8, 3>{}));
#endif
    return int(net.size);
}
