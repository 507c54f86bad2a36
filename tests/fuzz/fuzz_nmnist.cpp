// N-MNIST recordings (5-byte events). Accepted bytes must format back identically.
#include "fuzz_support.hpp"
#include "spinfire/data/nmnist.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t n) {
    using namespace spinfire;
    return fuzz::run(data, n, "sample.bin", [&](const std::string& file) {
        const data::event_stream s = data::read_nmnist(file);
        const auto bytes = data::format_nmnist(s);
        SPINFIRE_FUZZ_CHECK(bytes.size() == n && std::equal(bytes.begin(), bytes.end(), data));
    });
}
