// Training programs' library (spinfire/train): exact resume, a short learning run on real
// CIFAR-10 images, the evaluation outputs, and the weight export read back by numpy.
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <stb/stb_image.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spinfire/core/philox.hpp>
#include <spinfire/core/threads.hpp>
#include <spinfire/data/augment.hpp>
#include <spinfire/data/cifar10.hpp>
#include <spinfire/data/image_source.hpp>
#include <spinfire/train.hpp>
#include <xtensor/xview.hpp>
#include <xtensor/xmanipulation.hpp>

#include "test_support.hpp"

namespace {

using namespace spinfire;
using net_type = decltype(train::cifar10_fast<train::neuron_model, 4>());
net_type make_net() { return train::cifar10_fast<train::neuron_model, 4>(); }

/// A synthetic CIFAR-shaped set whose class shifts the mean of one colour plane, so it is
/// learnable and fully deterministic.
data::image_set synthetic_set(std::size_t n, std::uint64_t seed) {
    data::image_set s;
    s.class_names.assign(data::cifar10_classes.begin(), data::cifar10_classes.end());
    s.pixels = xt::xtensor<std::uint8_t, 4>::from_shape({n, 3, 32, 32});
    rng::stream r(seed, 0);
    for (std::size_t i = 0; i < n; ++i) {
        const int label = int(i % 10);
        s.labels.push_back(label);
        for (std::size_t k = 0; k < 3 * 32 * 32; ++k) {
            const bool hot =
                (k / 1024) == std::size_t(label % 3) && (k % 32) < std::size_t(3 * label + 2);
            s.image(i)[k] = std::uint8_t(r.below(128) + (hot ? 100 : 0));
        }
    }
    return s;
}

struct weights {
    std::vector<std::vector<float>> values;
    bool operator==(const weights&) const = default;
};
weights snapshot(net_type& net) {
    weights w;
    net.visit_parameters([&](const std::string&, nn::parameter& p) {
        w.values.emplace_back(p.value.begin(), p.value.end());
    });
    net.visit_buffers([&](const std::string&, nn::buffer& b) {
        w.values.emplace_back(b.value.begin(), b.value.end());
    });
    return w;
}

std::vector<std::string> read_lines(const std::filesystem::path& f) {
    std::ifstream is(f);
    std::vector<std::string> lines;
    for (std::string l; std::getline(is, l);) lines.push_back(l);
    return lines;
}

train::run_options small_options(const std::filesystem::path& out) {
    auto o = train::cifar10_recipe();
    o.out = out.string();
    o.batch = 32;
    o.epochs = 2;
    o.eval_every = 1;
    o.eval_batch = 100;
    o.quiet = true;
    // one thread: an OpenMP worker spinning beside TBB's would dominate an overloaded
    // machine (the programs re-run themselves with OMP_WAIT_POLICY=PASSIVE for that reason)
    o.threads = 1;
    o.seed = 7;
    return o;
}

/// Trainers on a 200-image synthetic training set and a 100-image test set.
/// "--neuron mtj" resolves to the committed fitted neuron wherever the tests run from.
void fitted_neuron_from_source_tree() {
    const std::string f =
        std::string(SPINFIRE_SOURCE_DIR) + "/docs/results/orthogonal_mtj_fitted.json";
    ::setenv("SPINFIRE_FITTED_NEURON", f.c_str(), 1);
}

struct synthetic_runs {
    data::image_set train_set = synthetic_set(200, 1), test_set = synthetic_set(100, 2);
    data::image_source tr{train_set, data::cifar10_normalization(), data::augment_options{}};
    data::image_source te{test_set, data::cifar10_normalization()};
    train::run_description d{"cifar10_fast<4>", {{"name", "synthetic"}}, train_set.class_names};

    synthetic_runs() = default;
    synthetic_runs(const synthetic_runs&) = delete; // tr and te point into the sets

    train::run_result run(net_type& net, const train::run_options& o) const {
        return train::trainer<net_type, data::image_source>(net, tr, te, o, d).run();
    }

    /// A run into out stopped after k steps (it leaves a checkpoint there); its options.
    train::run_options stopped(const std::filesystem::path& out, std::size_t k) const {
        auto o = small_options(out);
        o.max_steps = k;
        auto net = make_net();
        run(net, o);
        return o;
    }

    /// o stopped after k steps, then resumed to its end into net by a fresh trainer.
    train::run_result interrupted(net_type& net, train::run_options o, std::size_t k) const {
        o.max_steps = k;
        auto first = make_net();
        run(first, o);
        o.max_steps = 0;
        o.resume = true;
        return run(net, o);
    }
};

/// Applies edit to the training state inside <dir>/checkpoint.bin (rewritten with a valid
/// hash) and to its copy checkpoint.json.
template <class F>
void edit_state(const std::filesystem::path& dir, F&& edit) {
    const std::string bin = (dir / "checkpoint.bin").string();
    nn::checkpoint_contents ck = nn::read_checkpoint(bin);
    io::json st = io::json::parse(ck.metadata);
    edit(st);
    ck.metadata = st.dump();
    nn::write_checkpoint(bin, ck);
    io::write_json_file((dir / "checkpoint.json").string(), st);
}

/// A python3 that has numpy (Debian's python3-numpy may sit beside another python3).
std::string python_with_numpy() {
    for (const char* py : {"/usr/bin/python3", "python3"}) {
        const std::string cmd = std::string(py) + " -c \"import numpy\" > /dev/null 2>&1";
        if (std::system(cmd.c_str()) == 0) return py;
    }
    return {};
}

/// Number of BN scales (gamma) in net; every element of each must equal v.
template <class Net>
std::size_t bn_scales_equal_to(Net& net, float v) {
    std::size_t n = 0;
    net.visit_parameters([&](const std::string& name, nn::parameter& q) {
        if (!name.ends_with("gamma")) return;
        ++n;
        for (float g : q.value) REQUIRE(g == v);
    });
    return n;
}

/// A fitted neuron (gain 0.5, thresholds 1.25: scale 2.5) matched in front of each of the
/// `bns` BNs of net, which then maps a 2-step batch of 3 images to [T, B, 10] logits.
template <class Net>
void check_matched_two_step_forward(Net& net, std::size_t bns) {
    train::neuron_params p = train::neuron_model::defaults<double>();
    p.gain = 0.5;
    p.theta_pos = p.theta_neg = 1.25;
    train::set_neuron(net, p);
    train::match_operating_point(net.body(), p);
    CHECK(bn_scales_equal_to(net, 2.5f) == bns);
    nn::context ctx;
    ctx.steps = 2;
    nn::tensor x = nn::make_tensor(1, 3, 3, 32, 32);
    rng::stream r(7, 0);
    for (auto& v : x) v = float(r.uniform() * 4 - 2);
    const nn::tensor& y = net.forward(x, ctx);
    CHECK(y.shape()[0] == 2); // [T, B, 10]
    CHECK(y.shape()[1] == 3);
    CHECK(y.size() == 2 * 3 * 10);
}

} // namespace

TEST_CASE("scheduled_lr: warm-up from lr/10 to lr, then cosine to zero") {
    CHECK(train::scheduled_lr(0.2, 0.25, 0.0) == doctest::Approx(0.02));
    CHECK(train::scheduled_lr(0.2, 0.25, 0.125) == doctest::Approx(0.2 * (0.1 + 0.9 * 0.5)));
    CHECK(train::scheduled_lr(0.2, 0.25, 0.25) == doctest::Approx(0.2));
    CHECK(train::scheduled_lr(0.2, 0.25, 0.625) == doctest::Approx(0.1)); // cosine half-way
    CHECK(train::scheduled_lr(0.2, 0.25, 1.0) == doctest::Approx(0.0));
    CHECK(train::scheduled_lr(0.2, 0.0, 0.0) == doctest::Approx(0.2));
}

TEST_CASE("match_operating_point: a fitted neuron's first step fires where the ideal one does") {
    auto ideal = make_net(), fitted = make_net();
    ideal.initialize(3);
    fitted.initialize(3);
    train::neuron_params p = train::neuron_model::defaults<double>();
    train::match_operating_point(ideal.body(), p); // scale 1: nothing changes
    CHECK(bn_scales_equal_to(ideal, 1.0f) == 4);
    train::set_neuron(ideal, p);
    p.gain = 0.5;
    p.theta_pos = p.theta_neg = 1.25; // scale 2.5
    CHECK(train::operating_point_scale(p) == doctest::Approx(2.5));
    train::set_neuron(fitted, p);
    train::match_operating_point(fitted.body(), p);
    CHECK(bn_scales_equal_to(fitted, 2.5f) == 4); // every BN of cifar10_fast feeds a neuron
    // one step from rest: gain x 2.5 x xhat >= 1.25 exactly when xhat >= 1, layer after
    // layer, so both networks emit the same spikes and hence the same logits
    nn::context ctx;
    ctx.steps = 1;
    nn::tensor x = nn::make_tensor(1, 16, 3, 32, 32);
    rng::stream r(5, 0);
    for (auto& v : x) v = float(r.uniform() * 4 - 2);
    const nn::tensor a = ideal.forward(x, ctx);
    const nn::tensor b = fitted.forward(x, ctx);
    REQUIRE(a.shape() == b.shape());
    for (std::size_t i = 0; i < a.size(); ++i)
        CHECK(b.data()[i] == doctest::Approx(a.data()[i]).epsilon(1e-4).scale(1e-3));
}

