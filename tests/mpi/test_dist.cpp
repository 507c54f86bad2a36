// spinfire::dist under `mpirun -np 2`: every rank runs every test case (they are collective);
// rank 0 checks the gathered results against a single-process run in the same process.
// Exit status: failures summed over ranks.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <spinfire/core/philox.hpp>
#include <spinfire/device/presets.hpp>
#include <spinfire/dist.hpp>

using namespace spinfire;

namespace {
dist::communicator* world = nullptr;

std::string file_bytes(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

fit::sweep_config sweep_config() {
    fit::sweep_config c;
    c.steps = 60;
    c.chunk = 3; // 6 chunks of 16 points (split at the temperature change), uneven for 2 ranks
    return c;
}
fit::sweep_grid sweep_grid() {
    fit::sweep_grid g;
    g.width_nm = {9, 10, 11, 60}; // W = 60 > L = 45: another easy axis, another class
    g.amplitude = {1.0e-3, 1.5e-3};
    g.temperature = {0, 300}; // 300 K: thermal noise, one stream per point
    return g;
}
} // namespace

TEST_CASE("gather and allreduce against values every rank knows") {
    const int p = world->size();
    REQUIRE(p >= 2);
    const auto parts =
        world->gather(std::string(std::size_t(world->rank()) + 1, char('a' + world->rank())));
    if (world->root()) {
        REQUIRE(parts.size() == std::size_t(p));
        for (int r = 0; r < p; ++r)
            CHECK(parts[std::size_t(r)] == std::string(std::size_t(r) + 1, char('a' + r)));
    } else {
        CHECK(parts.empty());
    }
    std::vector<float> v{float(world->rank()), 1.0f};
    world->allreduce_sum(v.data(), v.size());
    CHECK(v[0] == float(p * (p - 1) / 2));
    CHECK(v[1] == float(p));
}

TEST_CASE("every schedule hands out each item exactly once") {
    for (auto s : {dist::schedule::blocks, dist::schedule::cyclic, dist::schedule::dynamic}) {
        std::vector<float> seen(11, 0.0f);
        dist::for_my_items(*world, seen.size(), s, [&](std::size_t k) { seen[k] += 1; });
        world->allreduce_sum(seen.data(), seen.size());
        for (float c : seen) CHECK(c == 1.0f);
    }
}

TEST_CASE("a distributed sweep writes the single-process CSV byte for byte") {
    const auto c = sweep_config();
    const auto g = sweep_grid();
    const auto dir = std::filesystem::temp_directory_path() / "spinfire_test_dist";
    std::vector<fit::sweep_row> single;
    if (world->root()) {
        std::filesystem::create_directories(dir);
        single = fit::run_sweep(c, g);
        fit::write_sweep_csv((dir / "single.csv").string(), single);
        CHECK(single.size() == 16);
    }
    for (auto s : {dist::schedule::blocks, dist::schedule::cyclic, dist::schedule::dynamic}) {
        CAPTURE(dist::enum_name(s));
        const auto rows = dist::run_sweep(*world, c, g, s);
        if (!world->root()) {
            CHECK(rows.empty());
            continue;
        }
        const auto file = dir / (std::string(dist::enum_name(s)) + ".csv");
        fit::write_sweep_csv(file.string(), rows);
        CHECK(file_bytes(file) == file_bytes(dir / "single.csv"));
        CHECK(fit::class_counts(rows) == fit::class_counts(single));
    }
}

TEST_CASE("distributed Monte Carlo devices give the single-process summary bit for bit") {
    std::vector<double> x(40);
    rng::stream st(21, 0);
    for (auto& e : x) e = st.normal();
    fit::variability_spec spec; // defaults: tolerances and 300 K
    spec.devices = 9;
    const fit::protocol p;
    std::string single;
    if (world->root())
        single = fit::to_json(fit::run_variability(device::orthogonal_mtj(), p, spec, x)).dump();
    for (auto s : {dist::schedule::blocks, dist::schedule::dynamic}) {
        CAPTURE(dist::enum_name(s));
        const auto r =
            dist::run_variability(*world, device::orthogonal_mtj(), p, spec, x, {}, {}, s, 2);
        if (world->root()) {
            CHECK(r.fits.size() + r.failures.size() == 9);
            CHECK(fit::to_json(r).dump() == single);
        }
    }
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
        std::printf("[dist] ranks: %d, ranks with failures: %g\n", comm.size(), double(failed));
    return failed > 0 ? 1 : 0;
}
