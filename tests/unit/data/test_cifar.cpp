// CIFAR-10 readers (binary, image folder, cache), augmentation and the loader.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <stb/stb_image_write.h>
#include <xtensor/xview.hpp>

#include <spinfire/core/threads.hpp>
#include <spinfire/data/cifar10.hpp>
#include <spinfire/data/frame_source.hpp>
#include <spinfire/data/image_source.hpp>
#include <spinfire/data/loader.hpp>

#include "unit/data/helpers.hpp"

namespace fs = std::filesystem;
using namespace spinfire;

namespace {

// One record written byte by byte, independent of write_cifar10_binary.
std::vector<std::uint8_t> record(std::uint8_t label, std::uint8_t r, std::uint8_t g,
                                 std::uint8_t b) {
    std::vector<std::uint8_t> rec(1 + 3072);
    rec[0] = label;
    std::fill(rec.begin() + 1, rec.begin() + 1 + 1024, r);
    std::fill(rec.begin() + 1 + 1024, rec.begin() + 1 + 2048, g);
    std::fill(rec.begin() + 1 + 2048, rec.end(), b);
    return rec;
}

template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const data_error& e) {
        return e.what();
    }
    return "<no data_error thrown>";
}

// Interleaved HWC bytes of image i of a planar set, for stb_image_write.
std::vector<std::uint8_t> interleaved(const data::image_set& s, std::size_t i) {
    const std::size_t H = s.height(), W = s.width(), plane = H * W;
    std::vector<std::uint8_t> out(3 * plane);
    for (std::size_t c = 0; c < 3; ++c)
        for (std::size_t k = 0; k < plane; ++k) out[k * 3 + c] = s.image(i)[c * plane + k];
    return out;
}

// Writes split/<class>/<i>.png (lossless) for every image of s, CIFAR-10 class names.
void write_png_folder(const fs::path& split_dir, const data::image_set& s) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        const fs::path dir = split_dir / data::cifar10_classes[std::size_t(s.labels[i])];
        fs::create_directories(dir);
        const auto px = interleaved(s, i);
        char name[32];
        std::snprintf(name, sizeof name, "%04zu.png", i);
        REQUIRE(stbi_write_png((dir / name).c_str(), int(s.width()), int(s.height()), 3, px.data(),
                               int(3 * s.width())) != 0);
    }
}

} // namespace

