// Event streams: AEDAT 2.0 and N-MNIST readers, event -> frame integration, CIFAR10-DVS
// directories with their frame cache, the event-camera emulator, and frame batches.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

#include <xtensor/xview.hpp>
#include <xtensor/xreducer.hpp>

#include <spinfire/data/aedat.hpp>
#include <spinfire/data/cifar10_binary.hpp>
#include <spinfire/data/dvs_dataset.hpp>
#include <spinfire/data/emulated_dvs.hpp>
#include <spinfire/data/emulator.hpp>
#include <spinfire/data/frame_source.hpp>
#include <spinfire/data/frames.hpp>
#include <spinfire/data/loader.hpp>
#include <spinfire/data/nmnist.hpp>

#include "unit/data/helpers.hpp"

namespace fs = std::filesystem;
using namespace spinfire;

namespace {

template <class F>
std::pair<std::uint64_t, std::string> data_error_of(F&& f) {
    try {
        f();
    } catch (const data_error& e) {
        return {e.offset(), e.what()};
    }
    return {~0ull, "<no data_error thrown>"};
}

data::event_stream random_stream(std::size_t n, std::size_t side, std::uint64_t seed) {
    data::event_stream s;
    s.width = s.height = side;
    rng::stream r(seed, 1);
    std::int64_t t = 17;
    for (std::size_t i = 0; i < n; ++i) {
        t += r.below(50);
        s.events.push_back({t, std::uint16_t(r.below(std::uint32_t(side))),
                            std::uint16_t(r.below(std::uint32_t(side))), std::uint8_t(r.below(2))});
    }
    return s;
}

std::vector<std::uint8_t> aedat_bytes(const std::string& header,
                                      const std::vector<std::uint32_t>& words) {
    std::vector<std::uint8_t> b(header.begin(), header.end());
    for (auto w : words) {
        b.push_back(std::uint8_t(w >> 24));
        b.push_back(std::uint8_t(w >> 16));
        b.push_back(std::uint8_t(w >> 8));
        b.push_back(std::uint8_t(w));
    }
    return b;
}

data::event_stream small(std::size_t w, std::size_t h, std::vector<data::event> ev) {
    data::event_stream s;
    s.width = w;
    s.height = h;
    s.events = std::move(ev);
    return s;
}

} // namespace

TEST_CASE("aedat 2.0: address bits, axis conventions, round trips") {
    const std::string hdr = "#!AER-DAT2.0\r\n# a comment\n";
    // y_raw 5, x_raw 3, polarity bit 1 at t = 1000 us; y_raw 127, x_raw 0, polarity 0.
    const auto bytes = aedat_bytes(hdr, {(5u << 8) | (3u << 1) | 1u, 1000u, 127u << 8, 1001u});
    data::aedat_read_info info;
    const auto raw = data::parse_aedat2(bytes, "mem", {data::dvs128_axes::raw(), false}, &info);
    CHECK(info.header_bytes == hdr.size());
    REQUIRE(raw.size() == 2);
    CHECK(raw.events[0] == data::event{1000, 3, 5, 1});
    CHECK(raw.events[1] == data::event{1001, 0, 127, 0});
    const auto up = data::parse_aedat2(bytes, "mem"); // x = 127 - y_raw, y = 127 - x_raw, p = 1 - p
    CHECK(up.events[0] == data::event{1000, 122, 124, 0});
    CHECK(up.events[1] == data::event{1001, 0, 127, 1});
    CHECK((up.width == 128 && up.height == 128));

    // Round trips through files for several conventions, exactly.
    const fs::path dir = test::scratch_dir("aedat");
    const auto s = random_stream(5000, 128, 3);
    for (auto axes : {data::dvs128_axes::upright(), data::dvs128_axes::raw(),
                      data::dvs128_axes{true, false, true, false}}) {
        data::write_aedat2(dir / "rt.aedat", s, {axes, false}, {"round trip"});
        const auto back = data::read_aedat2(dir / "rt.aedat", {axes, false});
        CHECK(back.events == s.events);
    }
    CHECK_THROWS_AS(data::format_aedat2(small(128, 128, {{5, 0, 0, 0}, {4, 0, 0, 0}})),
                    parameter_error);
    CHECK_THROWS_AS(data::format_aedat2(small(200, 200, {{5, 150, 0, 0}})), parameter_error);
}

