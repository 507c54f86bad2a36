// core/: vec3 algebra, Philox known-answer vectors and distribution, reflection + JSON,
// the symmetric eigen-solver.
#include <spinfire/core/philox.hpp>
#include <spinfire/core/vec3.hpp>
#include <spinfire/core/error.hpp>
#include <spinfire/core/reflect.hpp>
#include <spinfire/core/sym_eigen.hpp>
#include <spinfire/core/threads.hpp>
#include <spinfire/io/json.hpp>

#include <csignal>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_support.hpp"

using namespace spinfire;

TEST_CASE("vec3: cross product is orthogonal and obeys the BAC-CAB rule") {
    const vec3<double> a{0.3, -1.2, 2.0}, b{1.5, 0.4, -0.7}, c{-0.2, 0.9, 0.1};
    CHECK(dot(cross(a, b), a) == doctest::Approx(0).epsilon(1e-15));
    const auto lhs = cross(a, cross(b, c));
    const auto rhs = dot(a, c) * b - dot(a, b) * c;
    CHECK(lhs.x == doctest::Approx(rhs.x));
    CHECK(lhs.y == doctest::Approx(rhs.y));
    CHECK(lhs.z == doctest::Approx(rhs.z));
    CHECK(norm(normalized(a)) == doctest::Approx(1.0).epsilon(1e-15));
}

// Scalar code may contract a*b-c*d into FMA where xsimd code does not: equal to rounding.
TEST_CASE("vec3: batch lanes equal the scalar computation") {
    using B = simd::batch<double>;
    alignas(64) double xs[B::size], ys[B::size];
    for (std::size_t i = 0; i < B::size; ++i) xs[i] = 0.1 * double(i) + 0.3, ys[i] = 1.0 - xs[i];
    const vec3<B> a{B::load_aligned(xs), B::load_aligned(ys), B(0.5)};
    const vec3<B> b{B(0.2), B::load_aligned(xs), B::load_aligned(ys)};
    const auto c = cross(a, b);
    for (std::size_t i = 0; i < B::size; ++i) {
        const auto cs = cross(vec3<double>{xs[i], ys[i], 0.5}, vec3<double>{0.2, xs[i], ys[i]});
        CHECK(simd::lane(c.x, i) == doctest::Approx(cs.x).epsilon(1e-14));
        CHECK(simd::lane(c.y, i) == doctest::Approx(cs.y).epsilon(1e-14));
        CHECK(simd::lane(c.z, i) == doctest::Approx(cs.z).epsilon(1e-14));
    }
}

TEST_CASE("philox4x32-10: Random123 known-answer vectors") {
    // kat_vectors of Random123: counter (c0..c3), key (k0, k1) -> output.
    auto b = rng::philox4x32(0, 0, 0);
    CHECK(b == rng::block{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u});
    b = rng::philox4x32(~0ull, ~0ull, ~0ull);
    CHECK(b == rng::block{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu});
    // counter = {243f6a88, 85a308d3, 13198a2e, 03707344}, key = {a4093822, 299f31d0}
    b = rng::philox4x32(0x299f31d0a4093822ull, 0x0370734413198a2eull, 0x85a308d3243f6a88ull);
    CHECK(b == rng::block{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u});
}

TEST_CASE("philox normals: moments and batch lanes equal scalar streams") {
    double s1 = 0, s2 = 0, s4 = 0;
    const int n = 200000;
    for (int c = 0; c < n / 4; ++c) {
        for (double z : rng::normal4<double>(42, 7, std::uint64_t(c))) {
            s1 += z, s2 += z * z, s4 += z * z * z * z;
        }
    }
    // Standard errors: mean 1/sqrt(n) = 0.0022, variance sqrt(2/n) = 0.0032,
    // fourth moment sqrt(96/n) = 0.022; 5 sigma bounds.
    CHECK(std::abs(s1 / n) < 0.011);
    CHECK(std::abs(s2 / n - 1) < 0.016);
    CHECK(std::abs(s4 / n - 3) < 0.11);

    using B = simd::batch<double>;
    const auto zb = rng::normal4<B>(9, 100, 5);
    for (std::size_t i = 0; i < B::size; ++i) {
        const auto zs = rng::normal4<double>(9, 100 + i, 5);
        for (int k = 0; k < 4; ++k)
            CHECK(simd::lane(zb[k], i) == doctest::Approx(zs[k]).epsilon(1e-14));
    }
}

