// Pacer on a simulated clock: exact integer arithmetic, no wall time anywhere.
#include "dataplane/proto/pacer.hpp"

#include <cstdint>
#include <random>

#include <gtest/gtest.h>

namespace volley::proto {
namespace {

// Sends `packets` packets of `bytes` as soon as the pacer allows, starting at `start`; returns
// the time of the last send.
TimeNs send_back_to_back(Pacer& p, int packets, std::uint32_t bytes, TimeNs start) {
  TimeNs now = start;
  for (int i = 0; i < packets; ++i) {
    const TimeNs t = p.next_send_time(bytes, now);
    if (t > now) now = t;
    p.on_sent(bytes, now);
  }
  return now;
}

TEST(PacerTest, TenThousandPacketsAt100MbitTakeTheRightTime) {
  // 100 Mbit/s = 12.5e6 B/s; 1300 B take exactly 104 us.
  constexpr std::uint64_t kRate = 12'500'000;
  constexpr TimeNs kPacketNs = 104'000;
  Pacer p(kRate, 1300);
  const TimeNs start = 5 * kSec;
  const TimeNs last = send_back_to_back(p, 10'000, 1300, start);
  // The first packet goes at once (full bucket); each later one after one packet time.
  const TimeNs expect = start + 9'999 * kPacketNs;
  EXPECT_GE(last, expect - kPacketNs);
  EXPECT_LE(last, expect + kPacketNs);
  // Mean rate over the run: 9999 packets' worth of bytes in (last - start).
  EXPECT_NEAR(static_cast<double>(9'999 * 1300) * 1e9 / static_cast<double>(last - start),
              static_cast<double>(kRate), static_cast<double>(kRate) * 1e-4);
}

TEST(PacerTest, NoDriftWithNonIntegerPacketTimes) {
  // 1'000'003 B/s: one 1300-byte packet takes 1'299'996.1 ns, never a whole number of ns.
  constexpr std::uint64_t kRate = 1'000'003;
  Pacer p(kRate, 1300);
  constexpr int kPackets = 1'000'000;
  const TimeNs last = send_back_to_back(p, kPackets, 1300, 0);
  // Ideal: (kPackets - 1) * 1300 bytes at kRate, with the first packet free.
  const std::uint64_t ideal_ns = ((kPackets - 1) * std::uint64_t{1300} * 1'000'000'000) / kRate;
  // Integer credit: the error never exceeds the last wait's 1 ns rounding.
  EXPECT_LE(static_cast<std::uint64_t>(last), ideal_ns + 1);
  EXPECT_GE(static_cast<std::uint64_t>(last), ideal_ns);
}

TEST(PacerTest, IrregularPollingKeepsTheAverageRate) {
  // A sender that only wakes up on a coarse, jittery timer still gets the configured rate:
  // late wake-ups earn credit (up to the burst) that the next packets use.
  constexpr std::uint64_t kRate = 125'000'000;  // 1 Gbit/s: 1300 B = 10.4 us
  Pacer p(kRate, 4 * 1300);
  std::mt19937_64 rng(3);
  TimeNs now = 0;
  TimeNs last_poll = 0;
  std::uint64_t sent_bytes = 0;
  while (now < 100 * kMs) {
    while (p.next_send_time(1300, now) <= now) {
      p.on_sent(1300, now);
      sent_bytes += 1300;
    }
    last_poll = now;
    now += 1 + static_cast<TimeNs>(rng() % 20'000);  // wake every 1..20 us (< burst)
  }
  // Initial burst + everything earned up to the last wake-up, minus under one packet of credit
  // left over at that moment.
  const double earned =
      4 * 1300 + static_cast<double>(kRate) * 1e-9 * static_cast<double>(last_poll);
  EXPECT_LE(static_cast<double>(sent_bytes), earned);
  EXPECT_GT(static_cast<double>(sent_bytes), earned - 1300);
}

TEST(PacerTest, IdleCreditIsCappedAtBurst) {
  constexpr std::uint64_t kRate = 12'500'000;
  Pacer p(kRate, 10 * 1300);
  TimeNs now = 0;
  // Drain the bucket.
  int sent = 0;
  while (p.next_send_time(1300, now) <= now) {
    p.on_sent(1300, now);
    ++sent;
  }
  EXPECT_EQ(sent, 10);  // a fresh pacer starts with exactly one burst
  // Idle for 10 s: far more than 10 packets' worth of time.
  now += 10 * kSec;
  sent = 0;
  while (p.next_send_time(1300, now) <= now) {
    p.on_sent(1300, now);
    ++sent;
  }
  EXPECT_EQ(sent, 10);
  // The next one is due exactly one packet time later.
  EXPECT_EQ(p.next_send_time(1300, now), now + 104'000);
}

TEST(PacerTest, PartialIdleEarnsProportionalCredit) {
  Pacer p(12'500'000, 10 * 1300);
  TimeNs now = 0;
  while (p.next_send_time(1300, now) <= now) p.on_sent(1300, now);
  now += 3 * 104'000 + 50'000;  // 3.48 packet times
  int sent = 0;
  while (p.next_send_time(1300, now) <= now) {
    p.on_sent(1300, now);
    ++sent;
  }
  EXPECT_EQ(sent, 3);
  // 0.48 packet times of credit are left: the next one is due 54 us later.
  EXPECT_EQ(p.next_send_time(1300, now), now + 54'000);
}

TEST(PacerTest, UnpacedAlwaysSendsNow) {
  Pacer p(0, 0);
  EXPECT_TRUE(p.unpaced());
  TimeNs now = 17;
  for (int i = 0; i < 100'000; ++i) {
    ASSERT_EQ(p.next_send_time(9000, now), now);
    p.on_sent(9000, now);
    now += i % 3;  // time may stand still
  }
  Pacer fresh;  // default-constructed = unpaced
  EXPECT_EQ(fresh.next_send_time(1300, 123), 123);
}

TEST(PacerTest, PacketLargerThanBurstIsNotStuck) {
  // Burst 0 and burst smaller than a packet: still paced at the exact rate.
  for (const std::uint64_t burst : {std::uint64_t{0}, std::uint64_t{100}}) {
    Pacer p(1'000'000, burst);  // 1 MB/s: 1300 B = 1.3 ms
    const TimeNs last = send_back_to_back(p, 1000, 1300, 0);
    EXPECT_EQ(last, 999 * 1'300'000) << "burst " << burst;
  }
}

TEST(PacerTest, NextSendTimeDependsOnPacketSize) {
  Pacer p(1'000'000, 0);                         // 1 byte per us
  p.on_sent(1000, 0);                            // 1000 us of debt
  EXPECT_EQ(p.next_send_time(1, 0), 1'000'000);  // burst 0: wait for the debt only
  Pacer q(1'000'000, 5000);
  for (int i = 0; i < 5; ++i) q.on_sent(1000, 0);  // bucket empty at t = 0
  EXPECT_EQ(q.next_send_time(100, 0), 100'000);
  EXPECT_EQ(q.next_send_time(1000, 0), 1'000'000);
  EXPECT_EQ(q.next_send_time(9000, 0), 5'000'000);  // above the burst: needs a full bucket
}

TEST(PacerTest, SetRateKeepsEarnedCredit) {
  Pacer p(1'000'000, 0);
  p.on_sent(1000, 0);  // due again at 1 ms
  EXPECT_EQ(p.next_send_time(1000, 0), 1'000'000);
  // Half-way through, the rate doubles: 500 bytes of debt remain, repaid at 2 bytes/us.
  p.set_rate(2'000'000, 500'000);
  EXPECT_EQ(p.rate_bytes_per_s(), 2'000'000u);
  EXPECT_EQ(p.next_send_time(1000, 500'000), 750'000);
  // Switching to unpaced and back starts from a full bucket.
  p.set_rate(0, 600'000);
  EXPECT_EQ(p.next_send_time(1000, 600'000), 600'000);
  p.on_sent(1000, 600'000);
  p.set_rate(1'000'000, 600'000);
  EXPECT_LE(p.next_send_time(1000, 600'000), 600'000);  // burst 0 still allows one send
  p.on_sent(1000, 600'000);
  EXPECT_EQ(p.next_send_time(1000, 600'000), 1'600'000);
}

TEST(PacerTest, SetBurstClampsCredit) {
  Pacer p(1'000'000, 100'000);
  TimeNs now = 0;
  p.set_burst(2000, now);
  EXPECT_EQ(p.burst_bytes(), 2000u);
  int sent = 0;
  while (p.next_send_time(1000, now) <= now) {
    p.on_sent(1000, now);
    ++sent;
  }
  EXPECT_EQ(sent, 2);
}

TEST(PacerTest, ClockGoingBackwardsDoesNotEarnCredit) {
  Pacer p(1'000'000, 0);
  p.on_sent(1000, 10 * kMs);
  EXPECT_EQ(p.next_send_time(1000, 5 * kMs), 11 * kMs);
  p.on_sent(1000, 5 * kMs);  // an early send is still charged
  EXPECT_EQ(p.next_send_time(1000, 5 * kMs), 12 * kMs);
}

TEST(PacerTest, ExtremeValuesDoNotOverflow) {
  Pacer p(1, 0);  // 1 byte per second
  p.on_sent(UINT32_MAX, 0);
  const TimeNs t = p.next_send_time(1, 0);
  EXPECT_EQ(t, static_cast<TimeNs>(UINT32_MAX) * kSec);
  // Very fast, very long idle, huge burst.
  Pacer q(UINT64_MAX / 2, UINT64_MAX);
  EXPECT_EQ(q.burst_bytes(), Pacer::kMaxBurstBytes);
  EXPECT_EQ(q.rate_bytes_per_s(), Pacer::kMaxRateBytesPerS);
  q.on_sent(1300, -kSec);
  EXPECT_LE(q.next_send_time(1300, kNever - 1), kNever - 1);
  q.on_sent(1300, kNever - 1);
  EXPECT_LE(q.next_send_time(1300, kNever - 1), kNever - 1);
}

}  // namespace
}  // namespace volley::proto
