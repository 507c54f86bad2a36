#pragma once
// Address-event streams: (t, x, y, polarity) from event cameras, with the sensor size.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace spinfire::data {

/// One event: timestamp in microseconds, pixel (x right, y down), polarity 1 = ON, 0 = OFF.
struct event {
    std::int64_t t = 0;
    std::uint16_t x = 0, y = 0;
    std::uint8_t p = 0;
    friend bool operator==(const event&, const event&) = default;
};

/// Events in non-decreasing time order on a width x height sensor.
struct event_stream {
    std::vector<event> events;
    std::size_t width = 0, height = 0;
    std::size_t size() const { return events.size(); }
};

} // namespace spinfire::data