TEST_CASE("--input-scale fixed: the bn-matched function, BN gradients 2.5x those of bn") {
    // A fitted neuron with gain 0.5 and thresholds 1.25 (drive scale 2.5), hard reset.
    const auto dir = test::scratch_dir("train_input_scale");
    fit::fitted_neuron f;
    f.model.beta = 0.45;
    f.model.gain = 0.5;
    f.model.theta_pos = f.model.theta_neg = 1.25;
    f.model.hard_reset = true;
    const std::string file = (dir / "fitted.json").string();
    fit::save(file, f);
    const train::neuron_choice in_bn = train::choose_neuron(file);
    const train::neuron_choice fixed = train::choose_neuron(file, true);
    CHECK(in_bn.input_scale == 1);
    CHECK(in_bn.params.gain == doctest::Approx(0.5));
    CHECK(fixed.input_scale == doctest::Approx(2.5));
    CHECK(fixed.params.gain == doctest::Approx(1.25));
    CHECK(fixed.fitted.model.gain == doctest::Approx(1.25)); // device draws start from it too
    CHECK(train::operating_point_scale(fixed.params) == doctest::Approx(1));
    CHECK(train::choose_neuron("ideal", true).params.gain == 1); // scale 1: nothing changes

    // bn: gamma 2.5 in front of gain 0.5; fixed: gamma 1 in front of gain 1.25. Same drive,
    // so the same logits over two steps (reset included); by the chain rule the gradient of
    // each BN's gamma and beta is 2.5x smaller in the bn network and every other one equal.
    auto a = make_net(), b = make_net();
    a.initialize(9);
    b.initialize(9);
    train::set_neuron(a, in_bn.params);
    train::match_operating_point(a.body(), in_bn.params);
    train::set_neuron(b, fixed.params);
    train::match_operating_point(b.body(), fixed.params);
    CHECK(bn_scales_equal_to(a, 2.5f) == 4);
    CHECK(bn_scales_equal_to(b, 1.0f) == 4);
    nn::context ctx;
    ctx.steps = 2;
    nn::tensor x = nn::make_tensor(1, 16, 3, 32, 32);
    rng::stream r(11, 0);
    for (auto& v : x) v = float(r.uniform() * 4 - 2);
    const std::vector<int> labels{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5};
    const auto la = nn::cross_entropy(a.forward(x, ctx), labels);
    const auto lb = nn::cross_entropy(b.forward(x, ctx), labels);
    CHECK(la.value == doctest::Approx(lb.value).epsilon(1e-5));
    a.backward(la.grad, ctx);
    b.backward(lb.grad, ctx);
    std::vector<std::pair<std::string, const nn::parameter*>> pa, pb;
    a.visit_parameters([&](const std::string& n, nn::parameter& q) { pa.emplace_back(n, &q); });
    b.visit_parameters([&](const std::string& n, nn::parameter& q) { pb.emplace_back(n, &q); });
    REQUIRE(pa.size() == pb.size());
    std::size_t bn_params = 0;
    for (std::size_t i = 0; i < pa.size(); ++i) {
        const bool bn = pa[i].first.ends_with("gamma") || pa[i].first.ends_with("beta");
        bn_params += bn;
        const double k = bn ? 2.5 : 1.0;
        const auto& ga = pa[i].second->grad;
        const auto& gb = pb[i].second->grad;
        REQUIRE(ga.size() == gb.size());
        double mx = 0;
        for (float g : gb) mx = std::max(mx, double(std::abs(g)));
        REQUIRE(mx > 0);
        for (std::size_t j = 0; j < ga.size(); ++j)
            CHECK(k * ga.data()[j] == doctest::Approx(gb.data()[j]).epsilon(1e-3).scale(1e-3 * mx));
    }
    CHECK(bn_params == 8);
}

TEST_CASE("cifar10_deep: the fast network plus two 3x3 convs at 4x4 and 2x2, all neurons matched") {
    constexpr std::size_t w = 4;
    auto fast = train::cifar10_fast<train::neuron_model, w>();
    auto deep = train::cifar10_deep<train::neuron_model, w>();
    // hand count: conv(4W->4W) at 4x4 and conv(8W->8W) at 2x2, no bias, and their BNs
    const std::size_t extra_weights = 4 * w * 4 * w * 9 + 8 * w * 8 * w * 9;
    CHECK(deep.parameter_count() == fast.parameter_count() + extra_weights + 2 * (4 * w + 8 * w));
    std::size_t macs_fast = 0, macs_deep = 0;
    for (const auto& l : nn::metrics(fast, 2).layers) macs_fast += l.macs_per_step;
    for (const auto& l : nn::metrics(deep, 2).layers) macs_deep += l.macs_per_step;
    CHECK(macs_deep == macs_fast + 16 * 4 * w * 4 * w * 9 + 4 * 8 * w * 8 * w * 9);
    // all six BNs feed a neuron, so the operating point is matched in front of each one
    check_matched_two_step_forward(deep, 6);
}

TEST_CASE("cifar10_large: two 3x3 convs per stage at W, 4W, 4W, all neurons matched") {
    constexpr std::size_t w = 4;
    auto large = train::cifar10_large<train::neuron_model, w>();
    // hand count: six convs without bias, six BNs (scale and shift), linear with bias
    const std::size_t convs = (3 * w + w * w + w * 4 * w + 3 * (4 * w * 4 * w)) * 9;
    const std::size_t bns = 2 * (2 * w + 4 * 4 * w);
    const std::size_t readout = 4 * 4 * 4 * w * 10 + 10;
    CHECK(large.parameter_count() == convs + bns + readout);
    std::size_t macs = 0;
    for (const auto& l : nn::metrics(large, 2).layers) macs += l.macs_per_step;
    // per output pixel: 9 x in x out; the first conv at 32x32, then 16x16, 16x16, 8x8, 8x8, 4x4
    const std::size_t first = 1024 * 9 * 3 * w;
    const std::size_t rest = 256 * 9 * w * w + 256 * 9 * w * 4 * w + 64 * 9 * 4 * w * 4 * w +
                             64 * 9 * 4 * w * 4 * w + 16 * 9 * 4 * w * 4 * w;
    CHECK(macs == first + rest + 64 * w * 10);
    check_matched_two_step_forward(large, 6);
}

TEST_CASE("set_device: per-neuron draws with the requested spread, read noise on every layer") {
    auto net = make_net();
    const train::neuron_choice c = train::choose_neuron("ideal");
    train::set_device(net, c, {0.1, 0.05, 4});
    std::vector<std::size_t> sizes;
    std::vector<float> theta;
    net.body().for_each([&]<std::size_t I>(auto& l) {
        if constexpr (nn::detail::spiking_layer<std::decay_t<decltype(l)>>) {
            sizes.push_back(l.per_neuron.size());
            CHECK(l.read_noise);
            CHECK(l.params.read_noise == 0.05f);
            if (theta.empty())
                for (const auto& q : l.per_neuron) theta.push_back(q.theta_pos);
        }
    });
    // cifar10_fast<4>: neurons per sample after each pooling
    CHECK(sizes == std::vector<std::size_t>{4 * 16 * 16, 8 * 8 * 8, 16 * 4 * 4, 32 * 2 * 2});
    double m = 0, v = 0;
    for (float t : theta) m += t;
    m /= double(theta.size());
    for (float t : theta) v += (t - m) * (t - m);
    const double sd = std::sqrt(v / double(theta.size() - 1));
    CHECK(m == doctest::Approx(1.0).epsilon(0.02)); // 1024 draws: se of the mean 0.003
    CHECK(sd == doctest::Approx(0.1).epsilon(0.1)); // se of the sd ~2 %
    train::set_device(net, c, {});                  // back to the nominal neuron
    net.body().for_each([&]<std::size_t I>(auto& l) {
        if constexpr (nn::detail::spiking_layer<std::decay_t<decltype(l)>>) {
            CHECK(l.per_neuron.empty());
            CHECK_FALSE(l.read_noise);
        }
    });
}

