// One image of an image-folder dataset (JPEG / PNG through stb_image), as read_image_folder
// decodes it: 32x32 RGB, anything else refused with the file named.
#include <vector>

// stb's decoder itself is compiled into this target: stb_image_impl.cpp.
#include "fuzz_support.hpp"
#include "spinfire/data/image_folder.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t n) {
    using namespace spinfire;
    return fuzz::run(data, n, "image.jpg", [&](const std::string& file) {
        const data::image_folder_options o;
        std::vector<std::uint8_t> px(o.channels * o.height * o.width);
        data::detail::decode_image(file, o, px.data());
    });
}