TEST_CASE("aedat 2.0: malformed files give the byte offset and never read past the end") {
    const std::string hdr = "#!AER-DAT2.0\n";
    const std::size_t h = hdr.size();
    auto off = [](const std::vector<std::uint8_t>& b, data::aedat_options o = {}) {
        // Parse from an exact-size heap copy so a read past the end would be caught by
        // sanitizers / valgrind.
        return data_error_of([&] { data::parse_aedat2(std::vector<std::uint8_t>(b), "bad", o); });
    };
    auto [o1, m1] = off(aedat_bytes("#!AER-DAT3.1\n", {}));
    CHECK(o1 == 0);
    CHECK(m1.find("does not start with '#!AER-DAT2.0'") != std::string::npos);

    auto [o2, m2] = off(aedat_bytes(hdr + "# no end of line", {}));
    CHECK(o2 == h);
    CHECK(m2.find("header line has no end") != std::string::npos);

    auto odd = aedat_bytes(hdr, {2u, 10u, 4u});
    auto [o3, m3] = off(odd);
    CHECK(o3 == h + 8);
    CHECK(m3.find("odd number of 32-bit words (3)") != std::string::npos);

    auto trunc = aedat_bytes(hdr, {2u, 10u});
    trunc.insert(trunc.end(), {0, 0, 1});
    auto [o4, m4] = off(trunc);
    CHECK(o4 == h + 8);
    CHECK(m4.find("truncated record: 3 bytes") != std::string::npos);

    auto [o5, m5] = off(aedat_bytes(hdr, {2u, 10u, 4u, 30u, 6u, 29u}));
    CHECK(o5 == h + 16 + 4);
    CHECK(m5.find("timestamp goes backwards: 29 us after 30 us") != std::string::npos);

    const auto special = aedat_bytes(hdr, {2u, 10u, 0x8000u | 4u, 11u, 6u, 12u});
    auto [o6, m6] = off(special);
    CHECK(o6 == h + 8);
    CHECK(m6.find("address 0x00008004 lies outside the DVS128 layout") != std::string::npos);
    data::aedat_read_info info;
    const auto kept = data::parse_aedat2(special, "ok", {{}, true}, &info);
    CHECK(kept.size() == 2);
    CHECK(info.dropped_special == 1);

    // An event whose address starts with byte 0x23 ('#') is an event, not a header line:
    // a special one here (refused, or dropped and counted), followed by a normal one. Its
    // timestamp 10 holds a newline byte, which once ended the "line" and swallowed it.
    const auto hash_first = aedat_bytes(hdr, {0x23000000u, 10u, 2u, 11u});
    auto [o8, m8] = off(hash_first);
    CHECK(o8 == h);
    CHECK(m8.find("address 0x23000000 lies outside the DVS128 layout") != std::string::npos);
    data::aedat_read_info hinfo;
    const auto hkept = data::parse_aedat2(hash_first, "ok", {{}, true}, &hinfo);
    CHECK(hinfo.header_bytes == h);
    CHECK(hinfo.dropped_special == 1);
    REQUIRE(hkept.size() == 1);
    CHECK(hkept.events[0].t == 11);

    // Header only, header with CRLF lines, and no events are all valid.
    CHECK(data::parse_aedat2(aedat_bytes(hdr, {}), "x").size() == 0);
    CHECK(data::parse_aedat2(aedat_bytes("#!AER-DAT2.0\r\n#\r\n", {2u, 5u}), "x").size() == 1);
    const auto [o7, m7] = data_error_of([] { data::read_aedat2("/nonexistent/x.aedat"); });
    CHECK(m7.find("x.aedat: no such file") != std::string::npos);
}