TEST_CASE("trainer: stopping after k steps and resuming gives the uninterrupted run's weights bit "
          "for bit") {
    const synthetic_runs runs;
    const auto dir = test::scratch_dir("train_resume");

    auto net_a = make_net();
    auto oa = small_options(dir / "a");
    const auto ra = runs.run(net_a, oa);
    CHECK(ra.stop_reason == "epochs");
    CHECK(ra.steps == 2 * (200 / 32));

    // interrupted mid-epoch (step 9 of 12), then resumed by a fresh network and trainer
    auto ob = small_options(dir / "b");
    ob.max_steps = 9;
    auto net_b = make_net();
    const auto rb = runs.run(net_b, ob);
    CHECK(rb.stop_reason == "max_steps");
    CHECK(rb.steps == 9);
    CHECK_FALSE(snapshot(net_b) == snapshot(net_a));
    ob.max_steps = 0;
    ob.resume = true;
    auto net_c = make_net();
    const auto rc = runs.run(net_c, ob);
    CHECK(rc.stop_reason == "epochs");
    CHECK(rc.steps == ra.steps);
    CHECK(snapshot(net_c) == snapshot(net_a));
    CHECK(rc.test.accuracy() == ra.test.accuracy());
    // the per-epoch records agree too (partial-epoch sums travel in the checkpoint)
    const auto la = read_lines(dir / "a" / "metrics.jsonl"),
               lc = read_lines(dir / "b" / "metrics.jsonl");
    REQUIRE(la.size() == 2);
    REQUIRE(lc.size() == 2);
    for (std::size_t i = 0; i < 2; ++i) {
        const auto ja = io::json::parse(la[i]), jc = io::json::parse(lc[i]);
        CHECK(ja["train_loss"] == jc["train_loss"]);
        CHECK(ja["train_accuracy"] == jc["train_accuracy"]);
        CHECK(ja["test_accuracy"] == jc["test_accuracy"]);
    }

    // a resume with a different schedule is refused, naming the option
    auto od = ob;
    od.lr = 0.05;
    auto net_d = make_net();
    CHECK_THROWS_WITH_AS(runs.run(net_d, od), doctest::Contains("lr"), parameter_error);
    // and so is one with other augmentation: it shapes the weights as much as the schedule
    auto oe = ob;
    oe.cutout = 8;
    auto net_e = make_net();
    CHECK_THROWS_WITH_AS(runs.run(net_e, oe), doctest::Contains("cutout"), parameter_error);
    oe = ob;
    oe.alternate_flip = true;
    CHECK_THROWS_WITH_AS(runs.run(net_e, oe), doctest::Contains("alternate_flip"), parameter_error);
    // the drive scale's place too; a state file from before the option counts as bn
    oe = ob;
    oe.input_scale = ob.input_scale == "bn" ? "fixed" : "bn";
    CHECK_THROWS_WITH_AS(runs.run(net_e, oe), doctest::Contains("input_scale"), parameter_error);
    edit_state(dir / "b", [](io::json& st) {
        REQUIRE(st["options"].contains("input_scale"));
        st["options"].erase("input_scale");
    });
    oe.input_scale = "fixed";
    CHECK_THROWS_WITH_AS(runs.run(net_e, oe), doctest::Contains("input_scale"), parameter_error);
}

TEST_CASE("trainer: a kill between checkpoint writes leaves a checkpoint that resumes exactly, "
          "stale temporary files are removed") {
    const synthetic_runs runs;
    const auto dir = test::scratch_dir("train_resume_kill");
    auto net_a = make_net();
    runs.run(net_a, small_options(dir / "a"));

    // steps 0-6, then 6-9; then checkpoint.json goes back to step 6, as a kill after the
    // rename of checkpoint.bin (step 9) and before that of checkpoint.json would leave it
    auto ob = small_options(dir / "b");
    ob.max_steps = 6;
    auto net_b = make_net();
    runs.run(net_b, ob);
    const auto json6 = io::read_json_file((dir / "b" / "checkpoint.json").string());
    ob.max_steps = 9;
    ob.resume = true;
    runs.run(net_b, ob);
    io::write_json_file((dir / "b" / "checkpoint.json").string(), json6);
    // and a process killed mid-write left its temporary files behind
    const auto stale = dir / "b" / "checkpoint.bin.tmp.999999999";
    std::ofstream(stale) << "half a checkpoint";
    ob.max_steps = 0;
    auto net_c = make_net();
    const auto rc = runs.run(net_c, ob);
    CHECK(rc.steps == 12);
    CHECK(snapshot(net_c) == snapshot(net_a));
    CHECK_FALSE(std::filesystem::exists(stale));
}

TEST_CASE("trainer: a training state with a missing or mistyped field is a data_error naming the "
          "file and the field") {
    const synthetic_runs runs;
    const auto dir = test::scratch_dir("train_state_fields");
    auto o = runs.stopped(dir / "a", 3);
    o.max_steps = 0;
    o.resume = true;
    const auto bin = (dir / "a" / "checkpoint.bin").string();
    const auto original = nn::read_checkpoint(bin);
    for (const char* key : {"step", "train_seconds", "options", "epoch_seen", "history"}) {
        CAPTURE(key);
        edit_state(dir / "a", [&](io::json& st) { st.erase(key); });
        auto n = make_net();
        const std::string want = bin + ": field '" + key + "' is missing";
        CHECK_THROWS_WITH_AS(runs.run(n, o), doctest::Contains(want.c_str()), data_error);
        nn::write_checkpoint(bin, original);
    }
    edit_state(dir / "a", [](io::json& st) { st["format"] = io::json::object(); });
    auto n = make_net();
    CHECK_THROWS_WITH_AS(runs.run(n, o), doctest::Contains("field 'format' is {}"), data_error);
    nn::write_checkpoint(bin, original);

    // --evaluate reads the options beside the checkpoint: a missing one is named too
    const auto state = (dir / "a" / "checkpoint.json").string();
    io::json st = io::read_json_file(state);
    st["options"].erase("neuron");
    io::write_json_file(state, st);
    CHECK_THROWS_WITH_AS(
        train::evaluate_checkpoint(n, runs.te, small_options(dir / "eval"), runs.d, bin),
        doctest::Contains((state + ": field 'options.neuron' is missing").c_str()), data_error);
    st.erase("options");
    io::write_json_file(state, st);
    CHECK_THROWS_WITH_AS(
        train::evaluate_checkpoint(n, runs.te, small_options(dir / "eval"), runs.d, bin),
        doctest::Contains("field 'options' is missing"), data_error);
    // and a number no double holds is the file's error, not the JSON library's alone
    std::ofstream(state) << "{\"format\": \"spinfire.train_state.v1\", \"step\": 1e999}";
    CHECK_THROWS_WITH_AS(
        train::evaluate_checkpoint(n, runs.te, small_options(dir / "eval"), runs.d, bin),
        doctest::Contains((state + ": ").c_str()), data_error);
}

TEST_CASE("trainer: a checkpoint already in --out is kept unless --resume or --overwrite") {
    const synthetic_runs runs;
    const auto dir = test::scratch_dir("train_overwrite");
    auto o = runs.stopped(dir / "a", 2);
    const auto before = nn::read_checkpoint((dir / "a" / "checkpoint.bin").string());
    o.max_steps = 4;
    auto n2 = make_net();
    CHECK_THROWS_WITH_AS(runs.run(n2, o), doctest::Contains("--overwrite"), parameter_error);
    CHECK(nn::read_checkpoint((dir / "a" / "checkpoint.bin").string()).user_step == 2);
    o.overwrite = true;
    CHECK(runs.run(n2, o).steps == 4);
    CHECK(nn::read_checkpoint((dir / "a" / "checkpoint.bin").string()).user_step == 4);
    CHECK(before.user_step == 2);
}

TEST_CASE("trainer: a step whose output or loss is not finite stops the run, naming the step") {
    const synthetic_runs runs;
    const auto dir = test::scratch_dir("train_nonfinite");
    auto o = small_options(dir / "a");
    o.lr = 1e30; // the first update overflows the weights
    o.warmup = 0;
    auto net = make_net();
    std::string msg;
    try {
        runs.run(net, o);
    } catch (const numeric_error& e) {
        msg = e.what();
    }
    CHECK(msg.rfind("training step ", 0) == 0); // the loss used to name no step
    CHECK(msg.find("not finite") != std::string::npos);
    CHECK(msg.find("checkpoint.bin holds the last saved state") != std::string::npos);
}

