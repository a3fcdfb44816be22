#include "tests/sim/simnet.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace volley::sim {
namespace {

constexpr std::uint32_t kGroup = ipv4(239, 1, 2, 3);
constexpr std::uint16_t kPort = 1044;

// Payload: 8-byte little-endian sequence number, then filler up to `size` bytes.
std::vector<std::uint8_t> make_payload(std::uint64_t seq, std::size_t size) {
  std::vector<std::uint8_t> b(std::max<std::size_t>(size, 8));
  for (std::size_t i = 0; i < 8; ++i) b[i] = static_cast<std::uint8_t>(seq >> (8 * i));
  for (std::size_t i = 8; i < b.size(); ++i) b[i] = static_cast<std::uint8_t>(seq * 31 + i);
  b.resize(size);
  return b;
}

std::uint64_t seq_of(std::span<const std::uint8_t> b) {
  std::uint64_t s = 0;
  for (std::size_t i = 0; i < 8 && i < b.size(); ++i) s |= std::uint64_t{b[i]} << (8 * i);
  return s;
}

struct Arrival {
  std::uint64_t seq;
  Addr src;
  Addr dst;
  TimeNs at;
  const std::uint8_t* data;  // to check payload sharing; valid only during the callback
  std::vector<std::uint8_t> bytes;
};

// Records what arrives (bytes only when asked, to keep big runs light).
class Sink : public Node {
 public:
  explicit Sink(bool keep_bytes = false) : keep_bytes_(keep_bytes) {}
  void on_datagram(const Addr& src, const Addr& dst, std::span<const std::uint8_t> bytes,
                   TimeNs now) override {
    Arrival a{seq_of(bytes), src, dst, now, bytes.data(), {}};
    if (keep_bytes_) a.bytes.assign(bytes.begin(), bytes.end());
    arrivals.push_back(std::move(a));
  }
  TimeNs next_deadline() const override { return kNever; }
  void on_deadline(TimeNs) override {}

  std::vector<std::uint64_t> seqs() const {
    std::vector<std::uint64_t> s;
    for (const auto& a : arrivals) s.push_back(a.seq);
    return s;
  }
  std::vector<Arrival> arrivals;

 private:
  bool keep_bytes_;
};

// Counts only: for the large run.
class Counter : public Node {
 public:
  void on_datagram(const Addr&, const Addr&, std::span<const std::uint8_t>, TimeNs) override {
    ++count;
  }
  TimeNs next_deadline() const override { return kNever; }
  void on_deadline(TimeNs) override {}
  std::uint64_t count = 0;
};

// Sends every datagram straight back to its source.
class Echo : public Node {
 public:
  Echo(Network& net, std::uint32_t ip) : net_(net), ip_(ip) {}
  void on_datagram(const Addr& src, const Addr& dst, std::span<const std::uint8_t> bytes,
                   TimeNs now) override {
    ++received;
    net_.send(ip_, Datagram{Addr{ip_, dst.port}, src, {bytes.begin(), bytes.end()}}, now);
  }
  TimeNs next_deadline() const override { return kNever; }
  void on_deadline(TimeNs) override {}
  std::uint64_t received = 0;

 private:
  Network& net_;
  std::uint32_t ip_;
};

// Sends `count` datagrams (seq 0, 1, ...) to `dst`, one every interval_ns from start_ns, driven by
// next_deadline(). count == 0 means forever.
class PeriodicSender : public Node {
 public:
  PeriodicSender(Network& net, std::uint32_t ip, Addr dst, TimeNs start_ns, DurationNs interval_ns,
                 std::uint64_t count, std::size_t size)
      : net_(net),
        ip_(ip),
        dst_(dst),
        next_ns_(start_ns),
        interval_ns_(interval_ns),
        count_(count),
        size_(size) {}
  void on_datagram(const Addr&, const Addr&, std::span<const std::uint8_t>, TimeNs) override {
    ++received;
  }
  TimeNs next_deadline() const override {
    return count_ != 0 && sent >= count_ ? kNever : next_ns_;
  }
  void on_deadline(TimeNs now) override {
    send_times.push_back(now);
    net_.send(ip_, Datagram{Addr{ip_, kPort}, dst_, make_payload(sent, size_)}, now);
    ++sent;
    next_ns_ += interval_ns_;
  }
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  std::vector<TimeNs> send_times;

 private:
  Network& net_;
  std::uint32_t ip_;
  Addr dst_;
  TimeNs next_ns_;
  DurationNs interval_ns_;
  std::uint64_t count_;
  std::size_t size_;
};

// Fires once, idle_ns after the last datagram it received.
class IdleTimeout : public Node {
 public:
  explicit IdleTimeout(DurationNs idle_ns) : idle_ns_(idle_ns) {}
  void on_datagram(const Addr&, const Addr&, std::span<const std::uint8_t>, TimeNs now) override {
    deadline_ = now + idle_ns_;
  }
  TimeNs next_deadline() const override { return deadline_; }
  void on_deadline(TimeNs now) override {
    fired_at.push_back(now);
    deadline_ = kNever;
  }
  std::vector<TimeNs> fired_at;

