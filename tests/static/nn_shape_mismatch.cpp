// expect: check_link<spinfire::nn::conv2d<3, 8, 3>, spinfire::nn::batch_norm<16>.*shape mismatch between consecutive layers
// conv2d<3, 8, 3> makes 8 channels; batch_norm<16> wants 16: the graph must not compile,
// and the diagnostic names both layers (check_link<conv2d<...>, batch_norm<16>, shape<...>>).
// Twin: batch_norm<8>.
#include <spinfire/nn/batch_norm.hpp>
#include <spinfire/nn/conv2d.hpp>
#include <spinfire/nn/graph.hpp>

int main() {
    using namespace spinfire::nn;
#ifdef SPINFIRE_STATIC_FAIL
    auto net = sequential<shape<3, 32, 32>>(conv2d<3, 8, 3>{}, batch_norm<16>{});
#else
    auto net = sequential<shape<3, 32, 32>>(conv2d<3, 8, 3>{}, batch_norm<8>{});
#endif
    return int(net.size);
}
