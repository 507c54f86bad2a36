#pragma once
// Patch-whitening initialisation of the first convolution (a trick of the fastest CIFAR-10
// recipes, snn.md section 2): its filters start as the principal directions of the training
// images' K x K patches scaled by 1 / sqrt(eigenvalue + eps), in +/- pairs (max pooling
// follows the conv here, and max(z) and max(-z) = -min(z) are different features). The
// first layer then responds with unit variance along each of those directions instead of
// mostly along the few high-variance ones (mean colour, low frequencies). Training moves
// the filters freely afterwards.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

#include "spinfire/core/error.hpp"
#include "spinfire/core/sym_eigen.hpp"
#include "spinfire/data/loader.hpp"

namespace spinfire::train {

/// Mean and covariance of all valid K x K patches (flattened as c, ky, kx: the conv weight's
/// OIHW order) of `images` samples spread evenly over the source (class-sorted sets too).
struct patch_statistics {
    std::size_t dim = 0, patches = 0;
    std::vector<double> mean;       ///< dim
    std::vector<double> covariance; ///< dim x dim, row-major
};

template <data::sample_source Source>
requires(Source::batch_rank == 4) patch_statistics
    patch_covariance(const Source& src, std::size_t images, std::size_t k) {
    const auto shp = src.batch_shape(1);
    const std::size_t C = shp[1], H = shp[2], W = shp[3];
    if (k == 0 || k > H || k > W) throw parameter_error("k", "patch larger than the images");
    images = std::min(images, src.size());
    if (images == 0) throw parameter_error("images", "no samples to estimate patches from");
    patch_statistics st;
    st.dim = C * k * k;
    const std::size_t d = st.dim;
    std::vector<double> sum(d, 0.0), outer(d * d, 0.0), p(d);
    std::vector<float> x(C * H * W);
    for (std::size_t j = 0; j < images; ++j) {
        src.write(j * src.size() / images, 0, 1, x.data(), 0, 0, /*augment*/ false);
        for (std::size_t y = 0; y + k <= H; ++y)
            for (std::size_t xx = 0; xx + k <= W; ++xx) {
                for (std::size_t c = 0; c < C; ++c)
                    for (std::size_t ky = 0; ky < k; ++ky)
                        for (std::size_t kx = 0; kx < k; ++kx)
                            p[(c * k + ky) * k + kx] = x[(c * H + y + ky) * W + xx + kx];
                for (std::size_t a = 0; a < d; ++a) {
                    sum[a] += p[a];
                    for (std::size_t b = a; b < d; ++b) outer[a * d + b] += p[a] * p[b];
                }
                ++st.patches;
            }
    }
    const double n = double(st.patches);
    st.mean.resize(d);
    st.covariance.assign(d * d, 0.0);
    for (std::size_t a = 0; a < d; ++a) st.mean[a] = sum[a] / n;
    for (std::size_t a = 0; a < d; ++a)
        for (std::size_t b = a; b < d; ++b)
            st.covariance[a * d + b] = st.covariance[b * d + a] =
                outer[a * d + b] / n - st.mean[a] * st.mean[b];
    return st;
}

/// Sets the first min(out_channels / 2, C K^2) filter pairs of chain's first layer (a K x K
/// conv2d) to +/- the whitening directions of the patches of `images` samples of src,
/// largest variance first; any remaining filters keep their initialisation. Returns the
/// number of pairs set.
template <class Chain, data::sample_source Source>
requires(Source::batch_rank == 4) std::size_t
    whiten_first_conv(Chain& chain, const Source& src, std::size_t images, double eps = 5e-4) {
    auto& first = std::get<0>(chain.layers());
    using layer_t = std::decay_t<decltype(first)>;
    if constexpr (!requires {
                      layer_t::kind;
                      first.weight();
                  }) {
        throw parameter_error("whiten", "the network does not start with a convolution");
    } else {
        auto& w = first.weight();
        if (std::string_view(layer_t::kind) != "conv2d" || w.value.dimension() != 4 ||
            w.value.shape(1) != src.batch_shape(1)[1])
            throw parameter_error("whiten", "the network does not start with a convolution "
                                            "of the source's channels");
        const patch_statistics st = patch_covariance(src, images, w.value.shape(2));
        const std::size_t out = w.value.shape(0), d = st.dim;
        const sym_eigen_result e = sym_eigen(st.covariance, d);
        const std::size_t pairs = std::min(out / 2, d);
        float* wp = w.value.data();
        for (std::size_t k = 0; k < pairs; ++k) {
            const double s = 1.0 / std::sqrt(std::max(e.values[k], 0.0) + eps);
            for (std::size_t j = 0; j < d; ++j) {
                const auto v = float(e.vectors[j * d + k] * s);
                wp[(2 * k) * d + j] = v;
                wp[(2 * k + 1) * d + j] = -v;
            }
        }
        w.touch();
        return pairs;
    }
}

} // namespace spinfire::train