TEST_CASE("cifar10 binary: byte layout, round trip, several files") {
    const fs::path dir = test::scratch_dir("cifar10_binary");
    // Hand-made records: label byte, then R, G, B planes; one marked pixel at (y 1, x 2).
    auto a = record(3, 10, 20, 30), b = record(9, 1, 2, 3);
    a[1 + 1 * 32 + 2] = 200;         // red plane
    b[1 + 2048 + 31 * 32 + 31] = 77; // blue plane, last pixel
    std::vector<std::uint8_t> bytes = a;
    bytes.insert(bytes.end(), b.begin(), b.end());
    test::write_bytes(dir / "two.bin", bytes);
    const auto s = data::read_cifar10_binary({dir / "two.bin"});
    REQUIRE(s.size() == 2);
    CHECK(s.labels == std::vector<std::int32_t>{3, 9});
    CHECK(s.pixels(0, 0, 1, 2) == 200);
    CHECK(s.pixels(0, 0, 1, 3) == 10);
    CHECK(s.pixels(0, 1, 5, 5) == 20);
    CHECK(s.pixels(0, 2, 0, 0) == 30);
    CHECK(s.pixels(1, 2, 31, 31) == 77);
    CHECK(s.pixels(1, 2, 31, 30) == 3);
    CHECK(s.class_names[9] == "truck");

    // Writer -> reader round trip over two files, read back in order as one set.
    auto r = test::random_images(23, 32, 32, 5);
    r.class_names.assign(data::cifar10_classes.begin(), data::cifar10_classes.end());
    data::write_cifar10_binary(dir / "part1.bin", data::select(r, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
    std::vector<std::size_t> rest(13);
    std::iota(rest.begin(), rest.end(), std::size_t(10));
    data::write_cifar10_binary(dir / "part2.bin", data::select(r, rest));
    CHECK(fs::file_size(dir / "part1.bin") == 10 * 3073);
    const auto back = data::read_cifar10_binary({dir / "part1.bin", dir / "part2.bin"});
    CHECK(back.labels == r.labels);
    CHECK(back.pixels == r.pixels);

    // The official directory layout, and first_per_class.
    for (int k = 1; k <= 5; ++k)
        fs::copy_file(dir / "part1.bin",
                      dir / (std::string("data_batch_") + std::to_string(k) + ".bin"));
    fs::copy_file(dir / "part2.bin", dir / "test_batch.bin");
    const auto train = data::load_cifar10(dir, data::split::train);
    CHECK(train.size() == 50);
    const auto few = data::load_cifar10(dir, data::split::train, {2, {}});
    CHECK(few.size() == 20);
    const auto test_split = data::load_cifar10(dir, data::split::test);
    const xt::xtensor<std::uint8_t, 4> tail = xt::view(back.pixels, xt::range(10, 23));
    CHECK(test_split.pixels == tail);
}

TEST_CASE("cifar10 binary: malformed files name the file, the offset and the fault") {
    const fs::path dir = test::scratch_dir("cifar10_binary_bad");
    auto good = record(1, 0, 0, 0), bad_label = record(10, 0, 0, 0);
    std::vector<std::uint8_t> trunc = good;
    trunc.insert(trunc.end(), good.begin(), good.end() - 5);
    test::write_bytes(dir / "trunc.bin", trunc);
    std::string e = error_of([&] { data::read_cifar10_binary({dir / "trunc.bin"}); });
    CHECK(e.find("trunc.bin (byte 3073)") != std::string::npos);
    CHECK(e.find("truncated record") != std::string::npos);

    std::vector<std::uint8_t> labels = good;
    labels.insert(labels.end(), bad_label.begin(), bad_label.end());
    test::write_bytes(dir / "label.bin", labels);
    e = error_of([&] { data::read_cifar10_binary({dir / "label.bin"}); });
    CHECK(e.find("label.bin (byte 3073)") != std::string::npos);
    CHECK(e.find("label 10 of record 1 is out of range") != std::string::npos);

    test::write_bytes(dir / "empty.bin", {});
    CHECK(error_of([&] { data::read_cifar10_binary({dir / "empty.bin"}); }).find("empty") !=
          std::string::npos);
    CHECK(error_of([&] {
              data::read_cifar10_binary({dir / "absent.bin"});
          }).find("absent.bin: no such file") != std::string::npos);
    // A release directory with one batch missing is not silently read as a folder.
    test::write_bytes(dir / "test_batch.bin", good);
    CHECK(data::load_cifar10(dir, data::split::test).size() == 1);
    CHECK(error_of([&] { data::load_cifar10(dir, data::split::train); }).find("neither") !=
          std::string::npos);
}

TEST_CASE("image folder: PNG decodes exactly, JPEG closely, cache round trip") {
    const fs::path root = test::scratch_dir("image_folder");
    auto s = test::random_images(30, 32, 32, 11); // 3 images per class
    // Smooth images so the JPEG comparison is meaningful.
    for (std::size_t i = 0; i < s.size(); ++i)
        for (std::size_t c = 0; c < 3; ++c)
            for (std::size_t y = 0; y < 32; ++y)
                for (std::size_t x = 0; x < 32; ++x)
                    s.pixels(i, c, y, x) =
                        std::uint8_t((x * (c + 1) * 3 + y * 4 + i * 5) % 200 + 20);
    s.pixels(4, 0, 7, 9) = 255; // one sharp pixel for the exact (PNG) check
    write_png_folder(root / "train", s);
    const auto png = data::read_image_folder(root / "train");
    REQUIRE(png.size() == 30);
    // Sorted by class, then by file name: image i of class c is the (i / 10)-th of that class.
    std::map<int, std::vector<std::size_t>> by_class;
    for (std::size_t i = 0; i < s.size(); ++i) by_class[s.labels[i]].push_back(i);
    std::size_t k = 0;
    for (auto& [label, idx] : by_class)
        for (auto i : idx) {
            CHECK(png.labels[k] == label);
            CHECK(std::equal(png.image(k), png.image(k) + 3072, s.image(i)));
            ++k;
        }
    CHECK(data::read_image_folder(root / "train", {{}, 2}).size() == 20);

    // JPEG at quality 95: decoded within a few levels of the source on smooth content.
    const fs::path jroot = test::scratch_dir("image_folder_jpeg");
    const auto px = interleaved(s, 0);
    fs::create_directories(jroot / "test");
    for (const auto& cls : data::cifar10_classes) {
        fs::create_directories(jroot / "test" / cls);
        REQUIRE(stbi_write_jpg((jroot / "test" / cls / "0.jpg").c_str(), 32, 32, 3, px.data(),
                               95) != 0);
    }
    const auto jpg = data::load_cifar10(jroot, data::split::test);
    REQUIRE(jpg.size() == 10);
    double mad = 0;
    for (std::size_t j = 0; j < 3072; ++j)
        mad += std::abs(int(jpg.image(3)[j]) - int(s.image(0)[j]));
    CHECK(mad / 3072 < 4.0);

    // Cache: the first load writes CIFAR-10 binary files, the second reads them; a changed
    // folder (one image more) is decoded again.
    const fs::path cache = test::scratch_dir("image_folder_cache");
    const auto first = data::load_cifar10(root, data::split::train, {0, cache});
    CHECK(fs::exists(cache / "cifar10_train_0.bin"));
    CHECK(fs::file_size(cache / "cifar10_train_0.bin") == 30 * 3073);
    // Corrupting the decoded pixels in the cache shows the second load really reads it.
    auto bytes = test::read_bytes(cache / "cifar10_train_0.bin");
    bytes[1] = std::uint8_t(bytes[1] ^ 0xFF);
    test::write_bytes(cache / "cifar10_train_0.bin", bytes);
    const auto second = data::load_cifar10(root, data::split::train, {0, cache});
    CHECK(second.labels == first.labels);
    CHECK(second.pixels(0, 0, 0, 0) == std::uint8_t(first.pixels(0, 0, 0, 0) ^ 0xFF));
    fs::copy_file(root / "train" / "cat" / "0003.png", root / "train" / "cat" / "0100.png");
    const auto third = data::load_cifar10(root, data::split::train, {0, cache});
    CHECK(third.size() == 31);
    CHECK(third.pixels(0, 0, 0, 0) == first.pixels(0, 0, 0, 0));
}

TEST_CASE("image folder: every malformed input is a data_error naming the file") {
    const fs::path root = test::scratch_dir("image_folder_bad");
    auto s = test::random_images(10, 32, 32, 3);
    write_png_folder(root / "train", s);
    auto expect = [&](const std::string& needle, const std::string& what) {
        const std::string e = error_of([&] { data::read_image_folder(root / "train"); });
        CHECK_MESSAGE(e.find(needle) != std::string::npos, e);
        CHECK_MESSAGE(e.find(what) != std::string::npos, e);
    };
    REQUIRE(data::read_image_folder(root / "train").size() == 10);

    test::write_bytes(root / "train" / "dog" / "0099.jpg", {0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3});
    expect("0099.jpg", "cannot decode image");
    fs::remove(root / "train" / "dog" / "0099.jpg");

    const std::vector<std::uint8_t> small(16 * 16 * 3, 128);
    REQUIRE(
        stbi_write_png((root / "train" / "dog" / "0098.png").c_str(), 16, 16, 3, small.data(), 48));
    expect("0098.png", "image is 16x16, expected 32x32");
    fs::remove(root / "train" / "dog" / "0098.png");

    test::write_bytes(root / "train" / "dog" / "notes.txt", {'h', 'i'});
    expect("notes.txt", "unexpected entry");
    fs::remove(root / "train" / "dog" / "notes.txt");

    test::write_bytes(root / "train" / "dog" / "0097.png", {});
    expect("0097.png", "empty image file");
    fs::remove(root / "train" / "dog" / "0097.png");

    // found by tests/fuzz/fuzz_image: stb allocates what a JPEG header declares, and Debian's
    // stb overruns its Huffman arrays on a table of more than 256 codes
    std::vector<std::uint8_t> rgb(32 * 32 * 3, 90);
    const fs::path jpg = root / "train" / "dog" / "0096.jpg";
    REQUIRE(stbi_write_jpg(jpg.c_str(), 32, 32, 3, rgb.data(), 90));
    const std::vector<std::uint8_t> good = test::read_bytes(jpg);
    auto marker = [&](std::uint8_t m) {
        for (std::size_t i = 2; i + 1 < good.size(); ++i)
            if (good[i] == 0xFF && good[i + 1] == m) return i;
        FAIL("no marker");
        return std::size_t(0);
    };
    std::vector<std::uint8_t> big = good; // SOF0: height and width at +5 and +7
    const std::size_t sof = marker(0xC0);
    big[sof + 5] = big[sof + 7] = 0xFD, big[sof + 6] = big[sof + 8] = 0xE8; // 65000 x 65000
    test::write_bytes(jpg, big);
    expect("0096.jpg", "image is 65000x65000, expected 32x32"); // stb: "too large" after its check
    std::vector<std::uint8_t> dht = good; // a table's first code-length count: 250 + the rest
    dht[marker(0xC4) + 5] = 250;
    test::write_bytes(jpg, dht);
    expect("0096.jpg", "Huffman table declares");
    fs::remove(jpg);
    const fs::path png = root / "train" / "dog" / "0095.png";
    REQUIRE(stbi_write_png(png.c_str(), 32, 32, 3, rgb.data(), 96));
    std::vector<std::uint8_t> idat = test::read_bytes(png); // IHDR is 8 + 25 bytes: IDAT next
    REQUIRE(std::string(idat.begin() + 37, idat.begin() + 41) == "IDAT");
    idat[33] = 0x7F, idat[34] = idat[35] = idat[36] = 0xFF; // declares 2 GB (stb allocated it)
    test::write_bytes(png, idat);
    expect("0095.png", "a chunk declares 2147483647 bytes");
    fs::remove(png);
    std::vector<std::uint8_t> pnm = {'P', '6', '\n', '3', '2', ' ', '3', '2', '\n', '2', '5', '5', '\n'};
    pnm.insert(pnm.end(), rgb.begin(), rgb.end()); // a valid 32x32 PNM, which stb decoded
    test::write_bytes(png, pnm);
    expect("0095.png", "neither a JPEG nor a PNG");
    fs::remove(png);

    fs::create_directories(root / "train" / "unicorn");
    expect("unicorn", "not one of the class folders");
    fs::remove(root / "train" / "unicorn");

    fs::rename(root / "train" / "frog", root / "frog_away");
    expect("frog", "missing class folder");
    fs::create_directories(root / "train" / "frog");
    expect("frog", "holds no images");
}

TEST_CASE("augmentation: crop/flip/cutout against an explicitly padded copy") {
    const auto s = test::random_images(1, 8, 6, 21);
    const data::normalization n{{0.5f, 0.25f, 0.75f, 0}, {0.2f, 0.4f, 0.1f, 1}};
    auto norm = [&](std::size_t c, int v) { return (float(v) / 255.0f - n.mean[c]) / n.stddev[c]; };
    const std::size_t H = 8, W = 6, p = 2;
    std::vector<float> out(3 * H * W);

    data::normalize_image(s.image(0), 3, H, W, out.data(), n);
    CHECK(out[2 * H * W + 5] == doctest::Approx(norm(2, s.pixels(0, 2, 0, 5))));

    for (auto mode : {data::padding_mode::zero, data::padding_mode::reflect}) {
        // The padded image built the long way: numpy 'constant' (0) or 'reflect'.
        auto padded = [&](std::size_t c, long y, long x) -> int {
            auto refl = [](long i, long len) {
                return i < 0 ? -i : (i >= len ? 2 * (len - 1) - i : i);
            };
            if (y < 0 || y >= long(H) || x < 0 || x >= long(W)) {
                if (mode == data::padding_mode::zero) return 0;
                y = refl(y, long(H));
                x = refl(x, long(W));
            }
            return s.pixels(0, c, std::size_t(y), std::size_t(x));
        };
        for (std::size_t dy : {0u, 1u, 4u})
            for (std::size_t dx : {0u, 3u, 4u})
                for (bool flip : {false, true}) {
                    const data::augment_options o{p, mode, true, 0};
                    data::augment_draw d;
                    d.dy = dy;
                    d.dx = dx;
                    d.flip = flip;
                    data::augment_image(s.image(0), 3, H, W, out.data(), o, n, d);
                    bool all = true;
                    for (std::size_t c = 0; c < 3; ++c)
                        for (std::size_t y = 0; y < H; ++y) {
                            std::vector<float> row(W);
                            for (std::size_t x = 0; x < W; ++x)
                                row[x] = norm(
                                    c, padded(c, long(y + dy) - long(p), long(x + dx) - long(p)));
                            if (flip) std::reverse(row.begin(), row.end());
                            for (std::size_t x = 0; x < W; ++x)
                                all = all && out[(c * H + y) * W + x] == row[x];
                        }
                    CHECK_MESSAGE(all, "dy " << dy << " dx " << dx << " flip " << flip);
                }
    }
    // Cutout: a 3x3 square of zeros around the centre (4, 2); 4x2 clipped at a corner.
    data::augment_draw d;
    d.dy = d.dx = p;
    d.cut_y = 4;
    d.cut_x = 2;
    data::augment_image(s.image(0), 3, H, W, out.data(), {p, data::padding_mode::zero, false, 3}, n,
                        d);
    auto zeros = [&] { return std::count(out.begin(), out.end(), 0.0f); };
    CHECK(zeros() == 3 * 9);
    CHECK(out[(0 * H + 3) * W + 1] == 0.0f);
    CHECK(out[(0 * H + 5) * W + 3] == 0.0f);
    CHECK(out[(0 * H + 6) * W + 3] != 0.0f);
    d.cut_y = 0;
    d.cut_x = 5;
    data::augment_image(s.image(0), 3, H, W, out.data(), {p, data::padding_mode::zero, false, 4}, n,
                        d);
    CHECK(zeros() == 3 * 2 * 3); // rows 0..1, columns 3..5

    CHECK_THROWS_AS(data::augment_image(s.image(0), 3, H, W, out.data(),
                                        {8, data::padding_mode::reflect, false, 0}, n, {}),
                    parameter_error);
}

TEST_CASE("augmentation: draws depend only on (seed, epoch, index) and are uniform") {
    const data::augment_options o{4, data::padding_mode::zero, true, 8};
    std::vector<int> dy_hist(9, 0), dx_hist(9, 0);
    int flips = 0, same_next_epoch = 0;
    const int n = 9000;
    for (int i = 0; i < n; ++i) {
        const auto a = data::draw_augment(o, 32, 32, 42, 3, std::uint64_t(i));
        const auto b = data::draw_augment(o, 32, 32, 42, 3, std::uint64_t(i));
        CHECK((a.dy == b.dy && a.dx == b.dx && a.flip == b.flip && a.cut_y == b.cut_y));
        const auto c = data::draw_augment(o, 32, 32, 42, 4, std::uint64_t(i));
        same_next_epoch += (a.dy == c.dy && a.dx == c.dx && a.flip == c.flip && a.cut_x == c.cut_x);
        ++dy_hist[a.dy];
        ++dx_hist[a.dx];
        flips += a.flip;
        CHECK((a.cut_y >= 0 && a.cut_y < 32));
    }
    // Binomial bounds at ~5 sigma.
    CHECK(std::abs(flips - n / 2) < 5 * std::sqrt(n / 4.0));
    for (int k = 0; k < 9; ++k) {
        CHECK(std::abs(dy_hist[k] - n / 9) < 5 * std::sqrt(n / 9.0));
        CHECK(std::abs(dx_hist[k] - n / 9) < 5 * std::sqrt(n / 9.0));
    }
    CHECK(same_next_epoch < n / 50); // a new epoch redraws (equal by chance: 1/(9*9*2*32))
    CHECK_FALSE(data::draw_augment({4, data::padding_mode::zero, false, 0}, 32, 32, 1, 1, 1).flip);
}

TEST_CASE("augmentation: alternating flip flips every other epoch, leaves the other draws") {
    data::augment_options o{4, data::padding_mode::zero, true, 8};
    data::augment_options alt = o;
    alt.alternate_flip = true;
    data::frame_augment_options fo, falt;
    falt.alternate_flip = true;
    const int n = 4000;
    int flips_epoch0 = 0;
    for (int i = 0; i < n; ++i) {
        const auto idx = std::uint64_t(i);
        const bool first = data::draw_augment(alt, 32, 32, 42, 0, idx).flip;
        flips_epoch0 += first;
        for (std::uint64_t e = 0; e < 6; ++e) {
            const auto a = data::draw_augment(alt, 32, 32, 42, e, idx);
            const auto r = data::draw_augment(o, 32, 32, 42, e, idx);
            CHECK(a.flip == (first != (e % 2 == 1)));
            CHECK((a.dy == r.dy && a.dx == r.dx && a.cut_y == r.cut_y && a.cut_x == r.cut_x));
            const auto fa = data::draw_frame_augment(falt, 42, e, idx);
            const auto fr = data::draw_frame_augment(fo, 42, e, idx);
            CHECK(fa.flip == (data::draw_frame_augment(falt, 42, 0, idx).flip != (e % 2 == 1)));
            CHECK((fa.dy == fr.dy && fa.dx == fr.dx));
        }
    }
    CHECK(std::abs(flips_epoch0 - n / 2) < 5 * std::sqrt(n / 4.0)); // random phase per image
    alt.flip = false;
    CHECK_FALSE(data::draw_augment(alt, 32, 32, 42, 1, 3).flip);
}

TEST_CASE(
    "loader: epochs are permutations, batches match direct augmentation, threads do not matter") {
    auto s = test::random_images(37, 12, 10, 9);
    const auto n = data::compute_normalization(s);
    // compute_normalization against a direct double sum over the red channel.
    double sum = 0;
    for (std::size_t i = 0; i < s.size(); ++i)
        for (std::size_t k = 0; k < 120; ++k) sum += s.image(i)[k] / 255.0;
    CHECK(n.mean[0] == doctest::Approx(sum / (37 * 120)).epsilon(1e-6));

    const data::augment_options aug{2, data::padding_mode::reflect, true, 3};
    const data::image_source src(s, n, aug);
    data::loader<data::image_source> L(src, 8, true, true, 1234);
    CHECK(L.batches_per_epoch() == 5);
    CHECK(data::loader<data::image_source>(src, 8, true, true, 1, true).batches_per_epoch() == 4);

    auto run = [&](std::uint64_t epoch) {
        std::vector<data::batch<4>> out;
        for (auto& b : L.epoch(epoch)) out.push_back(b);
        return out;
    };
    std::vector<data::batch<4>> e0;
    {
        threads one(1);
        e0 = run(0);
    }
    REQUIRE(e0.size() == 5);
    CHECK(e0.back().size() == 5);
    CHECK(e0.front().x.shape() == std::array<std::size_t, 4>{8, 3, 12, 10});
    std::multiset<std::size_t> seen;
    std::vector<float> ref(3 * 12 * 10);
    for (const auto& b : e0)
        for (std::size_t slot = 0; slot < b.size(); ++slot) {
            const std::size_t i = b.indices[slot];
            seen.insert(i);
            CHECK(b.labels[slot] == s.labels[i]);
            data::augment_image(s.image(i), 3, 12, 10, ref.data(), aug, n,
                                data::draw_augment(aug, 12, 10, 1234, 0, i));
            CHECK(std::equal(ref.begin(), ref.end(), b.x.data() + slot * ref.size()));
        }
    CHECK(seen.size() == 37);
    CHECK(std::set<std::size_t>(seen.begin(), seen.end()).size() == 37);

    std::vector<data::batch<4>> e0_again;
    {
        threads two(2);
        e0_again = run(0);
    }
    for (std::size_t k = 0; k < e0.size(); ++k) {
        CHECK(e0[k].indices == e0_again[k].indices);
        CHECK(e0[k].x == e0_again[k].x);
    }
    const auto e1 = run(1);
    CHECK(e1[0].indices != e0[0].indices);

    // No shuffle, no augmentation: sequential order and plain normalization.
    data::loader<data::image_source> plain(src, 16, false, false, 1234);
    std::size_t next = 0;
    for (auto& b : plain.epoch(0))
        for (std::size_t slot = 0; slot < b.size(); ++slot) {
            CHECK(b.indices[slot] == next);
            data::normalize_image(s.image(next), 3, 12, 10, ref.data(), n);
            CHECK(std::equal(ref.begin(), ref.end(), b.x.data() + slot * ref.size()));
            ++next;
        }
    CHECK(next == 37);
    // Leaving an epoch early waits for the batch being prepared.
    for (auto& b : L.epoch(2)) {
        CHECK(b.size() == 8);
        break;
    }
    CHECK_THROWS_AS(data::loader<data::image_source>(src, 0, true, true, 1), parameter_error);
}

namespace {
// A source whose sample 5 cannot be produced, as a corrupt file would be.
struct failing_source {
    static constexpr std::size_t batch_rank = 4;
    std::size_t size() const { return 12; }
    std::int32_t label(std::size_t) const { return 0; }
    std::array<std::size_t, 4> batch_shape(std::size_t b) const { return {b, 1, 1, 1}; }
    void write(std::size_t i, std::size_t slot, std::size_t, float* x, std::uint64_t, std::uint64_t,
               bool) const {
        if (i == 5) throw data_error("sample5.bin", 42, "corrupt");
        x[slot] = float(i);
    }
};
} // namespace

TEST_CASE("loader: an error while preparing a batch in the background reaches the caller") {
    const failing_source src{};
    data::loader<failing_source> L(src, 4, false, false, 1);
    std::size_t batches = 0;
    std::string what;
    try {
        for (auto& b : L.epoch(0)) {
            CHECK(b.x(0, 0, 0, 0) == float(4 * batches));
            ++batches;
        }
    } catch (const data_error& e) {
        what = e.what();
    }
    CHECK(batches == 1); // batch 0 is delivered; batch 1 holds sample 5
    CHECK(what == "sample5.bin (byte 42): corrupt");
}

TEST_CASE("cifar10 jpeg copy (shared data): unpack once, decode a subset, cache") {
    const fs::path root = test::cifar10_jpeg_dir();
    if (root.empty()) return;
    const auto listing = data::list_image_folder(root / "test");
    CHECK(listing.files.size() == 10000);
    CHECK(std::count(listing.labels.begin(), listing.labels.end(), 7) == 1000);
    const fs::path cache = test::scratch_dir("cifar10_jpeg_cache");
    const auto s = data::load_cifar10(root, data::split::train, {50, cache});
    REQUIRE(s.size() == 500);
    for (int c = 0; c < 10; ++c) CHECK(std::count(s.labels.begin(), s.labels.end(), c) == 50);
    // Channel means of natural CIFAR-10 images (official: 0.491, 0.482, 0.447) within the
    // sampling error of 500 images.
    const auto n = data::compute_normalization(s);
    const auto official = data::cifar10_normalization();
    for (int c = 0; c < 3; ++c) CHECK(std::abs(n.mean[c] - official.mean[c]) < 0.04);
    const auto again = data::load_cifar10(root, data::split::train, {50, cache});
    CHECK(again.pixels == s.pixels);
    CHECK(fs::file_size(cache / "cifar10_train_50.bin") == 500 * 3073);
}