TEST_CASE("rng::stream: below() is unbiased and shuffle is a permutation") {
    rng::stream s(1, 2);
    int hist[3] = {0, 0, 0};
    for (int i = 0; i < 30000; ++i) hist[s.below(3)]++;
    for (int h : hist) CHECK(std::abs(h - 10000) < 500); // 5 sigma = 5 * sqrt(30000 * 2/9)
    std::vector<int> v(100);
    for (int i = 0; i < 100; ++i) v[i] = i;
    rng::stream s2(1, 3);
    rng::shuffle(v.begin(), v.end(), s2);
    auto sorted = v;
    std::sort(sorted.begin(), sorted.end());
    for (int i = 0; i < 100; ++i) CHECK(sorted[i] == i);
    CHECK(v != sorted);
    // Same stream, same permutation.
    std::vector<int> w(100);
    for (int i = 0; i < 100; ++i) w[i] = i;
    rng::stream s3(1, 3);
    rng::shuffle(w.begin(), w.end(), s3);
    CHECK(v == w);
}

namespace {
struct inner {
    BOOST_HANA_DEFINE_STRUCT(inner, (double, a), (int, n));
};
struct outer {
    BOOST_HANA_DEFINE_STRUCT(outer, (inner, in), (vec3<double>, axis), (bool, flag),
                             (std::string, name));
};
} // namespace

TEST_CASE("reflection + JSON: round trip, unknown keys and wrong types are errors") {
    outer o{{1.5, 3}, {0, 1, 0}, true, "dev"};
    CHECK(reflect::field_names<outer>() == std::vector<std::string>{"in", "axis", "flag", "name"});
    const auto j = io::to_json(o);
    outer back{};
    io::from_json(j, back);
    CHECK(back.in.a == 1.5);
    CHECK(back.in.n == 3);
    CHECK(back.axis.y == 1.0);
    CHECK(back.flag);
    CHECK(back.name == "dev");

    auto bad = j;
    bad["in"]["bogus"] = 1;
    CHECK_THROWS_WITH_AS(io::from_json(bad, back), doctest::Contains("unknown key 'bogus'"),
                         spinfire::error);
    bad = j;
    bad["in"]["n"] = 2.5;
    CHECK_THROWS_WITH_AS(io::from_json(bad, back), doctest::Contains("in.n"), spinfire::error);
    bad = j;
    bad["axis"] = {1, 2};
    CHECK_THROWS_AS(io::from_json(bad, back), spinfire::error);
}

TEST_CASE("io: JSON files are written atomically and read back") {
    const auto dir = test::scratch_dir("json");
    const auto f = (dir / "x.json").string();
    io::write_json_file(f, io::json{{"k", 1}});
    CHECK(io::read_json_file(f)["k"] == 1);
    { std::ofstream(f) << "{\"k\": "; }
    CHECK_THROWS_AS(io::read_json_file(f), spinfire::data_error);
    CHECK_THROWS_AS(io::read_json_file((dir / "missing.json").string()), spinfire::data_error);
    // a number no double holds names the file (it was the JSON library's bare out_of_range)
    { std::ofstream(f) << "{\"Ms\": 1e999}"; }
    CHECK_THROWS_WITH_AS(io::read_json_file(f), doctest::Contains((f + ": ").c_str()),
                         spinfire::data_error);
    // an output directory that cannot be made is a data_error naming the path (it was a
    // std::filesystem_error the programs did not catch)
    { std::ofstream(dir / "file") << "x"; }
    const auto under_file = (dir / "file" / "sub" / "y.json").string();
    CHECK_THROWS_WITH_AS(io::write_json_file(under_file, io::json{{"k", 1}}),
                         doctest::Contains("cannot create directory"), spinfire::data_error);
}

TEST_CASE("io: a crash mid-write leaves <file>.tmp.<pid>, remove_stale_temporaries removes only "
          "those of processes that are gone") {
    const auto dir = test::scratch_dir("stale_tmp");
    const auto dead = dir / "checkpoint.bin.tmp.999999999"; // above any pid_max
    const auto alive = dir / ("checkpoint.bin.tmp." + std::to_string(::getpid()));
    const auto other = dir / "notes.tmp.txt";
    for (const auto& p : {dead, alive, other}) std::ofstream(p) << "x";
    CHECK(io::remove_stale_temporaries(dir.string()) == 1);
    CHECK_FALSE(std::filesystem::exists(dead));
    CHECK(std::filesystem::exists(alive));
    CHECK(std::filesystem::exists(other));
}

TEST_CASE("io: a full disk is a clear error and the earlier file survives") {
    // The disk fills in a child: RLIMIT_FSIZE makes writes past 64 KiB fail with EFBIG, as
    // ENOSPC would (SIGXFSZ ignored), without touching the parent's limits.
    const auto dir = test::scratch_dir("full_disk");
    const auto f = (dir / "report.json").string();
    io::write_json_file(f, io::json{{"epoch", 7}});
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        std::signal(SIGXFSZ, SIG_IGN);
        const rlimit lim{64 * 1024, 64 * 1024};
        if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) ::_exit(3);
        try {
            io::write_json_file(f, io::json{{"big", std::string(1 << 20, 'x')}});
        } catch (const data_error& e) {
            const std::string what = e.what();
            const bool named =
                what.find(f) != std::string::npos && what.find("disk full") != std::string::npos;
            ::_exit(named ? 0 : 2);
        } catch (...) {
            ::_exit(4);
        }
        ::_exit(1); // the write claimed success
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0); // 1: no error, 2: unclear message, 3: no rlimit, 4: other
    CHECK(io::read_json_file(f)["epoch"] == 7);
    for (const auto& e : std::filesystem::directory_iterator(dir))
        CHECK(e.path().filename().string().find(".tmp.") == std::string::npos);
}

