// Time as the sans-I/O code sees it: a monotonic nanosecond count passed in by the caller.
// Nothing in wire/, proto/ or control/session reads a clock.
#pragma once

#include <cstdint>
#include <limits>

namespace volley::proto {

using TimeNs = std::int64_t;      // a point in time, ns since an arbitrary epoch
using DurationNs = std::int64_t;  // a span of time, ns
inline constexpr TimeNs kNever = std::numeric_limits<TimeNs>::max();
inline constexpr DurationNs kUs = 1'000;
inline constexpr DurationNs kMs = 1'000'000;
inline constexpr DurationNs kSec = 1'000'000'000;

}  // namespace volley::proto
