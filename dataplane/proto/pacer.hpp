// Pacer: a token bucket for a fixed send rate, in integer nanoseconds.
//
// Credit is kept in nanobytes (1e-9 byte): at R bytes/s the bucket gains exactly R nanobytes per
// nanosecond, and a packet of B bytes costs B * 1e9. All arithmetic is integer, so there is no
// drift however long it runs: after any sequence of sends the total time is exact to within the
// one-nanosecond rounding of the current wait.
//
// - The bucket holds burst_bytes of credit, plus at most R - 1 nanobytes (less than what one
//   nanosecond earns, e.g. 0.0125 byte at 100 Mbit/s). That slack is the clock's resolution:
//   a sender that waits for next_send_time() acts on the first whole nanosecond after its credit
//   suffices, and the fraction earned in that last nanosecond must not be cut off, or a sender
//   whose burst is one packet would lose up to 1 ns per packet. So after an idle spell at most
//   burst_bytes (plus that fraction) go out back to back. A fresh pacer starts with burst_bytes.
// - A packet may go when the credit covers it, or when the bucket is full (so a packet larger
//   than the burst is never stuck); the credit may then go negative, which delays the next one.
// - rate 0 = unpaced: every packet may go now.
//
// Sans-I/O: the caller passes `now`; nothing here reads a clock. Thread context: one owner (the
// worker that sends); not thread-safe. Everything is noexcept and allocation-free.
#pragma once

#include <algorithm>
#include <cstdint>

#include "dataplane/proto/time.hpp"

namespace volley::proto {

class Pacer {
 public:
  // Bursts and rates above these are clamped (keeps every credit sum inside int64).
  static constexpr std::uint64_t kMaxBurstBytes = std::uint64_t{1} << 32;
  static constexpr std::uint64_t kMaxRateBytesPerS = std::uint64_t{1} << 40;  // ~8.8 Tbit/s

  Pacer() = default;
  Pacer(std::uint64_t rate_bytes_per_s, std::uint64_t burst_bytes) noexcept
      : rate_bytes_per_s_(std::min(rate_bytes_per_s, kMaxRateBytesPerS)),
        cap_nbytes_(to_nbytes(std::min(burst_bytes, kMaxBurstBytes))),
        credit_nbytes_(cap_nbytes_) {}

  [[nodiscard]] std::uint64_t rate_bytes_per_s() const noexcept { return rate_bytes_per_s_; }
  [[nodiscard]] std::uint64_t burst_bytes() const noexcept {
    return static_cast<std::uint64_t>(cap_nbytes_ / kNbytesPerByte);
  }
  [[nodiscard]] bool unpaced() const noexcept { return rate_bytes_per_s_ == 0; }

  // Earliest time a packet of `bytes` may be sent; a result <= now means "now". The result
  // depends only on the state left by on_sent()/set_rate() (so it also serves as a deadline),
  // except that an unpaced or never-used pacer returns `now`.
  [[nodiscard]] TimeNs next_send_time(std::uint32_t bytes, TimeNs now) const noexcept {
    if (rate_bytes_per_s_ == 0 || !primed_) return now;
    const std::int64_t need = std::min(to_nbytes(bytes), cap_nbytes_);
    if (credit_nbytes_ >= need) return last_ns_;
    const std::uint64_t wait_ns =
        ceil_div(static_cast<std::uint64_t>(need - credit_nbytes_), rate_bytes_per_s_);
    // Unsigned sums: last_ns_ may be negative, and the wait may exceed INT64_MAX.
    const auto last = static_cast<std::uint64_t>(last_ns_);
    if (wait_ns >= static_cast<std::uint64_t>(kNever) - last) return kNever;
    return static_cast<TimeNs>(last + wait_ns);
  }

