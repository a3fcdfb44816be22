// The engine's clocks: monotonic nanoseconds for every timer and pacer, and the offset that
// turns them into wall-clock microseconds for the timestamps UFTP puts on the wire.
#pragma once

#include <time.h>

#include <cstdint>

#include "dataplane/proto/time.hpp"

namespace volley::engine {

[[nodiscard]] inline proto::TimeNs mono_now() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<proto::TimeNs>(ts.tv_sec) * proto::kSec + ts.tv_nsec;
}

// Microseconds to add to mono_now()/1000 to get Unix time in microseconds.
[[nodiscard]] inline std::int64_t wall_offset_us() noexcept {
  timespec rt{};
  ::clock_gettime(CLOCK_REALTIME, &rt);
  const std::int64_t wall_us = static_cast<std::int64_t>(rt.tv_sec) * 1'000'000 + rt.tv_nsec / 1000;
  return wall_us - mono_now() / 1000;
}

// Sleeps until `t` (monotonic): a kernel sleep for long waits, a spin for the last few µs.
inline void sleep_until(proto::TimeNs t) noexcept {
  constexpr proto::TimeNs kSpin = 20 * proto::kUs;
  proto::TimeNs now = mono_now();
  if (t - now > kSpin) {
    const proto::TimeNs until = t - kSpin;
    timespec ts{static_cast<time_t>(until / proto::kSec), static_cast<long>(until % proto::kSec)};
    ::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
  }
  while (mono_now() < t) {
  }
}

}  // namespace volley::engine
