#pragma once
// The networks of the training programs. Every network ends in a linear readout per time
// step ([T, B, 10]); the loss averages over T (cross-entropy) or scores each step (TET).
//
// cifar10_fast<Model, W>: the CPU time-to-accuracy network (docs/results/cifar10.md says why):
//   conv3x3(3->W) maxpool2 BN sLIF | conv3x3(W->2W) maxpool2 BN sLIF |
//   conv3x3(2W->4W) maxpool2 BN sLIF | conv3x3(4W->8W) maxpool2 BN sLIF | linear(32W->10)
// Pooling before BN and the neuron (as the fastest CIFAR-10 recipes do) runs BN and the
// neuron on a quarter of the elements and feeds every conv but the first pure spikes; the
// first conv sees the analog image once for all T (direct encoding).
//
// cifar10_deep<Model, W>: cifar10_fast with a second conv3x3-BN-sLIF at 4x4 (4W->4W) and at
//   2x2 (8W->8W), where a conv is cheapest: +4.7 M MACs per step at W = 32 (+31 %), the
//   two-convs-per-stage shape of the fastest CIFAR-10 recipes at the low resolutions only.
//
// cifar10_large<Model, W>: two conv3x3-BN-sLIF per stage at widths W, 4W, 4W (W = 64 is the
//   shape of airbench94, the fastest published CIFAR-10 recipe to 94 %): pooling after the first
//   conv of each stage, readout on the 4x4 x 4W spikes. 2.3x the MACs of cifar10_fast<64>, for
//   runs long enough to be capacity-limited rather than step-limited (the paper-level target).
//
// vgg_s<Model>: the reference network of DESIGN.md (for long runs).
//
// vggsnn<Model, W>: VGGSNN of TET (W = 64 is the paper's width) for 2 x 48 x 48 event frames:
//   W, 2W, AP2, 4W, 4W, AP2, 8W, 8W, AP2, 8W, 8W, AP2, linear(8W*9 -> 10), conv-BN-sLIF each.
#include <cstddef>

#include "spinfire/nn/batch_norm.hpp"
#include "spinfire/nn/conv2d.hpp"
#include "spinfire/nn/flatten.hpp"
#include "spinfire/nn/graph.hpp"
#include "spinfire/nn/linear.hpp"
#include "spinfire/nn/pool.hpp"
#include "spinfire/nn/spiking.hpp"

namespace spinfire::train {

// One conv-pool-BN-neuron group per line: keep clang-format from reflowing the lists.
// clang-format off

template <class Model, std::size_t W = 32>
auto cifar10_fast() {
    using lif = nn::spiking<Model>;
    return nn::sequential<nn::shape<3, 32, 32>>(
        nn::conv2d<3, W, 3>{}, nn::max_pool<2>{}, nn::batch_norm<W>{}, lif{},
        nn::conv2d<W, 2 * W, 3>{}, nn::max_pool<2>{}, nn::batch_norm<2 * W>{}, lif{},
        nn::conv2d<2 * W, 4 * W, 3>{}, nn::max_pool<2>{}, nn::batch_norm<4 * W>{}, lif{},
        nn::conv2d<4 * W, 8 * W, 3>{}, nn::max_pool<2>{}, nn::batch_norm<8 * W>{}, lif{},
        nn::flatten{}, nn::linear<32 * W, 10>{});
}

template <class Model, std::size_t W = 32>
auto cifar10_deep() {
    using lif = nn::spiking<Model>;
    return nn::sequential<nn::shape<3, 32, 32>>(
        nn::conv2d<3, W, 3>{}, nn::max_pool<2>{}, nn::batch_norm<W>{}, lif{},
        nn::conv2d<W, 2 * W, 3>{}, nn::max_pool<2>{}, nn::batch_norm<2 * W>{}, lif{},
        nn::conv2d<2 * W, 4 * W, 3>{}, nn::max_pool<2>{}, nn::batch_norm<4 * W>{}, lif{},
        nn::conv2d<4 * W, 4 * W, 3>{}, nn::batch_norm<4 * W>{}, lif{},
        nn::conv2d<4 * W, 8 * W, 3>{}, nn::max_pool<2>{}, nn::batch_norm<8 * W>{}, lif{},
        nn::conv2d<8 * W, 8 * W, 3>{}, nn::batch_norm<8 * W>{}, lif{},
        nn::flatten{}, nn::linear<32 * W, 10>{});
}

template <class Model, std::size_t W = 64>
auto cifar10_large() {
    using lif = nn::spiking<Model>;
    return nn::sequential<nn::shape<3, 32, 32>>(
        nn::conv2d<3, W, 3>{}, nn::max_pool<2>{}, nn::batch_norm<W>{}, lif{},
        nn::conv2d<W, W, 3>{}, nn::batch_norm<W>{}, lif{},
        nn::conv2d<W, 4 * W, 3>{}, nn::max_pool<2>{}, nn::batch_norm<4 * W>{}, lif{},
        nn::conv2d<4 * W, 4 * W, 3>{}, nn::batch_norm<4 * W>{}, lif{},
        nn::conv2d<4 * W, 4 * W, 3>{}, nn::max_pool<2>{}, nn::batch_norm<4 * W>{}, lif{},
        nn::conv2d<4 * W, 4 * W, 3>{}, nn::batch_norm<4 * W>{}, lif{},
        nn::flatten{}, nn::linear<64 * W, 10>{});
}

template <class Model>
auto vgg_s() {
    using lif = nn::spiking<Model>;
    return nn::sequential<nn::shape<3, 32, 32>>(
        nn::conv2d<3, 64, 3>{}, nn::batch_norm<64>{}, lif{},
        nn::conv2d<64, 128, 3>{}, nn::batch_norm<128>{}, lif{}, nn::avg_pool<2>{},
        nn::conv2d<128, 256, 3>{}, nn::batch_norm<256>{}, lif{}, nn::avg_pool<2>{},
        nn::conv2d<256, 256, 3>{}, nn::batch_norm<256>{}, lif{}, nn::avg_pool<2>{},
        nn::flatten{}, nn::linear<4096, 10>{});
}

template <class Model, std::size_t W = 8, std::size_t Side = 48>
auto vggsnn() {
    static_assert(Side % 16 == 0, "vggsnn: four 2x2 poolings need a side divisible by 16");
    using lif = nn::spiking<Model>;
    return nn::sequential<nn::shape<2, Side, Side>>(
        nn::conv2d<2, W, 3>{}, nn::batch_norm<W>{}, lif{},
        nn::conv2d<W, 2 * W, 3>{}, nn::batch_norm<2 * W>{}, lif{}, nn::avg_pool<2>{},
        nn::conv2d<2 * W, 4 * W, 3>{}, nn::batch_norm<4 * W>{}, lif{},
        nn::conv2d<4 * W, 4 * W, 3>{}, nn::batch_norm<4 * W>{}, lif{}, nn::avg_pool<2>{},
        nn::conv2d<4 * W, 8 * W, 3>{}, nn::batch_norm<8 * W>{}, lif{},
        nn::conv2d<8 * W, 8 * W, 3>{}, nn::batch_norm<8 * W>{}, lif{}, nn::avg_pool<2>{},
        nn::conv2d<8 * W, 8 * W, 3>{}, nn::batch_norm<8 * W>{}, lif{},
        nn::conv2d<8 * W, 8 * W, 3>{}, nn::batch_norm<8 * W>{}, lif{}, nn::avg_pool<2>{},
        nn::flatten{}, nn::linear<8 * W * (Side / 16) * (Side / 16), 10>{});
}

// clang-format on

} // namespace spinfire::train