  // Account for a packet of `bytes` sent at `now` (whether or not it was due).
  void on_sent(std::uint32_t bytes, TimeNs now) noexcept {
    const std::int64_t credit = credit_at(now);
    advance_to(now);
    if (rate_bytes_per_s_ == 0) {
      credit_nbytes_ = cap_nbytes_;  // unpaced: nothing owed
      return;
    }
    credit_nbytes_ = std::max(credit - to_nbytes(bytes), kMinCreditNbytes);
  }

  // Change the rate from `now` on; credit earned so far at the old rate is kept.
  void set_rate(std::uint64_t rate_bytes_per_s, TimeNs now) noexcept {
    credit_nbytes_ = rate_bytes_per_s_ == 0 ? cap_nbytes_ : credit_at(now);
    advance_to(now);
    rate_bytes_per_s_ = std::min(rate_bytes_per_s, kMaxRateBytesPerS);
    credit_nbytes_ = std::min(credit_nbytes_, limit_nbytes());
  }

  // Change the burst (bucket size) from `now` on; credit above the new size is dropped.
  void set_burst(std::uint64_t burst_bytes, TimeNs now) noexcept {
    credit_nbytes_ = rate_bytes_per_s_ == 0 ? cap_nbytes_ : credit_at(now);
    advance_to(now);
    cap_nbytes_ = to_nbytes(std::min(burst_bytes, kMaxBurstBytes));
    credit_nbytes_ = std::min(credit_nbytes_, cap_nbytes_);
  }

 private:
  static constexpr std::int64_t kNbytesPerByte = 1'000'000'000;
  // Debt floor: far beyond anything a caller that follows next_send_time() can reach, and with
  // cap <= 2^32 * 1e9 and rate <= 2^40 the sum limit - credit stays below 2^63.
  static constexpr std::int64_t kMinCreditNbytes = -(std::int64_t{1} << 62);

  [[nodiscard]] static constexpr std::int64_t to_nbytes(std::uint64_t bytes) noexcept {
    return static_cast<std::int64_t>(bytes) * kNbytesPerByte;  // bytes <= 2^32: fits
  }
  [[nodiscard]] static constexpr std::uint64_t ceil_div(std::uint64_t a, std::uint64_t b) noexcept {
    return a / b + (a % b != 0 ? 1 : 0);
  }

  // Most credit the bucket holds: the burst plus under one nanosecond's earnings (see top).
  [[nodiscard]] std::int64_t limit_nbytes() const noexcept {
    if (rate_bytes_per_s_ == 0) return cap_nbytes_;
    return cap_nbytes_ + static_cast<std::int64_t>(rate_bytes_per_s_ - 1);
  }

  // Credit the bucket would hold at `now` (no state change). Time never runs backwards here.
  [[nodiscard]] std::int64_t credit_at(TimeNs now) const noexcept {
    if (!primed_) return cap_nbytes_;
    const std::int64_t limit = limit_nbytes();
    if (rate_bytes_per_s_ == 0 || now <= last_ns_ || credit_nbytes_ >= limit) {
      return std::min(credit_nbytes_, limit);
    }
    // Unsigned difference: exact even when now - last_ns_ exceeds INT64_MAX.
    const std::uint64_t dt_ns =
        static_cast<std::uint64_t>(now) - static_cast<std::uint64_t>(last_ns_);
    const auto gap = static_cast<std::uint64_t>(limit - credit_nbytes_);
    if (dt_ns >= ceil_div(gap, rate_bytes_per_s_)) return limit;
    // dt < ceil(gap / rate)  =>  rate * dt < gap: no overflow.
    return credit_nbytes_ + static_cast<std::int64_t>(rate_bytes_per_s_ * dt_ns);
  }

  void advance_to(TimeNs now) noexcept {
    if (!primed_ || now > last_ns_) last_ns_ = now;
    primed_ = true;
  }

  std::uint64_t rate_bytes_per_s_ = 0;
  std::int64_t cap_nbytes_ = 0;
  std::int64_t credit_nbytes_ = 0;  // as of last_ns_
  TimeNs last_ns_ = 0;
  bool primed_ = false;  // false until the first on_sent/set_rate: the bucket is full
};

}  // namespace volley::proto
