// The DVS frame cache (frames_<split>.bin beside a CIFAR10-DVS folder), read for a key of
// 3 recordings of 2 x 2 x 4 x 4 frames. Accepted: finite, non-negative event counts and labels
// in range, and the cache writes back identically.
#include <cmath>

#include "fuzz_support.hpp"
#include "spinfire/data/dvs_dataset.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t n) {
    using namespace spinfire;
    return fuzz::run(data, n, "frames.bin", [&](const std::string& file) {
        data::frame_options fo;
        fo.steps = 2;
        fo.height = fo.width = 4;
        const std::string key = "fuzz key\n";
        data::frame_set set;
        if (!data::detail::read_frames_cache(file, key, 3, fo, set)) return;
        for (float v : set.frames) SPINFIRE_FUZZ_CHECK(std::isfinite(v) && v >= 0);
        data::detail::write_frames_cache(fuzz::scratch("copy.bin"), key, set);
        SPINFIRE_FUZZ_CHECK(fuzz::read_text(fuzz::scratch("copy.bin")) ==
                            std::string(data, data + n));
    });
}
