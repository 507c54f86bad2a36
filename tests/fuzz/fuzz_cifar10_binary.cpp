// CIFAR-10 binary records (the official release and spinfire's decoded-image cache).
// Accepted bytes must write back identically.
#include "fuzz_support.hpp"
#include "spinfire/data/cifar10_binary.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t n) {
    using namespace spinfire;
    return fuzz::run(data, n, "data_batch.bin", [&](const std::string& file) {
        const data::image_set set = data::read_cifar10_binary({file});
        SPINFIRE_FUZZ_CHECK(set.size() * data::cifar10_record_bytes == n);
        const auto copy = fuzz::scratch("copy.bin");
        data::write_cifar10_binary(copy, set);
        SPINFIRE_FUZZ_CHECK(fuzz::read_text(copy) == std::string(data, data + n));
    });
}