TEST_CASE("aedat 2.0 (shared data): the real header-only jAER recording") {
    const fs::path real = test::shared_data("dvs/jaer-aedat2-header-only.aedat");
    if (real.empty()) return;
    data::aedat_read_info ri;
    const auto r = data::read_aedat2(real, {}, &ri);
    CHECK(r.size() == 0);
    CHECK(ri.header_bytes == 599);
    CHECK(ri.header_bytes == fs::file_size(real));
}

TEST_CASE("n-mnist (shared data): the real sample, byte-exact, through the frame pipeline") {
    const fs::path real = test::shared_data("dvs/nmnist-sample.bin");
    if (real.empty()) return;
    const auto s = data::read_nmnist(real);
    REQUIRE(s.size() == 4325);
    CHECK(s.events.front().t == 654);
    CHECK(s.events.back().t == 311175);
    CHECK(std::count_if(s.events.begin(), s.events.end(), [](auto& e) { return e.p == 1; }) ==
          2145);
    CHECK(std::all_of(s.events.begin(), s.events.end(),
                      [](auto& e) { return e.x < 34 && e.y < 34; }));
    CHECK(data::format_nmnist(s) == test::read_bytes(real));
    // The real stream through the frame pipeline: every event lands in a frame.
    const auto f = data::integrate_frames(s, {4, data::frame_split::by_time, 34, 34});
    CHECK(xt::sum(f)() == doctest::Approx(4325));
    const auto g = data::integrate_frames(s, {4, data::frame_split::by_count, 48, 48});
    CHECK(xt::sum(g)() == doctest::Approx(4325).epsilon(1e-5));
    CHECK(xt::sum(xt::view(g, 0))() == doctest::Approx(4325 / 4).epsilon(1e-5));
}

TEST_CASE("n-mnist: byte-exact round trip, malformed records") {
    const auto s = random_stream(777, 34, 9);
    CHECK(data::parse_nmnist(data::format_nmnist(s), "rt").events == s.events);

    std::vector<std::uint8_t> ok = {1, 2, 0x80, 0x00, 0x10, 33, 33, 0x00, 0x01, 0x00};
    const auto two = data::parse_nmnist(ok, "ok");
    CHECK(two.events[0] == data::event{16, 1, 2, 1});
    CHECK(two.events[1] == data::event{256, 33, 33, 0});
    auto trunc = ok;
    trunc.push_back(3);
    trunc.push_back(4);
    auto [o1, m1] = data_error_of([&] { data::parse_nmnist(trunc, "t.bin"); });
    CHECK(o1 == 10);
    CHECK(m1.find("truncated record: 2 bytes") != std::string::npos);
    auto range = ok;
    range[5] = 34;
    auto [o2, m2] = data_error_of([&] { data::parse_nmnist(range, "r.bin"); });
    CHECK(o2 == 5);
    CHECK(m2.find("(34, 33) lies outside the 34x34 sensor") != std::string::npos);
    auto back = ok;
    back[9] = 0;
    back[8] = 0; // t = 0 after 16
    auto [o3, m3] = data_error_of([&] { data::parse_nmnist(back, "b.bin"); });
    CHECK(o3 == 7);
    CHECK(m3.find("goes backwards") != std::string::npos);
}

