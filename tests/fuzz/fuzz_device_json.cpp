// Device JSON (--device, device_x4.json): an accepted device is valid and its JSON round-trips.
#include "fuzz_support.hpp"
#include "spinfire/train/device_loop.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t n) {
    using namespace spinfire;
    return fuzz::run(data, n, "device.json", [&](const std::string& file) {
        const device::mtj d = train::load_device_file(file);
        device::validate(d);
        const io::json j = io::to_json(d);
        io::write_json_file(fuzz::scratch("copy.json"), j);
        SPINFIRE_FUZZ_CHECK(io::to_json(train::load_device_file(fuzz::scratch("copy.json"))) == j);
    });
}