TEST_CASE("evaluate_checkpoint validates the options it is given") {
    const synthetic_runs runs;
    const auto dir = test::scratch_dir("train_eval_validate");
    runs.stopped(dir / "a", 1);
    auto net = make_net();
    const auto bin = (dir / "a" / "checkpoint.bin").string();
    for (double bad : {-0.1, std::nan("")}) {
        auto e = small_options(dir / "eval");
        e.device_spread = bad;
        CHECK_THROWS_WITH_AS(train::evaluate_checkpoint(net, runs.te, e, runs.d, bin),
                             doctest::Contains("device_spread"), parameter_error);
        e = small_options(dir / "eval");
        e.device_read_noise = bad;
        CHECK_THROWS_WITH_AS(train::evaluate_checkpoint(net, runs.te, e, runs.d, bin),
                             doctest::Contains("device_read_noise"), parameter_error);
    }
}

TEST_CASE("trainer with --T-early: T = 1 steps until the switch point, --T after, resumable") {
    auto probe = train::cifar10_recipe();
    probe.early_steps = 1;
    probe.early_until = 0.5;
    CHECK(train::training_steps(probe, 0.0) == 1);
    CHECK(train::training_steps(probe, 0.499) == 1);
    CHECK(train::training_steps(probe, 0.5) == 2);
    probe.early_steps = 0;
    CHECK(train::training_steps(probe, 0.0) == 2);

    const synthetic_runs runs;
    const auto dir = test::scratch_dir("train_early_t");
    auto early = [&](const char* name) {
        auto o = small_options(dir / name);
        o.early_steps = 1;
        o.early_until = 0.5; // 12 steps: 0-5 at T = 1, 6-11 at T = 2
        return o;
    };
    auto run = [&](net_type& net, const train::run_options& o) { return runs.run(net, o); };

    // the early phase is a T = 1 run: 6 steps of each give the same weights bit for bit
    auto oa = early("a");
    oa.max_steps = 6;
    auto net_a = make_net();
    run(net_a, oa);
    auto ob = small_options(dir / "b");
    ob.steps = 1;
    ob.max_steps = 6;
    auto net_b = make_net();
    run(net_b, ob);
    CHECK(snapshot(net_a) == snapshot(net_b));

    // after the switch it is not: the full run differs from 12 steps at T = 1
    auto net_c = make_net();
    const auto rc = run(net_c, early("c"));
    CHECK(rc.steps == 12);
    ob.max_steps = 0;
    ob.out = (dir / "b12").string();
    auto net_d = make_net();
    run(net_d, ob);
    CHECK_FALSE(snapshot(net_c) == snapshot(net_d));

    // resuming the 6-step run across the switch gives the uninterrupted run's weights
    oa.max_steps = 0;
    oa.resume = true;
    auto net_e = make_net();
    run(net_e, oa);
    CHECK(snapshot(net_e) == snapshot(net_c));

    // and a resume with another switch point is refused, naming the option
    oa.early_until = 0.25;
    auto net_f = make_net();
    CHECK_THROWS_WITH_AS(run(net_f, oa), doctest::Contains("early_until"), parameter_error);
}

TEST_CASE("trainer with --whiten: the run starts whitened and resumes exactly") {
    const synthetic_runs runs;
    const auto dir = test::scratch_dir("train_whiten");
    auto whitened = [&](const char* name) {
        auto o = small_options(dir / name);
        o.whiten = true;
        return o;
    };
    auto net_a = make_net();
    runs.run(net_a, whitened("a"));
    auto net_plain = make_net();
    runs.run(net_plain, small_options(dir / "plain"));
    CHECK_FALSE(snapshot(net_a) == snapshot(net_plain));

    auto net_c = make_net();
    runs.interrupted(net_c, whitened("b"), 9);
    CHECK(snapshot(net_c) == snapshot(net_a));
}

TEST_CASE("trainer with --ema: resume is exact and --evaluate scores the averaged weights") {
    const synthetic_runs runs;
    const auto dir = test::scratch_dir("train_ema");
    auto net_a = make_net();
    auto oa = small_options(dir / "a");
    oa.ema = 0.9;
    const auto ra = runs.run(net_a, oa);

    auto ob = small_options(dir / "b");
    ob.ema = 0.9;
    auto net_c = make_net();
    const auto rc = runs.interrupted(net_c, ob, 9);
    CHECK(snapshot(net_c) == snapshot(net_a)); // live weights
    CHECK(rc.test.loss == ra.test.loss);       // evaluated on the average, which resumed too

    // the checkpoint holds the average: evaluating it alone reproduces the run's figures,
    // and the averaged weights differ from the live ones
    auto net_e = make_net();
    const auto ev = train::evaluate_checkpoint(net_e, runs.te, small_options(dir / "eval"), runs.d,
                                               (dir / "a" / "checkpoint.bin").string());
    CHECK(ev.loss == ra.test.loss);
    CHECK(ev.correct == ra.test.correct);
    CHECK_FALSE(snapshot(net_e) == snapshot(net_a));
}

TEST_CASE("model file: weights only, it names what it is and --evaluate reproduces the run's "
          "recorded accuracy exactly") {
    const synthetic_runs runs;
    const auto dir = test::scratch_dir("train_model_file");
    fitted_neuron_from_source_tree();
    auto o = small_options(dir / "a");
    o.ema = 0.9; // the file holds the average, which the run evaluated
    o.neuron = "mtj";
    auto net = make_net();
    const auto ra = runs.run(net, o);
    const auto file = (dir / "a" / "model.bin").string();

    // no optimizer or EMA state: exactly the parameters and buffers, as a second walk counts
    const auto ck = nn::read_checkpoint(file);
    std::size_t records = 0;
    net.visit_parameters([&](const std::string&, nn::parameter&) { ++records; });
    net.visit_buffers([&](const std::string&, nn::buffer&) { ++records; });
    CHECK(ck.records.size() == records);
    for (const auto& r : ck.records) CHECK(r.first.rfind("opt.", 0) != 0);
    const auto meta = train::model_metadata(ck);
    REQUIRE(meta);
    CHECK((*meta)["network"] == "cifar10_fast<4>");
    CHECK((*meta)["options"]["neuron"] == "mtj");
    CHECK((*meta)["recorded"]["test_accuracy"] == ra.test.accuracy());
    CHECK_FALSE(train::read_model_metadata((dir / "a" / "checkpoint.bin").string()));

    // evaluated with default options (ideal neuron): the file's own neuron and weights give
    // the run's figures, and the comparison says so
    auto net_e = make_net();
    const auto e =
        train::evaluate_checkpoint(net_e, runs.te, small_options(dir / "e"), runs.d, file);
    CHECK(e.correct == ra.test.correct);
    CHECK(e.loss == ra.test.loss);
    CHECK(e.conditions["recorded"]["same_conditions"] == true);
    CHECK(train::recorded_note(e).find("reproduced exactly") != std::string::npos);
    CHECK_FALSE(snapshot(net_e) == snapshot(net)); // the average, not the live weights
    // the model file written beside that evaluation is the same model (round trip)
    const auto again = nn::read_checkpoint((dir / "e" / "model.bin").string());
    CHECK(again.records == ck.records);
    CHECK(train::model_metadata(again) == meta);

    // other conditions are said to be other, and another network is refused
    auto flip = small_options(dir / "h");
    flip.flip_tta = true;
    auto net_h = make_net();
    const auto h = train::evaluate_checkpoint(net_h, runs.te, flip, runs.d, file);
    CHECK(h.conditions["recorded"]["same_conditions"] == false);
    CHECK(train::recorded_note(h).find("other conditions") != std::string::npos);
    auto other = runs.d;
    other.network = "cifar10_fast<8>";
    CHECK_THROWS_WITH_AS(train::evaluate_checkpoint(net_h, runs.te, flip, other, file),
                         doctest::Contains("checkpoint is for network 'cifar10_fast<4>'"),
                         parameter_error);
}