TEST_CASE("frames: hand-computed counts by event count and by time, area resampling") {
    // Five events on a 4x4 sensor.
    const auto s =
        small(4, 4, {{0, 0, 0, 1}, {10, 3, 0, 0}, {20, 0, 0, 1}, {30, 1, 2, 1}, {39, 1, 2, 1}});
    // By count, T = 2: frame 0 = events [0, 2), frame 1 = [2, 5).
    auto f = data::integrate_frames(s, {2, data::frame_split::by_count, 4, 4});
    CHECK(f(0, 1, 0, 0) == 1);
    CHECK(f(0, 0, 0, 3) == 1);
    CHECK(f(1, 1, 0, 0) == 1);
    CHECK(f(1, 1, 2, 1) == 2);
    CHECK(xt::sum(f)() == 5);
    // By time, T = 2 over [0, 39]: t * 2 / 40 -> 0, 0, 1, 1, 1: the same split here;
    // T = 4: 0, 1, 2, 3, 3.
    f = data::integrate_frames(s, {4, data::frame_split::by_time, 4, 4});
    CHECK(f(0, 1, 0, 0) == 1);
    CHECK(f(1, 0, 0, 3) == 1);
    CHECK(f(2, 1, 0, 0) == 1);
    CHECK(f(3, 1, 2, 1) == 2);
    // By count with N not a multiple of T: frame i holds [floor(i N / T), floor((i+1) N / T)).
    for (std::size_t N : {1u, 5u, 7u, 10u, 23u})
        for (std::size_t T : {1u, 2u, 3u, 4u, 7u}) {
            data::event_stream r = small(1, 1, {});
            for (std::size_t k = 0; k < N; ++k) r.events.push_back({std::int64_t(k), 0, 0, 0});
            const auto g = data::integrate_frames(r, {T, data::frame_split::by_count, 1, 1});
            for (std::size_t i = 0; i < T; ++i)
                CHECK(g(i, 0, 0, 0) == float((i + 1) * N / T - i * N / T));
        }
    // 4x4 -> 2x2 sums 2x2 blocks.
    f = data::integrate_frames(s, {1, data::frame_split::by_count, 2, 2});
    CHECK(f(0, 1, 0, 0) == 2);
    CHECK(f(0, 0, 0, 1) == 1);
    CHECK(f(0, 1, 1, 0) == 2);
    // 3x3 -> 2x2: the middle pixel splits 1/2 : 1/2 per axis, a corner pixel stays whole.
    const auto m = small(3, 3, {{0, 1, 1, 0}, {1, 0, 0, 1}, {2, 2, 1, 1}});
    f = data::integrate_frames(m, {1, data::frame_split::by_count, 2, 2});
    for (std::size_t y = 0; y < 2; ++y)
        for (std::size_t x = 0; x < 2; ++x) CHECK(f(0, 0, y, x) == doctest::Approx(0.25));
    CHECK(f(0, 1, 0, 0) == doctest::Approx(1.0));
    CHECK(f(0, 1, 0, 1) == doctest::Approx(0.5));
    CHECK(f(0, 1, 1, 1) == doctest::Approx(0.5));
    // 2x2 -> 3x3 upsampling: pixel (0, 0) covers outputs [0, 1.5): weights 2/3 and 1/3.
    f = data::integrate_frames(small(2, 2, {{0, 0, 0, 0}}), {1, data::frame_split::by_count, 3, 3});
    CHECK(f(0, 0, 0, 0) == doctest::Approx(4.0 / 9));
    CHECK(f(0, 0, 0, 1) == doctest::Approx(2.0 / 9));
    CHECK(f(0, 0, 1, 1) == doctest::Approx(1.0 / 9));
    CHECK(f(0, 0, 2, 2) == 0);
    // 128 -> 48 keeps the total count of a random stream.
    const auto big = random_stream(20000, 128, 4);
    const auto g = data::integrate_frames(big, {10, data::frame_split::by_time, 48, 48});
    CHECK(xt::sum(g)() == doctest::Approx(20000).epsilon(1e-5));
    CHECK(xt::sum(data::integrate_frames(small(4, 4, {}),
                                         {3, data::frame_split::by_time, 5, 5}))() == 0);
    CHECK_THROWS_AS(
        data::integrate_frames(small(4, 4, {{0, 4, 0, 0}}), {1, data::frame_split::by_count, 4, 4}),
        parameter_error);
    CHECK_THROWS_AS(data::integrate_frames(s, {0, data::frame_split::by_count, 4, 4}),
                    parameter_error);
}

