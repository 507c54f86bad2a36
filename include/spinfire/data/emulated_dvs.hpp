#pragma once
// An "emulated CIFAR10-DVS": CIFAR-10 images turned into AEDAT 2.0 recordings by the event
// camera emulator, in the CIFAR10-DVS layout (<out>/<class>/cifar10_<class>_<i>.aedat), so the
// whole DVS pipeline runs where the real recordings are absent. Every file's header and a
// README.txt at the root say the data is emulated.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include <oneapi/tbb/parallel_for.h>

#include "spinfire/core/error.hpp"
#include "spinfire/data/aedat.hpp"
#include "spinfire/data/cifar10_binary.hpp"
#include "spinfire/data/emulator.hpp"
#include "spinfire/data/image_set.hpp"
#include "spinfire/io/atomic_file.hpp"

namespace spinfire::data {

struct emulated_dvs_summary {
    std::size_t files = 0;
    std::size_t events = 0;
};

/// Emulates the first per_class images of each CIFAR-10 class of `images` (in set order)
/// into out. progress(done, total, events so far) is called after each file, serialized.
template <class Progress>
emulated_dvs_summary make_emulated_cifar10_dvs(const image_set& images,
                                               const std::filesystem::path& out,
                                               std::size_t per_class, const emulator_params& p,
                                               std::uint64_t seed, Progress&& progress) {
    p.validate();
    if (per_class == 0) throw parameter_error("per_class", "must be >= 1");
    if (images.class_names.size() != cifar10_classes.size())
        throw parameter_error("images", "must be a CIFAR-10 set (10 classes)");
    // Pick the sources first: (image position, class, index within class).
    struct job {
        std::size_t image, label, index;
    };
    std::vector<job> jobs;
    std::vector<std::size_t> taken(cifar10_classes.size(), 0);
    for (std::size_t i = 0; i < images.size(); ++i) {
        const auto c = std::size_t(images.labels[i]);
        if (taken[c] < per_class) jobs.push_back({i, c, taken[c]++});
    }
    for (std::size_t c = 0; c < taken.size(); ++c)
        if (taken[c] < per_class)
            throw parameter_error("per_class", "class '" + cifar10_classes[c] + "' has only " +
                                                   std::to_string(taken[c]) + " images, " +
                                                   std::to_string(per_class) + " requested");
    for (const auto& cls : cifar10_classes) std::filesystem::create_directories(out / cls);
    io::write_atomically((out / "README.txt").string(), [&](std::ostream& os) {
        os << "EMULATED CIFAR10-DVS (not DVS recordings).\n"
           << "Made by spinfire's event-camera emulator from CIFAR-10 images: " << per_class
           << " per class, seed " << seed << ".\n"
           << "sensor " << p.sensor << " duration_us " << p.duration_us << " step_us " << p.step_us
           << " loops " << p.loops << " amplitude_px " << p.amplitude_px
           << " contrast_threshold " << p.contrast_threshold << " threshold_sigma "
           << p.threshold_sigma << " refractory_us " << p.refractory_us << " noise_rate_hz "
           << p.noise_rate_hz << " background " << p.background << " log_eps " << p.log_eps
           << "\nResults on this data must be labelled as emulated.\n";
    });
    std::mutex m;
    emulated_dvs_summary sum;
    oneapi::tbb::parallel_for(std::size_t(0), jobs.size(), [&](std::size_t k) {
        const job& j = jobs[k];
        const event_stream s = emulate_dvs(images.image(j.image), images.channels(),
                                           images.height(), images.width(), p, seed, j.image);
        const std::string& cls = cifar10_classes[j.label];
        write_aedat2(out / cls / ("cifar10_" + cls + std::string("_") + std::to_string(j.index) + ".aedat"), s,
                     {},
                     {"spinfire EMULATED CIFAR10-DVS (not a DVS recording)",
                      std::string("source image ") + std::to_string(j.image) + " class " + cls + " seed " +
                          std::to_string(seed)});
        std::lock_guard<std::mutex> lock(m);
        ++sum.files;
        sum.events += s.size();
        progress(sum.files, jobs.size(), sum.events);
    });
    return sum;
}

} // namespace spinfire::data