TEST_CASE("hybrid: the copied analog twin computes the teacher's function, calibration puts "
          "each layer's spike rate, counted by the graph, at the teacher's activity") {
    auto teacher = make_net();
    teacher.initialize(3);
    train::set_analog(teacher, nn::analog_activation::clip);
    auto student = make_net();
    student.initialize(4); // other weights, overwritten by the copy
    train::copy_weights(student, teacher);
    train::set_analog(student, nn::analog_activation::clip);
    nn::tensor x = nn::make_tensor(1, 64, 3, 32, 32);
    rng::stream r(9, 0);
    for (auto& v : x) v = float(r.uniform() * 4 - 2);
    nn::context c1;
    c1.training = false;
    c1.steps = 1;
    const nn::tensor yt = teacher.forward(x, c1);
    const nn::tensor& ys = student.forward(x, c1);
    CHECK(yt.shape()[0] == 1);
    for (std::size_t i = 0; i < yt.size(); ++i) REQUIRE(ys.data()[i] == yt.data()[i]);

    train::set_analog(student, nn::analog_activation::off);
    nn::context c2 = c1;
    c2.steps = 2;
    const auto cal = train::calibrate_to_teacher(student, teacher, x, c2);
    REQUIRE(cal.scale.size() == 4);
    // the rates from the graph's own spike counters, a path independent of the layer's mean
    student.reset_metrics();
    c2.collect_metrics = true;
    student.forward(x, c2);
    std::size_t l = 0;
    student.body().for_each([&]<std::size_t I>(auto& layer) {
        if constexpr (nn::detail::spiking_layer<std::decay_t<decltype(layer)>>) {
            const auto& k = student.body().counters()[I];
            const double rate = (k.out_pos + k.out_neg) / k.out_total;
            CAPTURE(l);
            CHECK(rate == doctest::Approx(cal.after[l]).epsilon(1e-12));
            CHECK(cal.target[l] > 0.01);
            // bisection on a finite batch: the rate moves in steps of one spike
            CHECK(std::abs(rate - cal.target[l]) < 0.02 + 0.1 * cal.target[l]);
            ++l;
        }
    });
    CHECK(l == 4);
}

TEST_CASE("trainer with a teacher: the teacher trains as the analog twin, the SNN starts from "
          "its calibrated weights, distils it, and --evaluate scores either exactly") {
    const synthetic_runs runs;
    const auto dir = test::scratch_dir("train_teacher");
    auto o = small_options(dir / "kd");
    o.epochs = 1;
    o.teacher.epochs = 2;
    o.teacher.kd_alpha = 0.5;
    o.teacher.kd_tau = 2;
    auto net = make_net();
    const auto res = train::train_with_teacher(net, runs.tr, runs.te, o, runs.d);
    const io::json m = io::read_json_file((dir / "kd" / "metrics.json").string());
    const io::json mt = io::read_json_file((dir / "kd" / "teacher" / "metrics.json").string());
    CHECK(mt["options"]["steps"] == 1);
    CHECK(mt["options"]["teacher"]["twin"] == true);
    CHECK(mt["epochs"] == 2.0);
    CHECK(m["teacher"]["test_accuracy"] == mt["test_accuracy"]);
    CHECK(m["teacher"]["calibration"]["bn_scale"].size() == 4);
    CHECK(m["teacher"]["snn_test_accuracy_at_start"].get<double>() >= 0.0);
    CHECK(m["options"]["teacher"]["kd_alpha"] == 0.5);
    CHECK(res.test.accuracy() == m["test_accuracy"].get<double>());

    // both checkpoints evaluate to their runs' figures, the teacher as its analog twin
    auto net_t = make_net();
    const auto teacher_ck = dir / "kd" / "teacher" / "checkpoint.bin";
    const auto et = train::evaluate_checkpoint(net_t, runs.te, small_options(dir / "et"), runs.d,
                                               teacher_ck.string());
    CHECK(et.accuracy() == mt["test_accuracy"].get<double>());
    CHECK(et.loss == mt["test_loss"].get<double>());
    CHECK(train::activity_note(et) == "no spikes (an analog twin, " +
                                          m["options"]["teacher"]["activation"].get<std::string>() +
                                          " activations)");
    auto net_s = make_net();
    const auto es = train::evaluate_checkpoint(net_s, runs.te, small_options(dir / "es"), runs.d,
                                               (dir / "kd" / "checkpoint.bin").string());
    CHECK(es.loss == res.test.loss);
    CHECK(train::activity_note(es).starts_with("spikes +"));

    // the student did start from the teacher: without init, calibration and distillation
    // the same one epoch gives other weights
    auto o0 = small_options(dir / "plain");
    o0.epochs = 1;
    auto plain = make_net();
    runs.run(plain, o0);
    CHECK_FALSE(snapshot(plain) == snapshot(net));

    auto bad = o;
    bad.out = (dir / "tet").string();
    bad.loss = "tet";
    auto net_b = make_net();
    CHECK_THROWS_WITH_AS(train::train_with_teacher(net_b, runs.tr, runs.te, bad, runs.d),
                         doctest::Contains("kd_alpha"), parameter_error);
}

TEST_CASE("evaluation files: confusion CSV and PNG agree with the counts, predictions CSV "
          "lists the samples, metrics.json has test_accuracy") {
    train::evaluation e;
    e.class_names = {"a", "b", "c"};
    e.confusion = {{8, 2, 0}, {0, 5, 5}, {1, 0, 9}};
    e.samples = 30;
    e.correct = 22;
    e.labels = {2, 0, 1}; // the per-sample file is written as given (a three-sample excerpt)
    e.predicted = {2, 1, 1};
    const auto pc = e.per_class_accuracy();
    CHECK(pc[0] == doctest::Approx(0.8));
    CHECK(pc[1] == doctest::Approx(0.5));
    CHECK(pc[2] == doctest::Approx(0.9));
    const auto dir = test::scratch_dir("train_eval");
    train::write_evaluation(dir.string(), e);
    const auto csv = read_lines(dir / "confusion.csv");
    REQUIRE(csv.size() == 4);
    CHECK(csv[0] == "true\\predicted,a,b,c");
    CHECK(csv[2] == "b,0,5,5");
    CHECK(read_lines(dir / "predictions.csv") ==
          std::vector<std::string>{"index,label,predicted", "0,2,2", "1,0,1", "2,1,1"});
    int w = 0, h = 0, c = 0;
    unsigned char* img = stbi_load((dir / "confusion.png").string().c_str(), &w, &h, &c, 3);
    REQUIRE(img != nullptr);
    CHECK(w == 24 + 3 * 48);
    CHECK(h == w);
    // a cell's red channel falls linearly with its row fraction: 255 - 235 f (corner pixel, no
    // digits)
    auto red = [&](int row, int col) {
        return int(img[((24 + row * 48 + 2) * w + 24 + col * 48 + 2) * 3]);
    };
    CHECK(red(0, 0) == std::lround(255 - 235 * 0.8));
    CHECK(red(1, 2) == std::lround(255 - 235 * 0.5));
    CHECK(red(0, 2) == 255);
    stbi_image_free(img);

    // predictions: argmax of the T-averaged output
    nn::tensor out = nn::make_tensor(2, 2, 3);
    const float v[12] = {1, 0, 0, 0, 0, 1, /*t=1*/ 0, 3, 0, 0, 0, 2};
    std::copy(v, v + 12, out.data());
    const auto p = train::predictions(out);
    CHECK(p == std::vector<int>{1, 2});
}

