// Checkpoints (checkpoint.bin, SPFNNCK1/2): accepted contents are finite and write back to a
// file that reads as the same contents.
#include <cmath>

#include "fuzz_support.hpp"
#include "spinfire/nn/checkpoint.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t n) {
    using namespace spinfire;
    return fuzz::run(data, n, "checkpoint.bin", [&](const std::string& file) {
        const nn::checkpoint_contents ck = nn::read_checkpoint(file);
        for (const auto& [name, rec] : ck.records)
            for (float v : rec.second) SPINFIRE_FUZZ_CHECK(std::isfinite(v));
        nn::write_checkpoint(fuzz::scratch("copy.bin"), ck);
        const nn::checkpoint_contents back = nn::read_checkpoint(fuzz::scratch("copy.bin"));
        SPINFIRE_FUZZ_CHECK(
            back.user_step == ck.user_step && back.optimizer_steps == ck.optimizer_steps &&
            back.metadata == ck.metadata && back.records.size() == ck.records.size());
        for (const auto& [name, rec] : ck.records)
            SPINFIRE_FUZZ_CHECK(back.records.at(name).second == rec.second);
    });
}