TEST_CASE("threads: a budget is bounded (4 x the hardware threads, at least 16)") {
    CHECK(threads::limit() >= 16);
    CHECK(threads::limit() >= 4 * threads::available());
    CHECK_THROWS_WITH_AS(threads(100000), doctest::Contains("'threads'"), parameter_error);
    CHECK_THROWS_AS(threads(threads::limit() + 1), parameter_error);
    CHECK_THROWS_AS(threads(0), parameter_error);
    CHECK_NOTHROW(threads(threads::limit()));
}

TEST_CASE("errors: parameter checks name the parameter") {
    CHECK_THROWS_WITH_AS(require_positive("Ms", -1.0), doctest::Contains("'Ms'"), parameter_error);
    CHECK_THROWS_AS(require_finite("alpha", std::nan("")), parameter_error);
    CHECK_NOTHROW(require_non_negative("alpha", 0.0));
}

TEST_CASE("sym_eigen: 2 x 2 by hand, Q diag(l) Q^T recovers l and Q up to sign") {
    // [[2, 1], [1, 2]]: eigenvalues 3 and 1, vectors (1, 1) / sqrt 2 and (1, -1) / sqrt 2
    const auto e2 = sym_eigen({2, 1, 1, 2}, 2);
    CHECK(e2.values[0] == doctest::Approx(3).epsilon(1e-14));
    CHECK(e2.values[1] == doctest::Approx(1).epsilon(1e-14));
    CHECK(std::abs(e2.vectors[0]) == doctest::Approx(std::sqrt(0.5)).epsilon(1e-14));
    CHECK(e2.vectors[0] * e2.vectors[2] > 0); // column 0 is +-(1, 1)

    // Q: Gram-Schmidt of a random matrix; eigenvalues with one repeated pair and a zero.
    const std::size_t n = 27;
    rng::stream r(5, 0);
    std::vector<double> q(n * n);
    for (auto& v : q) v = r.uniform() - 0.5;
    for (std::size_t k = 0; k < n; ++k) { // columns orthonormal
        for (std::size_t j = 0; j < k; ++j) {
            double d = 0;
            for (std::size_t i = 0; i < n; ++i) d += q[i * n + k] * q[i * n + j];
            for (std::size_t i = 0; i < n; ++i) q[i * n + k] -= d * q[i * n + j];
        }
        double s = 0;
        for (std::size_t i = 0; i < n; ++i) s += q[i * n + k] * q[i * n + k];
        for (std::size_t i = 0; i < n; ++i) q[i * n + k] /= std::sqrt(s);
    }
    std::vector<double> l(n);
    for (std::size_t k = 0; k < n; ++k) l[k] = 30.0 / double(k + 1); // descending
    l[3] = l[4];
    l[n - 1] = 0;
    std::vector<double> a(n * n, 0.0);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j)
            for (std::size_t k = 0; k < n; ++k) a[i * n + j] += q[i * n + k] * l[k] * q[j * n + k];
    const auto e = sym_eigen(a, n);
    for (std::size_t k = 0; k < n; ++k) {
        CHECK(e.values[k] == doctest::Approx(l[k]).epsilon(1e-12).scale(30));
        double residual = 0, norm2 = 0; // |A v - l v| and |v|
        for (std::size_t i = 0; i < n; ++i) {
            double av = 0;
            for (std::size_t j = 0; j < n; ++j) av += a[i * n + j] * e.vectors[j * n + k];
            residual += std::pow(av - e.values[k] * e.vectors[i * n + k], 2);
            norm2 += e.vectors[i * n + k] * e.vectors[i * n + k];
        }
        CHECK(std::sqrt(residual) < 1e-11);
        CHECK(norm2 == doctest::Approx(1).epsilon(1e-12));
        if (k != 3 && k != 4) { // a simple eigenvalue: the vector is Q's column up to sign
            double d = 0;
            for (std::size_t i = 0; i < n; ++i) d += e.vectors[i * n + k] * q[i * n + k];
            CHECK(std::abs(d) == doctest::Approx(1).epsilon(1e-10));
        }
    }
    CHECK_THROWS_AS(sym_eigen({1, 2, 3}, 2), parameter_error);
}
