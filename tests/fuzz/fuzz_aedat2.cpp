// AEDAT 2.0 recordings (CIFAR10-DVS). Accepted events must lie on the DVS128 sensor in time
// order and survive a round trip through format_aedat2.
#include "fuzz_support.hpp"
#include "spinfire/data/aedat.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t n) {
    using namespace spinfire;
    return fuzz::run(data, n, "recording.aedat", [&](const std::string& file) {
        for (bool drop : {false, true}) {
            data::aedat_options o;
            o.drop_special_events = drop;
            const data::event_stream s = data::read_aedat2(file, o);
            std::int64_t last = 0;
            for (const auto& e : s.events) {
                SPINFIRE_FUZZ_CHECK(e.x < 128 && e.y < 128 && e.p <= 1 && e.t >= last);
                last = e.t;
            }
            const auto bytes = data::format_aedat2(s, o);
            const data::event_stream back = data::parse_aedat2(bytes, "round trip", o);
            SPINFIRE_FUZZ_CHECK(back.events.size() == s.events.size());
            for (std::size_t i = 0; i < s.events.size(); ++i)
                SPINFIRE_FUZZ_CHECK(
                    back.events[i].t == s.events[i].t && back.events[i].x == s.events[i].x &&
                    back.events[i].y == s.events[i].y && back.events[i].p == s.events[i].p);
        }
    });
}
