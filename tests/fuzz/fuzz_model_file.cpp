// Model files as `train_cifar10 --evaluate` loads them: a checkpoint applied to a network
// (cifar10_fast at width 4, small enough to fuzz), its metadata read as a model file's.
// Accepted: the network holds exactly the file's values; metadata is a model's or not one.
#include "fuzz_support.hpp"
#include "spinfire/nn/checkpoint.hpp"
#include "spinfire/train/model_file.hpp"
#include "spinfire/train/networks.hpp"
#include "spinfire/train/neuron_choice.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t n) {
    using namespace spinfire;
    static auto net = train::cifar10_fast<train::neuron_model, 4>();
    return fuzz::run(data, n, "model.bin", [&](const std::string& file) {
        nn::load_checkpoint(file, net);
        const nn::checkpoint_contents ck = nn::read_checkpoint(file);
        if (const auto m = train::model_metadata(ck))
            SPINFIRE_FUZZ_CHECK(m->is_object() && (*m)["format"] == train::model_format);
        net.visit_parameters([&](const std::string& name, nn::parameter& p) {
            const auto& rec = ck.records.at("param." + name).second;
            SPINFIRE_FUZZ_CHECK(rec.size() == p.size() &&
                                std::equal(rec.begin(), rec.end(), p.value.data()));
        });
    });
}