TEST_CASE("evaluate with flip and shifts: scores the mean of the views' outputs") {
    auto net = make_net();
    net.initialize(11);
    net.visit_parameters(
        [](const std::string&, nn::parameter& q) { q.value *= 8.0f; }); // non-trivial logits
    const auto set = synthetic_set(40, 3); // class features sit on the left: not mirror-symmetric
    data::image_set mirrored = set;        // mirrored in the pixels, before normalization
    for (std::size_t i = 0; i < mirrored.size(); ++i)
        for (std::size_t row = 0; row < 3 * 32; ++row)
            std::reverse(mirrored.image(i) + row * 32, mirrored.image(i) + (row + 1) * 32);
    const auto norm = data::cifar10_normalization();
    const data::image_source src(set, norm), msrc(mirrored, norm);
    train::eval_settings s;
    s.batch = 20;
    const train::evaluation plain = train::evaluate(net, src, s);
    s.flip = true;
    const train::evaluation both = train::evaluate(net, src, s);

    // second implementation: forward the two sets separately, average, score
    nn::context ctx;
    ctx.training = false;
    ctx.steps = s.steps;
    nn::tensor x;
    std::vector<nn::tensor> first;
    data::loader<data::image_source> la(src, 20, false, false, 0), lb(msrc, 20, false, false, 0);
    for (auto& b : la.epoch(0)) {
        train::to_input(b.x, x);
        first.push_back(net.forward(x, ctx));
    }
    double loss = 0;
    std::size_t correct = 0, k = 0;
    std::vector<int> predicted;
    for (auto& b : lb.epoch(0)) {
        train::to_input(b.x, x);
        nn::tensor mean = net.forward(x, ctx);
        REQUIRE(k < first.size());
        for (std::size_t i = 0; i < mean.size(); ++i)
            mean.data()[i] = 0.5f * (mean.data()[i] + first[k].data()[i]);
        ++k;
        loss +=
            nn::cross_entropy(mean, std::span<const int>(b.labels.data(), b.labels.size())).value *
            double(b.size());
        const auto p = train::predictions(mean);
        for (std::size_t i = 0; i < b.size(); ++i) correct += p[i] == b.labels[i];
        predicted.insert(predicted.end(), p.begin(), p.end());
    }
    CHECK(both.samples == 40);
    CHECK(both.correct == correct);
    CHECK(both.predicted == predicted); // per sample, in the source's order
    REQUIRE(both.labels.size() == 40);
    for (std::size_t i = 0; i < 40; ++i) CHECK(both.labels[i] == src.label(i));
    CHECK(both.loss == doctest::Approx(loss / 40).epsilon(1e-6));
    CHECK(std::abs(plain.loss - both.loss) > 1e-3); // the mirror changes the outputs

    // with shifts: six views (shift 0, +3, -3, each plain and mirrored); second
    // implementation builds each view with xtensor strided views and flip
    s.shift = 3;
    CHECK(s.views() == 6);
    const train::evaluation six = train::evaluate(net, src, s);
    using xt::all, xt::range;
    const std::ptrdiff_t H = 32;
    double loss6 = 0;
    std::size_t correct6 = 0;
    for (auto& b : la.epoch(0)) {
        train::to_input(b.x, x);
        nn::tensor mean = xt::zeros<float>(net.forward(x, ctx).shape());
        for (const std::ptrdiff_t d : {0, 3, -3})
            for (const bool mirror : {false, true}) {
                nn::tensor v = xt::zeros_like(x);
                const auto lo = std::max<std::ptrdiff_t>(d, 0), hi = std::min(H, H + d);
                xt::view(v, all(), all(), all(), range(lo, hi), range(lo, hi)) =
                    xt::view(x, all(), all(), all(), range(lo - d, hi - d), range(lo - d, hi - d));
                if (mirror) v = xt::eval(xt::flip(v, 4));
                mean += net.forward(v, ctx);
            }
        mean /= 6.0f;
        loss6 +=
            nn::cross_entropy(mean, std::span<const int>(b.labels.data(), b.labels.size())).value *
            double(b.size());
        const auto p = train::predictions(mean);
        for (std::size_t i = 0; i < b.size(); ++i) correct6 += p[i] == b.labels[i];
    }
    CHECK(six.correct == correct6);
    CHECK(six.loss == doctest::Approx(loss6 / 40).epsilon(1e-5));
    CHECK(std::abs(six.loss - both.loss) > 1e-3); // the shifts change the outputs
}

TEST_CASE("export: numpy loads every .npy listed in the manifest with the right shape and values") {
    const std::string py = python_with_numpy();
    if (py.empty()) {
        MESSAGE("SKIPPED: no python3 with numpy (Debian python3-numpy) found");
        return;
    }
    auto net = make_net();
    net.initialize(3);
    const auto dir = test::scratch_dir("train_export");
    const auto m = train::export_weights(net, (dir / "w").string(), {{"T", 2}});
    const std::string script = (dir / "load.py").string();
    {
        std::ofstream s(script);
        s << "import json, sys, numpy as np\n"
             "d = sys.argv[1]\n"
             "m = json.load(open(d + '/manifest.json'))\n"
             "for e in m['arrays']:\n"
             "    a = np.load(d + '/' + e['file'])\n"
             "    assert a.dtype == np.float32 and list(a.shape) == e['shape'], e['name']\n"
             "    f = a.ravel()\n"
             "    print(e['name'], a.ndim, repr(float(f.astype(np.float64).sum())), "
             "repr(float(f[min(7, f.size - 1)])))\n";
    }
    const std::string listing = (dir / "listing.txt").string();
    REQUIRE(std::system(
                (py + " " + script + " " + (dir / "w").string() + " > " + listing).c_str()) == 0);
    std::vector<std::pair<std::string, std::vector<float>>> expect;
    net.visit_parameters([&](const std::string& n, nn::parameter& p) {
        expect.emplace_back(n, std::vector<float>(p.value.begin(), p.value.end()));
    });
    net.visit_buffers([&](const std::string& n, nn::buffer& b) {
        expect.emplace_back(n, std::vector<float>(b.value.begin(), b.value.end()));
    });
    const auto lines = read_lines(listing);
    REQUIRE(lines.size() == expect.size());
    CHECK(m["arrays"].size() == expect.size());
    for (std::size_t i = 0; i < lines.size(); ++i) {
        std::istringstream is(lines[i]);
        std::string name;
        int ndim = 0;
        double sum = 0, at = 0;
        is >> name >> ndim >> sum >> at;
        CHECK(name == expect[i].first);
        const auto& v = expect[i].second;
        double s = 0;
        for (float x : v) s += double(x);
        CHECK(sum == doctest::Approx(s).epsilon(1e-12));
        CHECK(float(at) == v[std::min<std::size_t>(7, v.size() - 1)]);
    }
}

/// The shared JPEG copy of CIFAR-10 unpacked into the build tree (once); empty where the
/// shared data is absent (test::shared_data has said so).
std::filesystem::path cifar10_jpeg() {
    const auto tgz = test::shared_data("cifar10-jpeg.tar.gz");
    if (tgz.empty()) return {};
    const auto root = std::filesystem::path(SPINFIRE_TEST_WORK_DIR) / "train_cifar10";
    if (!std::filesystem::is_directory(root / "cifar10-jpeg" / "test")) {
        std::filesystem::create_directories(root);
        const std::string cmd = "tar -xzf '" + tgz.string() + "' -C '" + root.string() + "'";
        REQUIRE(std::system(cmd.c_str()) == 0);
    }
    return root / "cifar10-jpeg";
}

TEST_CASE("learning: a few epochs on 2000 real CIFAR-10 images reach well above chance") {
    const auto jpeg = cifar10_jpeg();
    if (jpeg.empty()) return;
    const auto train_set = data::load_cifar10(jpeg, data::split::train, {200, {}});
    const auto test_set = data::load_cifar10(jpeg, data::split::test, {50, {}});
    REQUIRE(train_set.size() == 2000);
    REQUIRE(test_set.size() == 500);
    const auto norm = data::cifar10_normalization();
    const data::image_source tr(train_set, norm, data::augment_options{}), te(test_set, norm);
    auto o = small_options(test::scratch_dir("train_learn"));
    o.epochs = 4;
    o.batch = 32;
    o.lr = 0.05;
    o.eval_every = 0;
    auto net = make_net();
    const auto r = train::trainer<net_type, data::image_source>(
                       net, tr, te, o,
                       {"cifar10_fast<4>", {{"name", "CIFAR-10 subset"}}, train_set.class_names})
                       .run();
    MESSAGE("test accuracy after 4 epochs on 2000 images: " << r.test.accuracy());
    CHECK(r.test.accuracy() > 0.25); // chance is 0.10
    CHECK(r.test.positive_rate > 0);
    CHECK(r.test.negative_rate > 0);
    CHECK(r.test.network.sops > 0);
    const auto m = io::read_json_file(o.out + "/metrics.json");
    CHECK(m["test_accuracy"].get<double>() == r.test.accuracy());
}

TEST_CASE("models: every committed model file reproduces its recorded test accuracy") {
#ifndef NDEBUG // the debug-asan preset: the release tests check the same files
    MESSAGE("SKIPPED: debug build (10,000 test images through unoptimised code take minutes)");
    return;
#endif
    const auto jpeg = cifar10_jpeg();
    if (jpeg.empty()) return;
    fitted_neuron_from_source_tree();
    const auto test_set = data::load_cifar10(jpeg, data::split::test, {0, {}});
    REQUIRE(test_set.size() == 10000);
    const data::image_source te(test_set, data::cifar10_normalization());
    std::size_t files = 0, checked = 0;
    const auto models = std::filesystem::path(SPINFIRE_SOURCE_DIR) / "models";
    for (const auto& f : std::filesystem::directory_iterator(models)) {
        if (f.path().extension() != ".bin") continue;
        ++files;
        const std::string file = f.path().string();
        const auto meta = train::read_model_metadata(file);
        REQUIRE_MESSAGE(meta, file << " is not a model file");
        const auto network = (*meta)["network"].get<std::string>();
        auto o = small_options(test::scratch_dir("model_" + f.path().stem().string()));
        o.threads = 2;
        o.eval_batch = train::cifar10_recipe().eval_batch; // the programs' batches
        const train::run_description d{network, {{"name", "CIFAR-10"}}, test_set.class_names};
        auto check = [&](auto net) {
            const auto e = train::evaluate_checkpoint(net, te, o, d, file);
            const io::json& r = e.conditions["recorded"];
            MESSAGE(file << ": " << train::recorded_note(e));
            CHECK(r["same_conditions"] == true);
            // bit for bit where built for the recording's instruction set; elsewhere oneDNN's
            // kernels sum in another order and a few of the 10,000 spiking decisions may flip
            if (r["isa"] == train::build_isa())
                CHECK(e.accuracy() == r["test_accuracy"].get<double>());
            else
                CHECK(std::abs(e.accuracy() - r["test_accuracy"].get<double>()) <= 0.003);
            ++checked;
        };
        if (network == "cifar10_fast<64>")
            check(train::cifar10_fast<train::neuron_model, 64>());
        else
            FAIL(file << " holds " << network << ", which this test does not build: add it here");
    }
    CHECK(checked == files);
}

