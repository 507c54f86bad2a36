// Drive-protocol JSON (--protocol): an accepted protocol round-trips through its JSON.
#include "fuzz_support.hpp"
#include "spinfire/train/device_loop.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t n) {
    using namespace spinfire;
    return fuzz::run(data, n, "protocol.json", [&](const std::string& file) {
        const fit::protocol p = train::load_protocol_file(file);
        const io::json j = fit::to_json(p);
        io::write_json_file(fuzz::scratch("copy.json"), j);
        SPINFIRE_FUZZ_CHECK(fit::to_json(train::load_protocol_file(fuzz::scratch("copy.json"))) ==
                            j);
    });
}
