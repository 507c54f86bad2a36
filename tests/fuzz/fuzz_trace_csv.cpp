// Trace CSV (fit_signed_lif --trace): an accepted trace is valid and round-trips.
#include "fuzz_support.hpp"
#include "spinfire/fit/trace.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t n) {
    using namespace spinfire;
    return fuzz::run(data, n, "trace.csv", [&](const std::string& file) {
        const fit::trace tr = fit::read_trace_csv(file);
        fit::validate(tr);
        fit::write_trace_csv(fuzz::scratch("copy.csv"), tr);
        const fit::trace back = fit::read_trace_csv(fuzz::scratch("copy.csv"));
        SPINFIRE_FUZZ_CHECK(back.x == tr.x && back.h == tr.h && back.v == tr.v && back.s == tr.s &&
                            back.v0 == tr.v0);
    });
}