TEST_CASE("frame augmentation: flip and shifts move the planes, zero fill") {
    const std::size_t H = 5, W = 7;
    std::vector<float> in(2 * H * W), out(2 * H * W);
    std::iota(in.begin(), in.end(), 1.0f);
    data::frame_draw d;
    d.dy = 1;
    d.dx = -2;
    data::augment_planes(in.data(), 2, H, W, out.data(), d);
    for (std::size_t p = 0; p < 2; ++p)
        for (std::size_t y = 0; y < H; ++y)
            for (std::size_t x = 0; x < W; ++x) {
                const long sy = long(y) - 1, sx = long(x) + 2;
                const float want = (sy < 0 || sx >= long(W))
                                       ? 0.0f
                                       : in[(p * H + std::size_t(sy)) * W + std::size_t(sx)];
                CHECK(out[(p * H + y) * W + x] == want);
            }
    d = {};
    d.flip = true;
    data::augment_planes(in.data(), 2, H, W, out.data(), d);
    CHECK(out[0] == in[W - 1]);
    CHECK(out[H * W + 2 * W + 1] == in[H * W + 2 * W + W - 2]);
    // Draws: shifts uniform on [-max, max], flips about half.
    int flips = 0, lo = 0, hi = 0;
    for (int i = 0; i < 4000; ++i) {
        const auto a = data::draw_frame_augment({true, 5}, 8, 2, std::uint64_t(i));
        flips += a.flip;
        lo += a.dx == -5;
        hi += a.dy == 5;
        CHECK((a.dx >= -5 && a.dx <= 5 && a.dy >= -5 && a.dy <= 5));
    }
    CHECK(std::abs(flips - 2000) < 5 * std::sqrt(1000.0));
    CHECK(std::abs(lo - 4000 / 11) < 5 * std::sqrt(4000 / 11.0));
    CHECK(std::abs(hi - 4000 / 11) < 5 * std::sqrt(4000 / 11.0));
}

