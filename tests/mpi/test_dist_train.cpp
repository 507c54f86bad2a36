// Data-parallel training under `mpirun -np 2`: SGD steps on 2 ranks, each on its half of the
// global batch with gradients averaged over MPI (and synced batch norm), against the same
// steps in one process on the whole batch, computed by every rank itself as the truth.
// Exit status: failures summed over ranks.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <spinfire/core/philox.hpp>
#include <spinfire/dist.hpp>
#include <spinfire/neuron/signed_lif.hpp>
#include <spinfire/nn.hpp>
#include <spinfire/train/trainer.hpp>

using namespace spinfire;

namespace {
dist::communicator* world = nullptr;

constexpr std::size_t global_batch = 8, time_steps = 2;

// conv + BN + spiking neuron + linear, 16 channels: the blocked layout (nChw16c on AVX-512,
// else nChw8c) that the synced batch norm must index like oneDNN does
auto make_net() {
    return nn::sequential<nn::shape<3, 8, 8>>(nn::conv2d<3, 16, 3>{}, nn::batch_norm<16>{},
                                              nn::spiking<neuron::signed_lif>{}, nn::avg_pool<2>{},
                                              nn::flatten{}, nn::linear<256, 10>{});
}
using net_type = decltype(make_net());

struct batch {
    nn::tensor x; // [1, B, 3, 8, 8]: direct encoding, as the image programs train
    std::vector<int> labels;
};

batch make_batch(std::size_t step) {
    batch b{nn::make_tensor(1, global_batch, 3, 8, 8), {}};
    rng::stream s(11, step);
    for (auto& v : b.x) v = float(1.5 * s.normal() + 0.3);
    for (std::size_t i = 0; i < global_batch; ++i) b.labels.push_back(int(s.uniform() * 10) % 10);
    return b;
}

/// Samples [r B/P, (r + 1) B/P) of the global batch.
batch shard(const batch& g, std::size_t r, std::size_t p) {
    const std::size_t n = global_batch / p, per = 3 * 8 * 8;
    batch b{nn::make_tensor(1, n, 3, 8, 8), {}};
    std::copy_n(g.x.data() + r * n * per, n * per, b.x.data());
    b.labels.assign(g.labels.begin() + std::ptrdiff_t(r * n),
                    g.labels.begin() + std::ptrdiff_t((r + 1) * n));
    return b;
}

/// Every parameter, then every buffer (BN running statistics), one vector each.
std::vector<std::vector<float>> state(net_type& net) {
    std::vector<std::vector<float>> s;
    net.visit_parameters([&](const std::string&, nn::parameter& p) {
        s.emplace_back(p.value.begin(), p.value.end());
    });
    net.visit_buffers(
        [&](const std::string&, nn::buffer& b) { s.emplace_back(b.value.begin(), b.value.end()); });
    return s;
}

struct run_config {
    std::size_t steps = 1;
    bool sync_bn = true;
    bool summed = false; ///< the mistake of summing, not averaging, the gradients
    std::size_t bucket_bytes = std::size_t(1) << 20;
};

/// The model's change over `steps` SGD steps: on one process (group null) on the whole batch,
/// else on this rank's shard.
std::vector<std::vector<float>> train_change(const run_config& c, bool distributed) {
    auto net = make_net();
    net.initialize(7);
    const auto before = state(net);
    nn::sgd opt(net, nn::sgd_options{0.2, 0.9, 5e-4, true});
    std::optional<dist::data_parallel> group;
    nn::context ctx;
    ctx.training = true;
    ctx.steps = time_steps;
    if (distributed) {
        group.emplace(*world, c.bucket_bytes);
        std::vector<nn::parameter*> params;
        std::vector<nn::buffer*> buffers;
        net.visit_parameters([&](const std::string&, nn::parameter& p) { params.push_back(&p); });
        net.visit_buffers([&](const std::string&, nn::buffer& b) { buffers.push_back(&b); });
        group->share(params, buffers);
        ctx.replicas = &*group;
        ctx.sync_bn = c.sync_bn;
    }
    for (std::size_t k = 0; k < c.steps; ++k) {
        const batch g = make_batch(k);
        const batch b =
            distributed ? shard(g, std::size_t(world->rank()), std::size_t(world->size())) : g;
        ctx.iteration = k;
        const auto r = nn::cross_entropy(net.forward(b.x, ctx), b.labels, 0.1);
        net.backward(r.grad, ctx);
        if (distributed) {
            group->average_gradients();
            if (c.summed)
                net.visit_parameters(
                    [&](const std::string&, nn::parameter& p) { p.grad *= float(world->size()); });
        }
        opt.step();
    }
    auto after = state(net);
    for (std::size_t i = 0; i < after.size(); ++i)
        for (std::size_t j = 0; j < after[i].size(); ++j) after[i][j] -= before[i][j];
    return after;
}

/// Largest |a - b| over a tensor relative to the largest |b| of that tensor, maximised over
/// the tensors: each tensor's change is compared at its own scale.
double relative_error(const std::vector<std::vector<float>>& a,
                      const std::vector<std::vector<float>>& b) {
    REQUIRE(a.size() == b.size());
    double worst = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        REQUIRE(a[i].size() == b[i].size());
        double err = 0, scale = 0;
        for (std::size_t j = 0; j < a[i].size(); ++j) {
            err = std::max(err, std::abs(double(a[i][j]) - double(b[i][j])));
            scale = std::max(scale, std::abs(double(b[i][j])));
        }
        if (scale > 0) worst = std::max(worst, err / scale);
    }
    return worst;
}