TEST_CASE("whitening: the first conv's filter pairs decorrelate the patches to unit variance") {
    // Smooth images with correlated colour planes and a little noise: patch directions with
    // variances spread over orders of magnitude, as in real images.
    data::image_set set;
    set.class_names.assign(data::cifar10_classes.begin(), data::cifar10_classes.end());
    const std::size_t n = 30;
    set.pixels = xt::xtensor<std::uint8_t, 4>::from_shape({n, 3, 32, 32});
    rng::stream r(3, 0);
    for (std::size_t i = 0; i < n; ++i) {
        set.labels.push_back(int(i % 10));
        const double fy = r.uniform(0.05, 0.6), fx = r.uniform(0.05, 0.6), ph = r.uniform(0, 6);
        for (std::size_t c = 0; c < 3; ++c)
            for (std::size_t y = 0; y < 32; ++y)
                for (std::size_t x = 0; x < 32; ++x) {
                    const double v =
                        128 +
                        (60 - 15.0 * double(c)) *
                            std::sin(fy * double(y) + fx * double(x) + ph + 0.3 * double(c)) +
                        r.uniform(-8, 8);
                    set.image(i)[(c * 32 + y) * 32 + x] = std::uint8_t(std::lround(v));
                }
    }
    const data::image_source src(set, data::cifar10_normalization());
    auto net = train::vgg_s<train::neuron_model>(); // conv3x3(3->64): 27 pairs, 10 filters left
    net.initialize(9);
    auto& w = std::get<0>(net.body().layers()).weight();
    const std::vector<float> before(w.value.begin(), w.value.end());
    CHECK(train::whiten_first_conv(net.body(), src, n, /*eps*/ 0.0) == 27);
    const std::size_t d = 27, pairs = 27;
    const float* wp = w.value.data();
    for (std::size_t k = 0; k < pairs; ++k)
        for (std::size_t j = 0; j < d; ++j) CHECK(wp[(2 * k + 1) * d + j] == -wp[2 * k * d + j]);
    for (std::size_t i = 2 * pairs * d; i < w.size(); ++i) CHECK(wp[i] == before[i]);

    // Responses of the even filters on every valid patch, gathered here independently of
    // patch_covariance: their covariance must be the identity (eps = 0).
    std::vector<float> x(3 * 32 * 32);
    std::vector<double> sum(pairs, 0.0), outer(pairs * pairs, 0.0), resp(pairs);
    double count = 0;
    for (std::size_t i = 0; i < n; ++i) {
        src.write(i, 0, 1, x.data(), 0, 0, false);
        for (std::size_t y = 0; y + 3 <= 32; ++y)
            for (std::size_t xx = 0; xx + 3 <= 32; ++xx) {
                for (std::size_t k = 0; k < pairs; ++k) {
                    double acc = 0;
                    for (std::size_t c = 0; c < 3; ++c)
                        for (std::size_t ky = 0; ky < 3; ++ky)
                            for (std::size_t kx = 0; kx < 3; ++kx)
                                acc += double(wp[2 * k * d + (c * 3 + ky) * 3 + kx]) *
                                       x[(c * 32 + y + ky) * 32 + xx + kx];
                    resp[k] = acc;
                    sum[k] += acc;
                }
                for (std::size_t a = 0; a < pairs; ++a)
                    for (std::size_t b = 0; b < pairs; ++b)
                        outer[a * pairs + b] += resp[a] * resp[b];
                count += 1;
            }
    }
    double worst = 0;
    for (std::size_t a = 0; a < pairs; ++a)
        for (std::size_t b = 0; b < pairs; ++b) {
            const double cov = outer[a * pairs + b] / count - sum[a] * sum[b] / (count * count);
            worst = std::max(worst, std::abs(cov - (a == b ? 1.0 : 0.0)));
        }
    CHECK(worst < 2e-3); // float weights
    // the largest-variance direction comes first: its unscaled filter is the longest
    double n0 = 0, nlast = 0;
    for (std::size_t j = 0; j < d; ++j)
        n0 += wp[j] * wp[j], nlast += std::pow(wp[2 * (pairs - 1) * d + j], 2);
    CHECK(n0 < nlast);

    auto no_conv =
        nn::sequential<nn::shape<3, 32, 32>>(nn::flatten{}, nn::linear<3 * 32 * 32, 10>{});
    CHECK_THROWS_AS(train::whiten_first_conv(no_conv.body(), src, n), parameter_error);
}

namespace {

/// The committed fitted neuron (fixed input scale) on a small random network, and an
/// evaluation hooked to a device loop built from o. A sanitizer build simulates 4 samples in
/// 2 batches instead of 12 in 3: what the exact cases check holds at any size.
struct device_loop_case {
    net_type net = make_net();
    train::neuron_choice c = train::choose_neuron(
        std::string(SPINFIRE_SOURCE_DIR) + "/docs/results/orthogonal_mtj_fitted.json", true);
    data::image_set set = synthetic_set(test::sanitizer_build ? 4 : 12, 5);
    data::image_source src{set, data::cifar10_normalization()};

    device_loop_case() {
        net.initialize(21);
        train::set_neuron(net, c.params);
    }
    /// The T-averaged outputs of every sample, with the device loop of o (none if null).
    std::vector<float> outputs(const train::run_options* o, io::json* report = nullptr) {
        std::optional<train::device_loop> loop;
        train::eval_settings s;
        // several batches: the noise streams must follow the global sample index
        s.batch = test::sanitizer_build ? 3 : 5;
        if (o) {
            loop.emplace(net, c, *o);
            s.before_forward = [&](const nn::tensor& in, const nn::context& ctx) {
                loop->reference_pass(net, in, ctx);
            };
        }
        std::vector<float> out;
        nn::context ctx;
        ctx.training = false;
        ctx.steps = s.steps;
        nn::tensor x;
        data::loader<data::image_source> ld(src, s.batch, false, false, 0);
        for (auto& b : ld.epoch(0)) {
            train::to_input(b.x, x);
            if (s.before_forward) s.before_forward(x, ctx);
            const nn::tensor& y = net.forward(x, ctx);
            out.insert(out.end(), y.begin(), y.end());
        }
        if (loop && report) *report = loop->report(set.size());
        return out;
    }
};

train::run_options llg_options() {
    auto o = train::base_options();
    o.out = "unused";
    o.device.neuron_sim = "llg";
    o.quiet = true;
    return o;
}

} // namespace

TEST_CASE(
    "device loop: one seed is one chip at 300 K, whatever the thread count, detach restores") {
    device_loop_case k;
    const auto model = k.outputs(nullptr);
    auto o = llg_options();
    o.device.temperature = 300, o.device.tolerance_nm = 1, o.device.ms_sigma = 0.02,
    o.device_seed = 4;
    std::vector<float> a, b, other;
    io::json report;
    {
        threads t(1);
        a = k.outputs(&o, &report);
    }
    {
        threads t(2);
        b = k.outputs(&o);
    }
    CHECK(a == b);
    o.device_seed = 5;
    other = k.outputs(&o);
    CHECK(other != a);
    CHECK(k.outputs(nullptr) == model); // the loop's destructor gave the layers back
    // The report: every layer simulated, agreement fractions in [0, 1], energy spent.
    const auto& layers = report["layers"];
    REQUIRE(layers.size() == 4);
    for (const auto& l : layers) {
        CHECK(l["agreement_same_input"].get<double>() >= 0);
        CHECK(l["agreement_same_input"].get<double>() <= 1);
        CHECK(l["agreement_with_model_network"].get<double>() <= 1);
    }
    CHECK(report["integrator"] == "heun");
    CHECK(report["energy_pj_per_sample"]["drive"].get<double>() > 0);
    CHECK(report["device_steps"].get<std::uint64_t>() ==
          std::uint64_t(k.set.size() * 2 * (4 * 16 * 16 + 8 * 8 * 8 + 16 * 4 * 4 + 32 * 2 * 2) *
                        2140));
}