TEST_CASE("emulator: silence, locality, closed path balance, noise rate, determinism") {
    data::emulator_params p;
    p.duration_us = 200000;
    p.step_us = 2000;
    p.loops = 2;
    p.amplitude_px = 4;
    p.noise_rate_hz = 0;
    // A flat image equal to the background gives no events.
    std::vector<std::uint8_t> flat(3 * 32 * 32, 51);
    p.background = 0.2;
    CHECK(data::emulate_dvs(flat.data(), 3, 32, 32, p, 1, 0).size() == 0);

    // A bright 8x8 square (CIFAR pixels 12..19 -> sensor 48..79) on the dark background.
    std::vector<std::uint8_t> sq(32 * 32, 0);
    for (int y = 12; y < 20; ++y)
        for (int x = 12; x < 20; ++x) sq[std::size_t(y * 32 + x)] = 230;
    p.background = 0;
    p.refractory_us = 0;
    const auto s = data::emulate_dvs(sq.data(), 1, 32, 32, p, 5, 0);
    REQUIRE(s.size() > 1000);
    CHECK((s.width == 128 && s.height == 128));
    // Path: x offset in [-2A, 0], y offset in [-A, A]; upscaling blurs edges by 2 pixels.
    bool inside = true, sorted = true;
    std::vector<int> net(128 * 128, 0);
    for (std::size_t k = 0; k < s.size(); ++k) {
        const auto& e = s.events[k];
        inside =
            inside && e.x >= 48 - 8 - 3 && e.x <= 79 + 3 && e.y >= 48 - 4 - 3 && e.y <= 79 + 4 + 3;
        sorted = sorted && (k == 0 || s.events[k - 1].t <= e.t);
        net[std::size_t(e.y) * 128 + e.x] += e.p ? 1 : -1;
        CHECK((e.t >= 0 && e.t <= 200000));
    }
    CHECK(inside);
    CHECK(sorted);
    // The path is closed: each pixel ends at its starting intensity, and its reference level
    // stays within one threshold of the intensity, so ON minus OFF is -1, 0 or +1 (the dead
    // band), however many events the pixel fired.
    CHECK(std::all_of(net.begin(), net.end(), [](int v) { return std::abs(v) <= 1; }));

    // Determinism, and the seed-fixed threshold pattern.
    CHECK(data::emulate_dvs(sq.data(), 1, 32, 32, p, 5, 0).events == s.events);
    CHECK(data::emulate_dvs(sq.data(), 1, 32, 32, p, 6, 0).events != s.events);

    // Background activity only: Poisson count rate * pixels * duration, half ON.
    p.noise_rate_hz = 5;
    p.background = 0;
    std::vector<std::uint8_t> black(32 * 32, 0);
    const auto n = data::emulate_dvs(black.data(), 1, 32, 32, p, 9, 3);
    const double expect = 5 * 128 * 128 * 0.2;
    CHECK(std::abs(double(n.size()) - expect) < 5 * std::sqrt(expect));
    const auto on =
        std::count_if(n.events.begin(), n.events.end(), [](auto& e) { return e.p == 1; });
    CHECK(std::abs(double(on) - expect / 2) < 5 * std::sqrt(expect / 4) + 5 * std::sqrt(expect));
    CHECK(data::emulate_dvs(black.data(), 1, 32, 32, p, 9, 3).events == n.events);
    CHECK(data::emulate_dvs(black.data(), 1, 32, 32, p, 9, 4).events != n.events);

    p.step_us = 0;
    CHECK_THROWS_AS(data::emulate_dvs(black.data(), 1, 32, 32, p, 9, 3), parameter_error);
    // a recording longer than AEDAT 2.0's 32-bit microsecond timestamps is refused by name
    // (--duration-us 1e300 aborted make_emulated_dvs)
    p.step_us = 2000;
    p.duration_us = 1e300;
    CHECK_THROWS_WITH_AS(p.validate(), doctest::Contains("'duration_us'"), parameter_error);
}

