// expect: check_link<spinfire::nn::avg_pool<2>, spinfire::nn::linear<16, 10>.*shape mismatch between consecutive layers
// linear takes a flat feature vector: feeding it a 4x2x2 map without flatten is a mismatch
// even though the sizes (16) agree. Twin: with flatten between them.
#include <spinfire/nn/flatten.hpp>
#include <spinfire/nn/graph.hpp>
#include <spinfire/nn/linear.hpp>
#include <spinfire/nn/pool.hpp>

int main() {
    using namespace spinfire::nn;
#ifdef SPINFIRE_STATIC_FAIL
    auto net = sequential<shape<4, 4, 4>>(avg_pool<2>{}, linear<16, 10>{});
#else
    auto net = sequential<shape<4, 4, 4>>(avg_pool<2>{}, flatten{}, linear<16, 10>{});
#endif
    return int(net.size);
}