TEST_CASE("device loop: nominal devices at 0 K agree with the fitted model they were fitted to") {
    if (test::skip_statistics_under_sanitizers(
            "device loop: one seed is one chip at 300 K, whatever the thread count, detach "
            "restores"))
        return;
    // The fitted neuron is the device's 0 K description (file: 99.25 % spike agreement on
    // N(0, 1) input): on the same layer inputs most spikes must agree, and a network of
    // devices must agree with the network of models better than a chip at 300 K does.
    device_loop_case k;
    auto o = llg_options();
    io::json cold, hot;
    k.outputs(&o, &cold);
    o.device.temperature = 300;
    k.outputs(&o, &hot);
    double cold_net = 0, hot_net = 0;
    for (std::size_t l = 0; l < 4; ++l) {
        CHECK(cold["layers"][l]["agreement_same_input"].get<double>() > 0.9);
        cold_net += cold["layers"][l]["agreement_with_model_network"].get<double>();
        hot_net += hot["layers"][l]["agreement_with_model_network"].get<double>();
    }
    MESSAGE("agreement with the model network, mean over layers: 0 K " << cold_net / 4 << ", 300 K "
                                                                       << hot_net / 4);
    CHECK(cold_net > hot_net);
    CHECK(cold["integrator"] == "rk4");
}

TEST_CASE("device loop: bad settings are clear errors before any simulation") {
    auto o = llg_options();
    const auto dir = test::scratch_dir("device_loop_errors");
    auto message = [&](const train::run_options& opt, bool evaluating = true) -> std::string {
        try {
            train::check_device_loop(opt, evaluating);
        } catch (const error& e) {
            return e.what();
        }
        return "accepted";
    };
    CHECK(message(o) == "accepted");
    {
        auto t = o;
        t.device.temperature = -1;
        CHECK(message(t).find("temperature") != std::string::npos);
        t = o;
        t.device.tolerance_nm = 10; // the preset's width is 10 nm
        CHECK(message(t).find("dimension_tol_nm") != std::string::npos);
        t = o;
        io::json pj = fit::to_json(fit::protocol{});
        pj.erase("readout");
        std::ofstream(dir / "no_readout.json") << pj.dump();
        t.device.protocol_file = (dir / "no_readout.json").string();
        const auto m = message(t);
        CHECK(m.find("readout") != std::string::npos);
        CHECK(m.find("no_readout.json") != std::string::npos);
        t = o;
        std::ofstream(dir / "broken.json") << "{\"width\": 1e-8,";
        t.device.device_file = (dir / "broken.json").string();
        CHECK(message(t).find("broken.json") != std::string::npos);
        t = o;
        CHECK(message(t, false).find("--evaluate") != std::string::npos); // no training on devices
        t = train::base_options();
        t.device.temperature = 300; // a device option without --neuron-sim llg is not ignored
        CHECK(message(t).find("--neuron-sim llg") != std::string::npos);
        t = o;
        t.device_spread = 0.1;
        CHECK(message(t).find("--device-spread") != std::string::npos);
    }
}

TEST_CASE("noise-aware training: set_device then clear_device gives the nominal network back") {
    device_loop_case k;
    const auto nominal = k.outputs(nullptr);
    train::set_device(k.net, k.c, {0.2, 0.3, 9});
    CHECK(k.outputs(nullptr) != nominal);
    train::clear_device(k.net);
    CHECK(k.outputs(nullptr) == nominal);
}

namespace {
/// The synthetic training set, but reading sample read number `at` raises SIGINT in the
/// reading thread (the loader's background thread): a Ctrl-C that lands mid-step, delivered
/// through the trainer's own handler.
struct interrupting_source {
    static constexpr std::size_t batch_rank = data::image_source::batch_rank;
    const data::image_source* inner;
    std::size_t at;
    mutable std::atomic<std::size_t> reads{0};

    std::size_t size() const { return inner->size(); }
    std::int32_t label(std::size_t i) const { return inner->label(i); }
    auto batch_shape(std::size_t n) const { return inner->batch_shape(n); }
    void write(std::size_t i, std::size_t slot, std::size_t n, float* x, std::uint64_t seed,
               std::uint64_t epoch, bool augment) const {
        if (reads++ == at) std::raise(SIGINT);
        inner->write(i, slot, n, x, seed, epoch, augment);
    }
};

std::string file_text(const std::filesystem::path& f) {
    std::ifstream is(f, std::ios::binary);
    return {std::istreambuf_iterator<char>(is), std::istreambuf_iterator<char>()};
}

extern "C" void kill_self(int) { ::kill(::getpid(), SIGKILL); }
} // namespace

TEST_CASE("trainer: SIGINT mid-epoch stops with a checkpoint, keeps the epochs done, restores the "
          "handler, --resume gives the uninterrupted run's weights") {
    const synthetic_runs runs;
    const auto dir = test::scratch_dir("train_sigint");
    auto net_a = make_net();
    runs.run(net_a, small_options(dir / "a")); // 2 epochs of 6 steps

    // Ctrl-C while the 9th batch is read (32 samples a batch): step 8 or 9, mid-epoch 2
    const interrupting_source src{&runs.tr, 8 * 32 + 5}, test_src{&runs.te, ~std::size_t(0)};
    auto o = small_options(dir / "b");
    static std::atomic<int> outside_calls{0};
    const auto before = std::signal(
        SIGINT, +[](int) { ++outside_calls; });
    auto net_b = make_net();
    const auto rb =
        train::trainer<net_type, interrupting_source>(net_b, src, test_src, o, runs.d).run();
    CHECK(outside_calls.load() == 0); // the trainer's handler took the Ctrl-C
    std::raise(SIGINT);               // the handler from before the run is back in place
    CHECK(outside_calls.load() == 1);
    std::signal(SIGINT, before);
    CHECK(rb.stop_reason == "interrupted");
    CHECK(rb.steps > 6);
    CHECK(rb.steps < 12);
    const auto ck = nn::read_checkpoint((dir / "b" / "checkpoint.bin").string());
    CHECK(ck.user_step == rb.steps);
    // epoch 1's line and the partial epoch's are in metrics.jsonl
    const auto lines = read_lines(dir / "b" / "metrics.jsonl");
    CHECK(lines.size() == 2);

    o.resume = true;
    auto net_c = make_net();
    const auto rc = runs.run(net_c, o);
    CHECK(rc.steps == 12);
    CHECK(snapshot(net_c) == snapshot(net_a));
}

TEST_CASE("trainer: SIGKILL in the middle of a checkpoint write leaves the earlier checkpoint "
          "and metrics intact, and --resume gives the uninterrupted run's weights") {
    const synthetic_runs runs;
    const auto dir = test::scratch_dir("train_sigkill");
    auto net_a = make_net();
    runs.run(net_a, small_options(dir / "a"));

    auto o = runs.stopped(dir / "b", 6);
    const auto bin = dir / "b" / "checkpoint.bin", metrics = dir / "b" / "metrics.jsonl";
    const std::string bin_before = file_text(bin), metrics_before = file_text(metrics);
    REQUIRE(bin_before.size() > 1000);
    o.resume = true;
    o.max_steps = 9; // the child's next checkpoint is at step 9
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        // The kill lands exactly mid-write: once the temporary checkpoint grows past half the
        // earlier one, RLIMIT_FSIZE raises SIGXFSZ and its handler sends SIGKILL, so nothing
        // of the process runs after that byte. The test runs single-threaded (o.threads = 1),
        // which is what makes training in a forked child safe.
        std::signal(SIGXFSZ, kill_self);
        ::alarm(600); // a hang ends the child (SIGALRM) instead of the test
        const rlim_t half = rlim_t(bin_before.size() / 2);
        const rlimit lim{half, half};
        if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) ::_exit(3);
        try {
            auto n = make_net();
            runs.run(n, o);
        } catch (...) {
            ::_exit(2);
        }
        ::_exit(1); // the checkpoint was written in full: the limit did not bite
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFSIGNALED(status)); // else exit code 1: no kill, 2: exception, 3: no rlimit
    CHECK(WTERMSIG(status) == SIGKILL);
    const auto tmp = dir / "b" / ("checkpoint.bin.tmp." + std::to_string(pid));
    REQUIRE(std::filesystem::exists(tmp)); // the kill was mid-write
    CHECK(std::filesystem::file_size(tmp) == bin_before.size() / 2);
    CHECK(file_text(bin) == bin_before);
    CHECK(file_text(metrics) == metrics_before);

    o.max_steps = 0;
    auto net_c = make_net();
    const auto rc = runs.run(net_c, o);
    CHECK(rc.steps == 12);
    CHECK(snapshot(net_c) == snapshot(net_a));
    CHECK_FALSE(std::filesystem::exists(tmp));
}