/// Whether every rank holds bit for bit the same model change.
bool same_on_every_rank(const std::vector<std::vector<float>>& s) {
    std::string bytes;
    for (const auto& v : s)
        bytes.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
    const auto all = world->gather(bytes);
    bool same = true;
    for (const auto& b : all) same = same && b == all.front();
    float verdict = world->root() && same ? 1.0f : 0.0f; // rank 0's (the others add 0)
    world->allreduce_sum(&verdict, 1);
    return verdict == 1.0f;
}
} // namespace

// Tolerances (relative to each tensor's largest change): one step 1e-5, five steps 1e-4. The
// mistakes they must catch are orders of magnitude larger (checked below).
TEST_CASE("one step on 2 ranks with synced BN equals one step on the global batch") {
    const auto single = train_change({}, false);
    for (std::size_t bytes : {std::size_t(1) << 20, std::size_t(64)}) { // 1 bucket, several
        run_config c;
        c.bucket_bytes = bytes;
        const auto dist = train_change(c, true);
        const double err = relative_error(dist, single);
        MESSAGE("one step, buckets of " << bytes << " bytes: relative error " << err);
        CHECK(err < 1e-5);
        CHECK(same_on_every_rank(dist));
    }
    dist::data_parallel small(*world, 64);
    auto net = make_net();
    std::vector<nn::parameter*> params;
    net.visit_parameters([&](const std::string&, nn::parameter& p) { params.push_back(&p); });
    small.share(params, {});
    CHECK(small.buckets() >= 3); // the small buckets above were several
}

TEST_CASE("five steps on 2 ranks with synced BN follow five steps on the global batch") {
    run_config c;
    c.steps = 5;
    const auto single = train_change(c, false);
    const auto dist = train_change(c, true);
    const double err = relative_error(dist, single);
    MESSAGE("five steps: relative error " << err);
    CHECK(err < 1e-4);
    CHECK(same_on_every_rank(dist));
}

TEST_CASE("the comparison catches summed gradients and per-rank BN statistics") {
    const auto single = train_change({}, false);
    run_config summed;
    summed.summed = true;
    const double e_sum = relative_error(train_change(summed, true), single);
    run_config local_bn;
    local_bn.sync_bn = false;
    const double e_bn = relative_error(train_change(local_bn, true), single);
    MESSAGE("summed gradients: " << e_sum << ", per-rank BN: " << e_bn);
    CHECK(e_sum > 1e-2);
    CHECK(e_bn > 1e-3);
}

TEST_CASE("a global batch that does not split over the ranks is refused") {
    dist::data_parallel group(*world);
    CHECK(train::shard_batch(global_batch, &group) == global_batch / world->size());
    CHECK(train::shard_batch(7, nullptr) == 7);
    CHECK_THROWS_WITH_AS(train::shard_batch(7, &group),
                         doctest::Contains("does not split over 2 processes"), parameter_error);
}

int main(int argc, char** argv) {
    dist::environment env(argc, argv);
    dist::communicator comm;
    world = &comm;
    doctest::Context ctx(argc, argv);
    if (!comm.root()) ctx.setOption("out", "/dev/null"); // one report, from rank 0
    float failed = float(ctx.run() != 0);
    comm.allreduce_sum(&failed, 1);
    if (comm.root())
        std::printf("[dist train] ranks: %d, ranks with failures: %g\n", comm.size(),
                    double(failed));
    return failed > 0 ? 1 : 0;
}