TEST_CASE("cifar10-dvs directory: emulated set, splits, frames, cache, loader batches") {
    const fs::path root = test::scratch_dir("dvs_emulated");
    auto images = test::random_images(40, 32, 32, 17); // 4 per class
    images.class_names.assign(data::cifar10_classes.begin(), data::cifar10_classes.end());
    data::emulator_params p;
    p.duration_us = 40000;
    p.step_us = 4000;
    std::size_t calls = 0;
    const auto sum = data::make_emulated_cifar10_dvs(
        images, root, 4, p, 3, [&](std::size_t, std::size_t, std::size_t) { ++calls; });
    CHECK(sum.files == 40);
    CHECK(calls == 40);
    CHECK(fs::exists(root / "README.txt"));
    CHECK(fs::exists(root / "ship" / "cifar10_ship_3.aedat"));
    // The file holds exactly the emulator's stream for that image (8th image = ship #0).
    const auto ship0 = data::read_aedat2(root / "ship" / "cifar10_ship_0.aedat");
    CHECK(ship0.events == data::emulate_dvs(images.image(8), 3, 32, 32, p, 3, 8).events);

    // 9:1 per class on 4 recordings: 3 train (index 0..2), 1 test (index 3).
    const auto train =
        data::list_cifar10_dvs(root, data::split::train, data::dvs_split_rule::per_class_9_1);
    const auto test_files =
        data::list_cifar10_dvs(root, data::split::test, data::dvs_split_rule::per_class_9_1);
    CHECK(train.size() == 30);
    CHECK(test_files.size() == 10);
    CHECK(std::all_of(test_files.begin(), test_files.end(), [](auto& f) { return f.index == 3; }));
    CHECK(test_files[9].label == 9);

    data::dvs_dataset_options o;
    o.frames = {3, data::frame_split::by_count, 24, 24};
    o.cache_dir = test::scratch_dir("dvs_cache");
    const auto fs_train = data::load_cifar10_dvs(root, data::split::train, o);
    REQUIRE(fs_train.size() == 30);
    CHECK(fs_train.frames.shape() == std::array<std::size_t, 5>{30, 3, 2, 24, 24});
    const auto direct = data::integrate_frames(data::read_aedat2(train[7].path), o.frames);
    CHECK(xt::view(fs_train.frames, 7) == direct);
    CHECK(fs_train.labels[7] == train[7].label);
    // The second load reads the cache: a float changed in the file shows up.
    const fs::path cache_file = o.cache_dir / "cifar10_dvs_train_rule0_max0.frames";
    REQUIRE(fs::exists(cache_file));
    auto bytes = test::read_bytes(cache_file);
    const float marker = 12345.0f;
    std::memcpy(bytes.data() + bytes.size() - 4, &marker, 4);
    test::write_bytes(cache_file, bytes);
    const auto cached = data::load_cifar10_dvs(root, data::split::train, o);
    CHECK(cached.frames(29, 2, 1, 23, 23) == marker);
    CHECK(cached.labels == fs_train.labels);
    // Dimensions in the cache that its key does not give are refused by name, never trusted:
    // a flipped bit in T (once SIGSEGV), 1 polarity (once a read past the buffer), 1 of 30
    // recordings (once silently a 1-recording set).
    {
        const auto good = test::read_bytes(cache_file);
        const auto nl = std::find(good.begin(), good.end(), '\n');
        const auto dims_at = std::size_t(std::find(nl + 1, good.end(), '\n') - good.begin()) + 1;
        const std::pair<int, std::uint64_t> bad[] = {
            {1, 3 | (std::uint64_t(1) << 40)}, {2, 1}, {0, 1}, {4, 23}};
        for (const auto& [d, v] : bad) {
            CAPTURE(d);
            auto b = good;
            std::memcpy(b.data() + dims_at + 8 * std::size_t(d), &v, 8);
            test::write_bytes(cache_file, b);
            auto [od, md] =
                data_error_of([&] { data::load_cifar10_dvs(root, data::split::train, o); });
            CHECK(od == dims_at + 8 * std::size_t(d));
            CHECK(md.find("corrupt frame cache") != std::string::npos);
        }
        // a value that is no event count (found by tests/fuzz/fuzz_frames_cache: once accepted)
        for (const float v : {std::numeric_limits<float>::quiet_NaN(), -1.0f,
                              std::numeric_limits<float>::infinity()}) {
            auto b = good;
            std::memcpy(b.data() + b.size() - 4, &v, 4);
            test::write_bytes(cache_file, b);
            auto [ov, mv] =
                data_error_of([&] { data::load_cifar10_dvs(root, data::split::train, o); });
            CHECK(ov == good.size() - 4);
            CHECK(mv.find("is not a finite event count") != std::string::npos);
        }
        auto longer = good; // right dimensions, wrong length
        longer.push_back(0);
        test::write_bytes(cache_file, longer);
        auto [ol, ml] = data_error_of([&] { data::load_cifar10_dvs(root, data::split::train, o); });
        CHECK(ml.find("not the length its dimensions give") != std::string::npos);
        test::write_bytes(cache_file, good);
    }
    // A recording rewritten in place with the same size (one event's polarity flipped) is
    // decoded again, not served from the cache.
    {
        auto rec = test::read_bytes(train[7].path);
        rec[rec.size() - 5] ^= 1; // the last event's polarity bit
        test::write_bytes(train[7].path, rec);
        const auto fresh = data::load_cifar10_dvs(root, data::split::train, o);
        const auto redone = data::integrate_frames(data::read_aedat2(train[7].path), o.frames);
        CHECK(xt::view(fresh.frames, 7) == redone);
        CHECK_FALSE(xt::view(fs_train.frames, 7) == redone);
        CHECK(fresh.frames(29, 2, 1, 23, 23) != marker);
    }
    // Other frame options do not reuse that cache.
    o.frames.steps = 2;
    CHECK(data::load_cifar10_dvs(root, data::split::train, o).steps() == 2);

    // Frame batches [T, B, 2, H, W] for the network.
    const data::frame_source src(fs_train, {true, 3});
    data::loader<data::frame_source> L(src, 4, true, true, 77);
    std::size_t n = 0;
    std::vector<float> want(2 * 24 * 24);
    for (auto& b : L.epoch(1)) {
        CHECK(b.x.shape()[0] == 3);
        CHECK(b.x.shape()[2] == 2);
        for (std::size_t slot = 0; slot < b.size(); ++slot) {
            const auto i = b.indices[slot];
            const auto d = data::draw_frame_augment({true, 3}, 77, 1, i);
            for (std::size_t t = 0; t < 3; ++t) {
                data::augment_planes(fs_train.sample(i) + t * want.size(), 2, 24, 24, want.data(),
                                     d);
                CHECK(std::equal(want.begin(), want.end(),
                                 b.x.data() + (t * b.size() + slot) * want.size()));
            }
            ++n;
        }
    }
    CHECK(n == 30);

    // The 0-699 / 700-999 rule reads the index from the name.
    fs::rename(root / "cat" / "cifar10_cat_3.aedat", root / "cat" / "cifar10_cat_700.aedat");
    const auto t700 =
        data::list_cifar10_dvs(root, data::split::test, data::dvs_split_rule::index_700);
    REQUIRE(t700.size() == 1);
    CHECK(t700[0].index == 700);
    // A held-out set: every recording is test, in class then index order.
    const auto all =
        data::list_cifar10_dvs(root, data::split::test, data::dvs_split_rule::all_test);
    REQUIRE(all.size() == 40);
    CHECK(all[12].label == 3);
    CHECK(all[15].index == 700); // cat: 0, 1, 2, 700
    CHECK(data::list_cifar10_dvs(root, data::split::train, data::dvs_split_rule::all_test).empty());

    // Malformed directories.
    test::write_bytes(root / "cat" / "cifar10_cat_01.aedat",
                      test::read_bytes(root / "cat" / "cifar10_cat_1.aedat"));
    auto [o1, m1] = data_error_of([&] {
        data::list_cifar10_dvs(root, data::split::train, data::dvs_split_rule::per_class_9_1);
    });
    CHECK(m1.find("repeats recording index 1") != std::string::npos);
    fs::remove(root / "cat" / "cifar10_cat_01.aedat");
    test::write_bytes(root / "cat" / "cifar10_dog_9.aedat", {});
    auto [o2, m2] = data_error_of([&] {
        data::list_cifar10_dvs(root, data::split::train, data::dvs_split_rule::per_class_9_1);
    });
    CHECK(m2.find("cifar10_dog_9.aedat: unexpected entry") != std::string::npos);
    fs::remove(root / "cat" / "cifar10_dog_9.aedat");
    fs::remove_all(root / "frog");
    auto [o3, m3] = data_error_of([&] {
        data::list_cifar10_dvs(root, data::split::train, data::dvs_split_rule::per_class_9_1);
    });
    CHECK(m3.find("frog: missing class folder") != std::string::npos);
    // A malformed recording surfaces through the dataset loader with its name.
    fs::create_directories(root / "frog");
    test::write_bytes(root / "frog" / "cifar10_frog_0.aedat", aedat_bytes("#!AER-DAT2.0\n", {1u}));
    o.cache_dir.clear();
    auto [o4, m4] = data_error_of([&] { data::load_cifar10_dvs(root, data::split::test, o); });
    CHECK(m4.find("cifar10_frog_0.aedat (byte 13): odd number") != std::string::npos);
}