 private:
  DurationNs idle_ns_;
  TimeNs deadline_ = kNever;
};

const auto kNeverDone = [] { return false; };
constexpr std::uint64_t kManyEvents = 100'000'000;

RunResult run_to_idle(Network& net) {
  return net.run_until(kNeverDone, kNever, kManyEvents);
}

void send_n(Network& net, std::uint32_t from, Addr dst, std::uint64_t n, std::size_t size,
            std::uint64_t first_seq = 0) {
  for (std::uint64_t i = 0; i < n; ++i) {
    net.send(from, Datagram{Addr{from, kPort}, dst, make_payload(first_seq + i, size)}, net.now());
  }
}

const std::uint32_t kA = ipv4(10, 0, 0, 1);
const std::uint32_t kB = ipv4(10, 0, 0, 2);
const std::uint32_t kC = ipv4(10, 0, 0, 3);

// ---------------------------------------------------------------------------------------------
// Timing

TEST(SimNet, DelayAndRateAreExact) {
  Network net(1);
  Sink sink;
  net.add_host(kA, nullptr, LinkParams{.delay_ns = 10 * kMs, .rate_bps = 8'000'000});
  net.add_host(kB, &sink);
  send_n(net, kA, Addr{kB, kPort}, 2, 1000);
  const RunResult r = run_to_idle(net);
  EXPECT_EQ(r.reason, StopReason::kIdle);
  ASSERT_EQ(sink.arrivals.size(), 2u);
  // 1000 bytes at 8 Mbit/s = 1 ms on the wire, + 10 ms; the second waits for the first.
  EXPECT_EQ(sink.arrivals[0].at, 11 * kMs);
  EXPECT_EQ(sink.arrivals[1].at, 12 * kMs);
  EXPECT_EQ(r.now, 12 * kMs);
}

TEST(SimNet, UplinkAndDownlinkCompose) {
  Network net(1);
  Sink sink;
  net.add_host(kA, nullptr, LinkParams{.delay_ns = 10 * kMs, .rate_bps = 8'000'000});
  net.add_host(kB, &sink, {}, LinkParams{.delay_ns = 1 * kMs, .rate_bps = 80'000'000});
  send_n(net, kA, Addr{kB, kPort}, 2, 1000);
  run_to_idle(net);
  ASSERT_EQ(sink.arrivals.size(), 2u);
  // up: 1 ms + 10 ms; down: 0.1 ms + 1 ms.
  EXPECT_EQ(sink.arrivals[0].at, 12 * kMs + 100 * kUs);
  EXPECT_EQ(sink.arrivals[1].at, 13 * kMs + 100 * kUs);
}

TEST(SimNet, SerializationTimeRoundsUp) {
  Link link(LinkParams{.rate_bps = 3}, 7);
  // 8 bits at 3 bit/s = 2.666... s, rounded up to the next nanosecond.
  EXPECT_EQ(link.offer(1, 0).arrival_ns, 2'666'666'667);
  // 100 Gbit/s: 9000 bytes = 720 ns; no overflow in the arithmetic.
  Link fast(LinkParams{.rate_bps = 100'000'000'000ULL}, 7);
  EXPECT_EQ(fast.offer(9000, 0).arrival_ns, 720);
  EXPECT_EQ(fast.offer(9000, 0).arrival_ns, 1440);
}

// ---------------------------------------------------------------------------------------------
// Queue

TEST(SimNet, QueueLimitDropsExactlyTheExcessOfABurst) {
  Network net(1);
  Sink sink;
  net.add_host(kA, nullptr, LinkParams{.rate_bps = 8'000'000, .queue_limit_bytes = 10'000});
  net.add_host(kB, &sink);
  send_n(net, kA, Addr{kB, kPort}, 25, 1000);
  run_to_idle(net);
  const LinkStats& up = net.uplink_stats(net.host_of(kA));
  EXPECT_EQ(up.offered_packets, 25u);
  EXPECT_EQ(up.dropped_queue, 15u);
  EXPECT_EQ(up.delivered_packets, 10u);
  ASSERT_EQ(sink.arrivals.size(), 10u);
  for (std::uint64_t i = 0; i < 10; ++i) {
    EXPECT_EQ(sink.arrivals[i].seq, i);
    EXPECT_EQ(sink.arrivals[i].at, static_cast<TimeNs>(i + 1) * kMs);
  }
  // Drained: a second burst is accepted up to the limit again.
  send_n(net, kA, Addr{kB, kPort}, 12, 1000, 100);
  run_to_idle(net);
  EXPECT_EQ(up.dropped_queue, 17u);
  EXPECT_EQ(sink.arrivals.size(), 20u);
}

TEST(SimNet, QueueLimitBoundaryIsExact) {
  Link link(LinkParams{.rate_bps = 8'000'000, .queue_limit_bytes = 3000}, 7);
  EXPECT_FALSE(link.offer(1000, 0).dropped);
  EXPECT_FALSE(link.offer(1000, 0).dropped);
  EXPECT_FALSE(link.offer(1000, 0).dropped);
  EXPECT_TRUE(link.offer(1000, 0).dropped);            // 4000 > 3000
  EXPECT_TRUE(link.offer(1000, 1 * kMs - 1).dropped);  // first one still on the wire
  EXPECT_EQ(link.backlog_bytes(1 * kMs - 1), 3000u);
  const Link::Verdict v = link.offer(1000, 1 * kMs);  // first one done: 2000 + 1000 fits
  EXPECT_FALSE(v.dropped);
  EXPECT_EQ(v.arrival_ns, 4 * kMs);
  EXPECT_EQ(link.stats().dropped_queue, 2u);
  EXPECT_TRUE(link.offer(3001, 10 * kMs).dropped);  // larger than the whole queue
}

// ---------------------------------------------------------------------------------------------
// Loss

TEST(SimNet, IndependentLossRateWithinBounds) {
  const std::uint64_t seed = sim_seed(11);
  SCOPED_TRACE(seed_note(seed));
  Link link(LinkParams{.loss = 0.1}, seed);
  constexpr int kN = 100'000;
  int lost = 0;
  for (int i = 0; i < kN; ++i) lost += link.offer(100, 0).dropped ? 1 : 0;
  EXPECT_EQ(static_cast<std::uint64_t>(lost), link.stats().dropped_loss);
  // mean 10000, sigma = sqrt(100000 * 0.1 * 0.9) ~ 95; allow 5 sigma.
  EXPECT_NEAR(lost, 10'000, 475);
}

// Mean length of runs of consecutive drops, and the drop fraction.
std::pair<double, double> loss_runs(Link& link, int n) {
  int lost = 0, runs = 0;
  bool prev = false;
  for (int i = 0; i < n; ++i) {
    const bool d = link.offer(100, 0).dropped;
    if (d) ++lost;
    if (d && !prev) ++runs;
    prev = d;
  }
  return {runs == 0 ? 0.0 : static_cast<double>(lost) / runs, static_cast<double>(lost) / n};
}

TEST(SimNet, BurstLossHasLongerRunsThanIndependentLossAtTheSameMean) {
  const std::uint64_t seed = sim_seed(12);
  SCOPED_TRACE(seed_note(seed));
  // pi_bad = (1/90) / (1/90 + 1/10) = 0.1; mean bad run = 10 packets.
  Link burst(LinkParams{.burst = {.p_good_to_bad = 1.0 / 90.0, .p_bad_to_good = 0.1}}, seed);
  Link indep(LinkParams{.loss = 0.1}, seed);
  const auto [burst_run, burst_rate] = loss_runs(burst, 100'000);
  const auto [indep_run, indep_rate] = loss_runs(indep, 100'000);
  EXPECT_NEAR(burst_rate, 0.1, 0.03);
  EXPECT_NEAR(indep_rate, 0.1, 0.01);
  EXPECT_GT(burst_run, 6.0);
  EXPECT_LT(indep_run, 1.3);
  EXPECT_GT(burst.stats().dropped_burst, 0u);
  EXPECT_EQ(burst.stats().dropped_loss, 0u);
}

TEST(SimNet, DropListDropsExactlyThoseIndices) {
  Network net(1);
  Sink sink;
  net.add_host(kA, nullptr, LinkParams{.drop_list = {7, 0, 3, 7, 100}});
  net.add_host(kB, &sink);
  send_n(net, kA, Addr{kB, kPort}, 10, 200);
  run_to_idle(net);
  EXPECT_EQ(sink.seqs(), (std::vector<std::uint64_t>{1, 2, 4, 5, 6, 8, 9}));
  EXPECT_EQ(net.uplink_stats(0).dropped_drop_list, 3u);
  EXPECT_EQ(net.uplink_stats(0).dropped_total(), 3u);
}

TEST(SimNet, DeterministicDropsDoNotShiftTheRandomPattern) {
  // Same link identity, one with drop_list and MTU drops on top: every other packet meets the
  // same random fate, because each stream draws once per offered packet.
  const std::uint64_t seed = sim_seed(16);
  SCOPED_TRACE(seed_note(seed));
  Link plain(LinkParams{.loss = 0.3, .burst = {.p_good_to_bad = 0.05, .p_bad_to_good = 0.3}}, seed);
  Link extra(LinkParams{.loss = 0.3,
                        .burst = {.p_good_to_bad = 0.05, .p_bad_to_good = 0.3},
                        .drop_list = {3, 10, 11, 500},
                        .mtu = 1000},
             seed);
  int compared = 0, random_drops = 0;
  for (std::uint64_t i = 0; i < 2000; ++i) {
    const std::size_t size = i % 7 == 0 ? 1200 : 100;
    const bool a = plain.offer(size, 0).dropped;
    const bool b = extra.offer(size, 0).dropped;
    if (size > 1000 || i == 3 || i == 10 || i == 11 || i == 500) {
      EXPECT_TRUE(b) << i;
      continue;
    }
    EXPECT_EQ(a, b) << i;
    ++compared;
    random_drops += a ? 1 : 0;
  }
  EXPECT_EQ(extra.stats().dropped_drop_list, 4u);
  EXPECT_GT(compared, 1500);
  EXPECT_GT(random_drops, 300);
}

TEST(SimNet, DropListCountsPerLinkOnMulticast) {
  Network net(1);
  Sink b, c;
  net.add_host(kA, nullptr);
  const HostId hb = net.add_host(kB, &b, {}, LinkParams{.drop_list = {1}});
  const HostId hc = net.add_host(kC, &c, {}, LinkParams{.drop_list = {0, 2}});
  net.join(hb, kGroup);
  net.join(hc, kGroup);
  send_n(net, kA, Addr{kGroup, kPort}, 4, 100);
  run_to_idle(net);
  EXPECT_EQ(b.seqs(), (std::vector<std::uint64_t>{0, 2, 3}));
  EXPECT_EQ(c.seqs(), (std::vector<std::uint64_t>{1, 3}));
}

// ---------------------------------------------------------------------------------------------
// Duplication, corruption, reordering, MTU

TEST(SimNet, DuplicateDeliversASecondIdenticalCopyAtTheSameTime) {
  Network net(1);
  Sink sink(true);
  net.add_host(kA, nullptr);
  net.add_host(kB, &sink, {}, LinkParams{.delay_ns = 5 * kMs, .duplicate = 1.0});
  send_n(net, kA, Addr{kB, kPort}, 3, 100);
  run_to_idle(net);
  ASSERT_EQ(sink.arrivals.size(), 6u);
  EXPECT_EQ(sink.seqs(), (std::vector<std::uint64_t>{0, 0, 1, 1, 2, 2}));
  for (std::size_t i = 0; i < 6; i += 2) {
    EXPECT_EQ(sink.arrivals[i].at, 5 * kMs);
    EXPECT_EQ(sink.arrivals[i].bytes, sink.arrivals[i + 1].bytes);
  }
  EXPECT_EQ(net.downlink_stats(1).duplicated, 3u);
  EXPECT_EQ(net.downlink_stats(1).delivered_packets, 6u);
}

TEST(SimNet, DuplicateRateWithinBounds) {
  const std::uint64_t seed = sim_seed(13);
  SCOPED_TRACE(seed_note(seed));
  Link link(LinkParams{.duplicate = 0.25}, seed);
  for (int i = 0; i < 20'000; ++i) (void)link.offer(100, 0);
  // mean 5000, sigma ~ 61.
  EXPECT_NEAR(static_cast<double>(link.stats().duplicated), 5000.0, 310.0);
}

TEST(SimNet, CorruptionFlipsExactlyOneBitAndOnlyInThatLinksCopy) {
  const std::uint64_t seed = sim_seed(14);
  SCOPED_TRACE(seed_note(seed));
  Network net(seed);
  Sink bad(true), clean1(true), clean2(true);
  net.add_host(kA, nullptr);
  const HostId hb = net.add_host(kB, &bad, {}, LinkParams{.corrupt = 1.0});
  const HostId h1 = net.add_host(kC, &clean1);
  const HostId h2 = net.add_host(ipv4(10, 0, 0, 4), &clean2);
  for (const HostId h : {hb, h1, h2}) net.join(h, kGroup);
  constexpr std::uint64_t kN = 200;
  std::vector<std::vector<std::uint8_t>> sent;
  for (std::uint64_t i = 0; i < kN; ++i) {
    sent.push_back(make_payload(i, 64));
    net.send(kA, Datagram{Addr{kA, kPort}, Addr{kGroup, kPort}, sent.back()}, 0);
  }
  run_to_idle(net);
  ASSERT_EQ(bad.arrivals.size(), kN);
  ASSERT_EQ(clean1.arrivals.size(), kN);
  ASSERT_EQ(clean2.arrivals.size(), kN);
  std::set<std::size_t> flipped_bits;
  for (std::size_t i = 0; i < kN; ++i) {
    // No delay/reorder: arrival i is packet i.
    EXPECT_EQ(clean1.arrivals[i].bytes, sent[i]);
    EXPECT_EQ(clean2.arrivals[i].bytes, sent[i]);
    // Clean receivers share one buffer; the corrupted copy is a private one.
    EXPECT_EQ(clean1.arrivals[i].data, clean2.arrivals[i].data);
    EXPECT_NE(bad.arrivals[i].data, clean1.arrivals[i].data);
    ASSERT_EQ(bad.arrivals[i].bytes.size(), sent[i].size());
    int diff_bits = 0;
    for (std::size_t k = 0; k < sent[i].size(); ++k) {
      const auto x = static_cast<unsigned>(bad.arrivals[i].bytes[k] ^ sent[i][k]);
      diff_bits += std::popcount(x);
      if (x != 0) flipped_bits.insert(k * 8 + static_cast<std::size_t>(std::countr_zero(x)));
    }
    EXPECT_EQ(diff_bits, 1) << "packet " << i;
  }
  EXPECT_GT(flipped_bits.size(), 100u);  // positions spread over the 512 bits
  EXPECT_EQ(net.downlink_stats(hb).corrupted, kN);
  EXPECT_EQ(net.downlink_stats(h1).corrupted, 0u);
}

TEST(SimNet, ReorderDelaysSomePacketsPastLaterOnes) {
  const std::uint64_t seed = sim_seed(15);
  SCOPED_TRACE(seed_note(seed));
  for (const double p : {0.0, 0.2}) {
    Network net(seed);
    Sink sink;
    PeriodicSender sender(net, kA, Addr{kB, kPort}, 0, 1 * kMs, 200, 100);
    net.add_host(kA, &sender);
    const HostId hb = net.add_host(
        kB, &sink, {}, LinkParams{.delay_ns = 2 * kMs, .reorder = p, .reorder_delay_ns = 5 * kMs});
    run_to_idle(net);
    ASSERT_EQ(sink.arrivals.size(), 200u);
    std::uint64_t late = 0;
    for (const auto& a : sink.arrivals) {
      const TimeNs base = static_cast<TimeNs>(a.seq) * kMs + 2 * kMs;
      EXPECT_TRUE(a.at == base || a.at == base + 5 * kMs) << a.seq;
      if (a.at != base) ++late;
    }
    const auto seqs = sink.seqs();
    EXPECT_EQ(late, net.downlink_stats(hb).reordered);
    if (p == 0.0) {
      EXPECT_TRUE(std::is_sorted(seqs.begin(), seqs.end()));
      EXPECT_EQ(late, 0u);
    } else {
      EXPECT_FALSE(std::is_sorted(seqs.begin(), seqs.end()));
      EXPECT_NEAR(static_cast<double>(late), 40.0, 25.0);
    }
  }
}

TEST(SimNet, MtuDropsOversizedDatagrams) {
  Network net(1);
  Sink sink;
  net.add_host(kA, nullptr, LinkParams{.mtu = 1500});
  net.add_host(kB, &sink);
  for (const std::size_t size : {1500u, 1501u, 9000u, 20u}) {
    net.send(kA, Datagram{Addr{kA, kPort}, Addr{kB, kPort}, make_payload(size, size)}, 0);
  }
  run_to_idle(net);
  EXPECT_EQ(sink.seqs(), (std::vector<std::uint64_t>{1500, 20}));
  EXPECT_EQ(net.uplink_stats(0).dropped_mtu, 2u);
}

// ---------------------------------------------------------------------------------------------
// Routing

TEST(SimNet, MulticastReachesJoinedHostsOnly) {
  Network net(1);
  std::vector<Sink> sinks(6);
  std::vector<HostId> ids;
  for (std::uint8_t i = 0; i < 6; ++i) {
    ids.push_back(net.add_host(ipv4(10, 0, 0, static_cast<std::uint8_t>(i + 1)), &sinks[i]));
  }
  const std::uint32_t other_group = ipv4(239, 9, 9, 9);
  for (const int i : {0, 1, 2, 3}) net.join(ids[static_cast<std::size_t>(i)], kGroup);
  net.join(ids[2], kGroup);  // twice: no double delivery
  net.join(ids[4], other_group);
  const std::uint32_t sender_ip = net.host_ip(ids[0]);
  send_n(net, sender_ip, Addr{kGroup, kPort}, 1, 100, 0);
  run_to_idle(net);
  std::vector<std::size_t> got;
  for (const auto& s : sinks) got.push_back(s.arrivals.size());
  EXPECT_EQ(got, (std::vector<std::size_t>{0, 1, 1, 1, 0, 0}));
  EXPECT_EQ(sinks[1].arrivals[0].dst, (Addr{kGroup, kPort}));
  EXPECT_EQ(sinks[1].arrivals[0].src, (Addr{sender_ip, kPort}));

  net.leave(ids[2], kGroup);
  net.leave(ids[5], kGroup);  // not a member: no-op
  net.set_multicast_loopback(true);
  send_n(net, sender_ip, Addr{kGroup, kPort}, 1, 100, 1);
  run_to_idle(net);
  got.clear();
  for (const auto& s : sinks) got.push_back(s.arrivals.size());
  EXPECT_EQ(got, (std::vector<std::size_t>{1, 2, 1, 2, 0, 0}));
  EXPECT_EQ(net.uplink_stats(ids[0]).delivered_packets, 2u);
  EXPECT_EQ(net.uplink_stats(ids[0]).offered_packets, 2u);
}

TEST(SimNet, UnroutableDatagramsAreCountedAsNoRoute) {
  Network net(1);
  Sink sink;
  net.add_host(kA, nullptr, LinkParams{.delay_ns = 1 * kMs});
  net.add_host(kB, &sink);
  send_n(net, kA, Addr{ipv4(10, 9, 9, 9), kPort}, 1, 100);  // no such host
  send_n(net, kA, Addr{kGroup, kPort}, 1, 100);             // group with no members
  run_to_idle(net);
  EXPECT_TRUE(sink.arrivals.empty());
  const LinkStats& up = net.uplink_stats(0);
  EXPECT_EQ(up.dropped_no_route, 2u);
  EXPECT_EQ(up.delivered_packets, 0u);
  EXPECT_EQ(net.total_stats().dropped_no_route, 2u);
}

TEST(SimNet, EchoRoundTripAddsBothDirections) {
  Network net(1);
  PeriodicSender client(net, kA, Addr{kB, 7}, 0, 1 * kMs, 1, 1000);
  Echo server(net, kB);
  const LinkParams wan{.delay_ns = 3 * kMs, .rate_bps = 8'000'000};
  net.add_host(kA, &client, wan, wan);
  net.add_host(kB, &server, wan, wan);
  const RunResult r = run_to_idle(net);
  EXPECT_EQ(server.received, 1u);
  EXPECT_EQ(client.received, 1u);
  EXPECT_EQ(r.now, 4 * (3 * kMs + 1 * kMs));  // four link traversals of 1 ms + 3 ms
}

// ---------------------------------------------------------------------------------------------
// Determinism

struct TraceResult {
  std::uint64_t node_digest = 0;
  std::uint64_t net_digest = 0;
  std::uint64_t deliveries = 0;
};

class HashingSink : public Node {
 public:
  void on_datagram(const Addr& src, const Addr&, std::span<const std::uint8_t> bytes,
                   TimeNs now) override {
    std::uint64_t h = digest * 1099511628211ULL ^ static_cast<std::uint64_t>(now);
    h = h * 1099511628211ULL ^ src.ip;
    for (const std::uint8_t b : bytes) h = (h ^ b) * 1099511628211ULL;
    digest = h;
    ++count;
  }
  TimeNs next_deadline() const override { return kNever; }
  void on_deadline(TimeNs) override {}
  std::uint64_t digest = 14695981039346656037ULL;
  std::uint64_t count = 0;
};

TraceResult run_impaired_scenario(std::uint64_t seed, std::size_t receivers = 20) {
  Network net(seed);
  PeriodicSender sender(net, kA, Addr{kGroup, kPort}, 0, 100 * kUs, 500, 1200);
  net.add_host(kA, &sender, LinkParams{.delay_ns = 1 * kMs, .rate_bps = 200'000'000});
  std::vector<HashingSink> sinks(receivers);
  for (std::size_t i = 0; i < receivers; ++i) {
    LinkParams down{.delay_ns = static_cast<DurationNs>(i) * 100 * kUs,
                    .rate_bps = 100'000'000,
                    .queue_limit_bytes = 20'000,
                    .loss = 0.05,
                    .burst = {.p_good_to_bad = 0.01, .p_bad_to_good = 0.3},
                    .reorder = 0.05,
                    .reorder_delay_ns = 700 * kUs,
                    .duplicate = 0.02,
                    .corrupt = 0.01};
    const HostId h = net.add_host(ipv4(10, 1, 0, static_cast<std::uint8_t>(i + 1)), &sinks[i], {},
                                  std::move(down));
    net.join(h, kGroup);
  }
  run_to_idle(net);
  TraceResult t;
  for (const auto& s : sinks) {
    t.node_digest = t.node_digest * 31 + s.digest;
    t.deliveries += s.count;
  }
  t.net_digest = net.delivery_digest();
  return t;
}

TEST(SimNet, SameSeedGivesIdenticalTrace) {
  const std::uint64_t seed = sim_seed(21);
  SCOPED_TRACE(seed_note(seed));
  const TraceResult a = run_impaired_scenario(seed);
  const TraceResult b = run_impaired_scenario(seed);
  EXPECT_GT(a.deliveries, 5000u);
  EXPECT_EQ(a.node_digest, b.node_digest);
  EXPECT_EQ(a.net_digest, b.net_digest);
  EXPECT_EQ(a.deliveries, b.deliveries);
}

TEST(SimNet, DifferentSeedGivesDifferentTrace) {
  const std::uint64_t seed = sim_seed(21);
  SCOPED_TRACE(seed_note(seed));
  const TraceResult a = run_impaired_scenario(seed);
  const TraceResult b = run_impaired_scenario(seed + 1);
  EXPECT_NE(a.node_digest, b.node_digest);
  EXPECT_NE(a.net_digest, b.net_digest);
}

// The packets host kB receives from a multicast of 2000 packets, with a given other receiver.
std::vector<std::uint64_t> received_by_b(std::uint64_t seed, LinkParams c_down, bool extra_host,
                                         double b_loss = 0.3) {
  Network net(seed);
  Sink b, c, d;
  net.add_host(kA, nullptr);
  if (extra_host) net.join(net.add_host(ipv4(10, 0, 0, 200), &d, {}, {.loss = 0.5}), kGroup);
  net.join(net.add_host(kC, &c, {}, std::move(c_down)), kGroup);
  net.join(net.add_host(kB, &b, {}, LinkParams{.loss = b_loss}), kGroup);
  send_n(net, kA, Addr{kGroup, kPort}, 2000, 100);
  run_to_idle(net);
  return b.seqs();
}

TEST(SimNet, OneLinksParamsDoNotChangeAnotherLinksLossPattern) {
  const std::uint64_t seed = sim_seed(22);
  SCOPED_TRACE(seed_note(seed));
  const auto base = received_by_b(seed, LinkParams{.loss = 0.3}, false);
  const auto changed = received_by_b(
      seed, LinkParams{.loss = 0.7, .reorder = 0.5, .reorder_delay_ns = kMs, .corrupt = 0.5}, true);
  EXPECT_GT(base.size(), 1200u);
  EXPECT_LT(base.size(), 1600u);
  EXPECT_EQ(base, changed);
  // Sanity: the pattern does depend on the seed.
  EXPECT_NE(base, received_by_b(seed + 1, LinkParams{.loss = 0.3}, false));
}

TEST(SimNet, RaisingLossOnlyAddsDrops) {
  // Each link's loss stream draws once per packet, so the packets lost at 30% are a subset of
  // those lost at 50% with the same seed.
  const std::uint64_t seed = sim_seed(23);
  SCOPED_TRACE(seed_note(seed));
  const auto at30 = received_by_b(seed, {}, false, 0.3);
  const auto at50 = received_by_b(seed, {}, false, 0.5);
  EXPECT_LT(at50.size(), at30.size());
  EXPECT_TRUE(std::includes(at30.begin(), at30.end(), at50.begin(), at50.end()));
}

// ---------------------------------------------------------------------------------------------
// Run control and timers

TEST(SimNet, MaxEventsGuardStopsEndlessPingPong) {
  Network net(1);
  Echo a(net, kA), b(net, kB);
  net.add_host(kA, &a);
  net.add_host(kB, &b);
  send_n(net, kA, Addr{kB, kPort}, 1, 50);
  const RunResult r = net.run_until(kNeverDone, kNever, 10'000);
  EXPECT_EQ(r.reason, StopReason::kMaxEvents);
  EXPECT_EQ(r.events, 10'000u);
  EXPECT_EQ(r.now, 0);
  EXPECT_EQ(a.received + b.received, 5'000u);  // a switch arrival + a delivery per hop
}

TEST(SimNet, TimeLimitStopsRun) {
  Network net(1);
  Sink sink;
  PeriodicSender sender(net, kA, Addr{kB, kPort}, 1 * kMs, 1 * kMs, 0, 100);
  net.add_host(kA, &sender);
  net.add_host(kB, &sink);
  RunResult r = net.run_until(kNeverDone, 50 * kMs + 500 * kUs, kManyEvents);
  EXPECT_EQ(r.reason, StopReason::kTimeLimit);
  EXPECT_EQ(r.now, 50 * kMs + 500 * kUs);  // the clock moves to the limit
  EXPECT_EQ(net.now(), 50 * kMs + 500 * kUs);
  EXPECT_EQ(sender.sent, 50u);  // 1 ms .. 50 ms inclusive
  EXPECT_EQ(sink.arrivals.size(), 50u);
  r = net.run_until(kNeverDone, 60 * kMs, kManyEvents);
  EXPECT_EQ(r.reason, StopReason::kTimeLimit);
  EXPECT_EQ(sender.sent, 60u);
  EXPECT_EQ(r.events, 30u);  // timer + switch arrival + delivery, 10 times
}

TEST(SimNet, DoneStopsRightAfterTheEventThatSatisfiesIt) {
  Network net(1);
  Sink sink;
  PeriodicSender sender(net, kA, Addr{kB, kPort}, 0, 1 * kMs, 100, 100);
  net.add_host(kA, &sender);
  net.add_host(kB, &sink);
  const RunResult r = net.run_until([&] { return sink.arrivals.size() >= 7; }, kNever, kManyEvents);
  EXPECT_EQ(r.reason, StopReason::kDone);
  EXPECT_EQ(sink.arrivals.size(), 7u);
  EXPECT_EQ(r.now, 6 * kMs);
  EXPECT_EQ(r.events, 21u);
}

TEST(SimNet, IdleWhenNothingIsLeft) {
  Network net(1);
  Sink sink;
  net.add_host(kA, nullptr);
  net.add_host(kB, &sink);
  RunResult r = run_to_idle(net);
  EXPECT_EQ(r.reason, StopReason::kIdle);
  EXPECT_EQ(r.events, 0u);
  send_n(net, kA, Addr{kB, kPort}, 1, 10);
  r = run_to_idle(net);
  EXPECT_EQ(r.reason, StopReason::kIdle);
  EXPECT_EQ(r.events, 2u);
  EXPECT_EQ(net.events_processed(), 2u);
}

TEST(SimNet, TimerFollowsNextDeadlineAndSkipsStaleOnes) {
  Network net(1);
  PeriodicSender sender(net, kA, Addr{kB, kPort}, 1 * kMs, 1 * kMs, 3, 100);
  IdleTimeout idle(10 * kMs);
  net.add_host(kA, &sender);
  net.add_host(kB, &idle);
  const RunResult r = run_to_idle(net);
  // Deadlines 11 and 12 ms were superseded; only 13 ms fires.
  EXPECT_EQ(idle.fired_at, (std::vector<TimeNs>{13 * kMs}));
  EXPECT_EQ(sender.send_times, (std::vector<TimeNs>{1 * kMs, 2 * kMs, 3 * kMs}));
  EXPECT_EQ(r.events, 10u);  // 3 sends + 3 switch arrivals + 3 deliveries + 1 timeout
  EXPECT_EQ(r.now, 13 * kMs);
}

// Keeps the same deadline however much it receives.
class FixedDeadline : public Node {
 public:
  void on_datagram(const Addr&, const Addr&, std::span<const std::uint8_t>, TimeNs) override {
    ++received;
  }
  TimeNs next_deadline() const override { return 1 * kSec; }
  void on_deadline(TimeNs) override {}
  std::uint64_t received = 0;
};

TEST(SimNet, UnchangedDeadlineIsNotRescheduled) {
  Network net(1);
  FixedDeadline node;
  net.add_host(kA, nullptr);
  net.add_host(kB, &node);
  send_n(net, kA, Addr{kB, kPort}, 100, 10);
  const RunResult r = net.run_until([&] { return node.received == 100; }, kNever, kManyEvents);
  EXPECT_EQ(r.reason, StopReason::kDone);
  EXPECT_EQ(r.events, 200u);
  EXPECT_EQ(net.pending_events(), 1u);  // the one timer at 1 s, not one per delivery
}

TEST(SimNet, PastDeadlineRunsAtTheCurrentTime) {
  Network net(1);
  Sink sink;
  PeriodicSender sender(net, kA, Addr{kB, kPort}, 0, 0, 3, 100);  // three at once
  net.add_host(kB, &sink, {}, LinkParams{.delay_ns = 5 * kMs});
  net.add_host(kC, nullptr, LinkParams{.delay_ns = 2 * kMs});
  send_n(net, kC, Addr{kC, kPort}, 1, 10);  // moves the clock to 2 ms
  run_to_idle(net);
  ASSERT_EQ(net.now(), 2 * kMs);
  net.add_host(kA, &sender);  // deadline 0 < now
  run_to_idle(net);
  EXPECT_EQ(sender.send_times, (std::vector<TimeNs>{2 * kMs, 2 * kMs, 2 * kMs}));
  ASSERT_EQ(sink.arrivals.size(), 3u);
  EXPECT_EQ(sink.arrivals[2].at, 7 * kMs);
}

TEST(SimNet, StatsBalanceAfterAnImpairedRun) {
  const std::uint64_t seed = sim_seed(31);
  SCOPED_TRACE(seed_note(seed));
  Network net(seed);
  PeriodicSender sender(net, kA, Addr{kGroup, kPort}, 0, 50 * kUs, 2000, 1000);
  net.add_host(kA, &sender,
               LinkParams{.rate_bps = 100'000'000, .loss = 0.01, .duplicate = 0.01, .mtu = 1400});
  std::vector<Counter> sinks(10);
  for (std::uint8_t i = 0; i < 10; ++i) {
    const HostId h = net.add_host(ipv4(10, 2, 0, i), &sinks[i], {},
                                  LinkParams{.rate_bps = 50'000'000,
                                             .queue_limit_bytes = 30'000,
                                             .loss = 0.02,
                                             .burst = {.p_good_to_bad = 0.01, .p_bad_to_good = 0.2},
                                             .drop_list = {5, 6},
                                             .reorder = 0.05,
                                             .reorder_delay_ns = 300 * kUs,
                                             .duplicate = 0.03,
                                             .corrupt = 0.02});
    net.join(h, kGroup);
  }
  run_to_idle(net);
  std::uint64_t counted = 0;
  for (HostId h = 0; h < net.host_count(); ++h) {
    for (const LinkStats* s : {&net.uplink_stats(h), &net.downlink_stats(h)}) {
      EXPECT_EQ(s->offered_packets, s->delivered_packets + s->dropped_total() - s->duplicated);
    }
    if (h > 0) {
      counted += sinks[h - 1].count;
      EXPECT_EQ(net.downlink_stats(h).delivered_packets, sinks[h - 1].count);
      EXPECT_EQ(net.downlink_stats(h).dropped_drop_list, 2u);
      EXPECT_GT(net.downlink_stats(h).dropped_queue, 0u);  // 100 Mbit/s into 50 Mbit/s
    }
  }
  const LinkStats total = net.total_stats();
  EXPECT_EQ(total.delivered_packets, counted + net.uplink_stats(0).delivered_packets);
  EXPECT_GT(total.dropped_loss, 0u);
  EXPECT_GT(total.dropped_burst, 0u);
  EXPECT_GT(total.duplicated, 0u);
  EXPECT_GT(total.corrupted, 0u);
  EXPECT_GT(total.reordered, 0u);
}

// ---------------------------------------------------------------------------------------------
// Scale

TEST(SimNet, ThousandHostsThousandMulticastPackets) {
  Network net(sim_seed(41));
  PeriodicSender sender(net, ipv4(10, 0, 0, 1), Addr{kGroup, kPort}, 0, 10 * kUs, 1000, 1000);
  net.add_host(ipv4(10, 0, 0, 1), &sender,
               LinkParams{.delay_ns = 1 * kMs, .rate_bps = 1'000'000'000});
  constexpr std::size_t kHosts = 1000;
  std::vector<Counter> sinks(kHosts);
  for (std::size_t i = 0; i < kHosts; ++i) {
    const auto ip = ipv4(10, 3, static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i));
    const HostId h = net.add_host(ip, &sinks[i], {},
                                  LinkParams{.delay_ns = static_cast<DurationNs>(i % 50) * kUs});
    net.join(h, kGroup);
  }
  const RunResult r = run_to_idle(net);
  EXPECT_EQ(r.reason, StopReason::kIdle);
  for (std::size_t i = 0; i < kHosts; ++i) ASSERT_EQ(sinks[i].count, 1000u) << "host " << i;
  EXPECT_EQ(net.uplink_stats(0).delivered_packets, 1000u);
  EXPECT_EQ(net.total_stats().delivered_packets, 1000u + 1000u * kHosts);
  EXPECT_EQ(r.events, 1000u + 1000u + 1000u * kHosts);
}

// ---------------------------------------------------------------------------------------------
// Misuse, PRNG, seeds

TEST(SimNet, MisuseThrows) {
  Network net(1);
  net.add_host(kA, nullptr);
  EXPECT_THROW(net.add_host(kA, nullptr), std::invalid_argument);
  EXPECT_THROW(net.add_host(kGroup, nullptr), std::invalid_argument);
  EXPECT_THROW(net.add_host(kB, nullptr, LinkParams{.loss = 1.5}), std::invalid_argument);
  EXPECT_THROW(net.add_host(kB, nullptr, LinkParams{.delay_ns = -1}), std::invalid_argument);
  EXPECT_THROW(net.send(kA, Datagram{{kA, 1}, {kA, 1}, {1}}, 5), std::invalid_argument);
  EXPECT_THROW(net.send(kC, Datagram{{kC, 1}, {kA, 1}, {1}}, 0), std::invalid_argument);
  EXPECT_THROW(net.join(0, kB), std::invalid_argument);
  EXPECT_THROW((void)net.host_of(kC), std::out_of_range);
  EXPECT_THROW((void)net.uplink_stats(7), std::out_of_range);
}

TEST(SimNet, PrngMatchesReferenceVectors) {
  std::uint64_t sm = 0;
  EXPECT_EQ(splitmix64(sm), 0xe220a8397b1dcdafULL);
  Prng x(std::array<std::uint64_t, 4>{1, 2, 3, 4});
  EXPECT_EQ(x.next(), 11520u);
  EXPECT_EQ(x.next(), 0u);
  EXPECT_EQ(x.next(), 1509978240u);
  EXPECT_EQ(x.next(), 1215971899390074240u);
  Prng u(99);
  for (int i = 0; i < 1000; ++i) {
    const double d = u.uniform();
    ASSERT_GE(d, 0.0);
    ASSERT_LT(d, 1.0);
    ASSERT_LT(u.below(10), 10u);
  }
}

class EnvGuard {
 public:
  EnvGuard() {
    const char* v = std::getenv("VOLLEY_SIM_SEED");
    if (v != nullptr) saved_ = v;
  }
  ~EnvGuard() {
    if (saved_) {
      setenv("VOLLEY_SIM_SEED", saved_->c_str(), 1);
    } else {
      unsetenv("VOLLEY_SIM_SEED");
    }
  }
  EnvGuard(const EnvGuard&) = delete;
  EnvGuard& operator=(const EnvGuard&) = delete;

 private:
  std::optional<std::string> saved_;
};

TEST(SimNet, SeedReplayHelpers) {
  EnvGuard guard;
  unsetenv("VOLLEY_SIM_SEED");
  EXPECT_EQ(sim_seed(77), 77u);
  setenv("VOLLEY_SIM_SEED", "1234", 1);
  EXPECT_EQ(sim_seed(77), 1234u);
  setenv("VOLLEY_SIM_SEED", "0x10", 1);
  EXPECT_EQ(sim_seed(77), 16u);
  setenv("VOLLEY_SIM_SEED", "12ab", 1);
  EXPECT_THROW((void)sim_seed(77), std::invalid_argument);
  EXPECT_EQ(seed_note(1234), "seed=1234 (replay: VOLLEY_SIM_SEED=1234)");
}

TEST(SimNet, AddrHelpers) {
  EXPECT_EQ(ipv4(10, 0, 0, 1), 0x0a000001u);
  EXPECT_TRUE(is_multicast(ipv4(224, 0, 0, 1)));
  EXPECT_TRUE(is_multicast(ipv4(239, 255, 255, 255)));
  EXPECT_FALSE(is_multicast(ipv4(223, 255, 255, 255)));
  EXPECT_FALSE(is_multicast(ipv4(240, 0, 0, 0)));
  EXPECT_EQ(to_string(Addr{ipv4(192, 168, 1, 20), 1044}), "192.168.1.20:1044");
  EXPECT_NE(AddrHash{}(Addr{kA, 1}), AddrHash{}(Addr{kA, 2}));
  EXPECT_EQ(std::string(to_string(StopReason::kMaxEvents)), "max-events");
}

}  // namespace
}  // namespace volley::sim
