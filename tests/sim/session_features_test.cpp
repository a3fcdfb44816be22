// Session features that need more than one table row: eviction (max passes, NAK percentage,
// quit-on-error) and restart of a partial file in a later session.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "tests/sim/session_nodes.hpp"

namespace volley::sim {
namespace {

constexpr std::int64_t kWallEpochUs = 1'700'000'000'000'000;
constexpr std::uint32_t kPub = ipv4(230, 4, 4, 1);
constexpr std::uint32_t kPriv = ipv4(230, 5, 5, 1);
constexpr std::uint32_t kSenderIp = ipv4(10, 99, 0, 1);

std::vector<std::uint8_t> pattern(std::size_t n) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>((i * 131) ^ (i >> 9));
  return v;
}

// One network with persistent receivers; sessions run one after another over it, each with a
// new SenderNode behind the same sender host.
struct Bed : Node {
  void on_datagram(const Addr& a, const Addr& b, std::span<const std::uint8_t> p,
                   TimeNs now) override {
    active->on_datagram(a, b, p, now);
  }
  [[nodiscard]] TimeNs next_deadline() const override {
    return active != nullptr ? active->next_deadline() : kNever;
  }
  void on_deadline(TimeNs now) override { active->on_deadline(now); }

  explicit Bed(std::uint64_t seed, std::vector<double> downlink_loss) : net(sim_seed(seed)) {
    for (std::size_t r = 0; r < downlink_loss.size(); ++r) {
      session::ReceiverConfig rc;
      rc.client_id = static_cast<std::uint32_t>(100 + r);
      rc.wall_offset_us = kWallEpochUs;
      const std::uint32_t ip = ipv4(10, 99, 1, static_cast<std::uint8_t>(1 + r));
      rx.push_back(std::make_unique<ReceiverNode>(net, ip, kPub, rc));
      LinkParams down{.delay_ns = kMs, .rate_bps = 1'000'000'000ULL, .loss = downlink_loss[r]};
      LinkParams up{.delay_ns = kMs, .rate_bps = 1'000'000'000ULL};
      rx.back()->attach(net.add_host(ip, rx.back().get(), up, down));
    }
  }
  // Runs one whole session; returns the sender node (kept alive in `senders`).
  SenderNode& run(session::SenderConfig cfg, std::shared_ptr<io::MemFileSource> src) {
    cfg.server_id = 0x0a630001;
    cfg.wall_offset_us = kWallEpochUs;
    cfg.grtt_init_ns = 200 * kMs;
    senders.push_back(
        std::make_unique<SenderNode>(net, kSenderIp, kPub, kPriv, cfg, src, 12'500'000));
    auto& s = *senders.back();
    if (senders.size() == 1) {
      LinkParams fast{.rate_bps = 10'000'000'000ULL};
      sender_host = net.add_host(kSenderIp, this, fast, fast);
    }
    s.attach(sender_host);
    s.start(net.now());
    active = &s;
    net.refresh_timer(sender_host);
    auto res =
        net.run_until([&] { return s.session().finished(); }, net.now() + 120 * kSec, 50'000'000);
    EXPECT_TRUE(s.session().finished()) << to_string(res.reason);
    (void)net.run_until([] { return false; }, net.now() + 30 * kSec,
                        50'000'000);  // receivers settle
    return s;
  }
  Network net;
  std::vector<std::unique_ptr<ReceiverNode>> rx;
  std::vector<std::unique_ptr<SenderNode>> senders;
  SenderNode* active = nullptr;
  HostId sender_host = 0;
};

// The sender host is rebound per session: a forwarding node delivers to the active sender.
TEST(SessionFeatures, MaxPassesEvictsThenRestartResumesOnlyMissingBlocks) {
  Bed bed(41, {0.3, 0.3});
  auto src = std::make_shared<io::MemFileSource>();
  const auto content = pattern(400'000);  // 308 blocks of 1300
  src->add({.name = "big.bin", .mtime_s = 1'650'000'000}, content);

  session::SenderConfig first;
  first.group_id = 0x11111111;
  first.max_passes = 1;  // one pass at 30% loss cannot finish: receivers are aborted
  auto& s1 = bed.run(first, src);
  for (const auto& c : s1.session().clients()) {
    EXPECT_EQ(c.state, session::ClientState::aborted);
    EXPECT_EQ(c.reason, "maximum passes reached");
    EXPECT_EQ(c.files[0], session::FileOutcome::failed);
  }
  for (auto& r : bed.rx) {
    EXPECT_EQ(r->store().find("big.bin"), nullptr);  // nothing at the final name
    EXPECT_EQ(r->store().temp_count(), 1u);          // the partial is kept for a restart
    EXPECT_EQ(r->sessions_finished(false), 1);
  }

  for (std::uint8_t r = 0; r < 2; ++r) {  // the loss clears up for the second session
    bed.net.set_downlink_params(bed.net.host_of(ipv4(10, 99, 1, static_cast<std::uint8_t>(1 + r))),
                                {.delay_ns = kMs, .rate_bps = 1'000'000'000ULL});
  }
  session::SenderConfig second;
  second.group_id = 0x22222222;
  auto& s2 = bed.run(second, src);
  EXPECT_TRUE(s2.session().all_succeeded());
  // Every receiver resumed (FLAG_PARTIAL), so there was no full first pass: only the NAKed
  // blocks went out, about 30% of the file.
  EXPECT_LT(s2.worker().packets_sent(), 308u * 6 / 10);
  EXPECT_GT(s2.worker().packets_sent(), 0u);
  for (auto& r : bed.rx) {
    const auto* e = r->store().find("big.bin");
    ASSERT_NE(e, nullptr);
    EXPECT_TRUE(e->bytes == content);
    EXPECT_EQ(r->store().temp_count(), 0u);
  }
}

TEST(SessionFeatures, NakPercentageEvictsOnlyTheLossyReceiver) {
  Bed bed(42, {0.0, 0.5, 0.0});
  auto src = std::make_shared<io::MemFileSource>();
  src->add({.name = "f.bin"}, pattern(300'000));
  session::SenderConfig cfg;
  cfg.group_id = 0x33333333;
  cfg.max_nak_pct = 20;
  cfg.max_nak_count = 2;
  auto& s = bed.run(cfg, src);
  const auto& cl = s.session().clients();
  ASSERT_EQ(cl.size(), 3u);
  for (const auto& c : cl) {
    if (c.id == 101) {
      EXPECT_EQ(c.state, session::ClientState::aborted);
      EXPECT_EQ(c.reason, "Too many NAKs");
      EXPECT_GE(c.nak_events, 2u);
    } else {
      EXPECT_EQ(c.state, session::ClientState::done) << c.reason;
      EXPECT_EQ(c.files[0], session::FileOutcome::copied);
    }
  }
  EXPECT_FALSE(s.session().all_succeeded());
  EXPECT_EQ(bed.rx[1]->sessions_finished(false), 1);  // the evicted receiver heard its ABORT
  EXPECT_EQ(bed.rx[1]->store().find("f.bin"), nullptr);
}

TEST(SessionFeatures, QuitOnErrorAbortsEveryone) {
  Bed bed(43, {0.0, 0.5, 0.0});
  auto src = std::make_shared<io::MemFileSource>();
  src->add({.name = "f.bin"}, pattern(300'000));
  src->add({.name = "g.bin"}, pattern(100'000));
  session::SenderConfig cfg;
  cfg.group_id = 0x44444444;
  cfg.max_nak_pct = 20;
  cfg.quit_on_error = true;
  auto& s = bed.run(cfg, src);
  for (const auto& c : s.session().clients()) EXPECT_EQ(c.state, session::ClientState::aborted);
  // The first file had already reached the clean receivers when the sender quit; the second
  // was never started anywhere.
  for (auto& r : bed.rx) {
    EXPECT_EQ(r->sessions_finished(false), 1);
    EXPECT_EQ(r->store().find("g.bin"), nullptr);
  }
  EXPECT_NE(bed.rx[0]->store().find("f.bin"), nullptr);
  EXPECT_EQ(bed.rx[1]->store().find("f.bin"), nullptr);
}

// Two head-ends run sessions to the same three receivers at once, both ways lossy: each
// receiver keeps the sessions apart (own groups, own timers) and both deliver everything.
TEST(SessionFeatures, ConcurrentSessionsShareReceivers) {
  Network net(sim_seed(44));
  std::vector<std::unique_ptr<ReceiverNode>> rx;
  for (std::uint8_t r = 0; r < 3; ++r) {
    session::ReceiverConfig rc;
    rc.client_id = 200u + r;
    rc.wall_offset_us = kWallEpochUs;
    const std::uint32_t ip = ipv4(10, 99, 1, static_cast<std::uint8_t>(1 + r));
    rx.push_back(std::make_unique<ReceiverNode>(net, ip, kPub, rc));
    LinkParams lossy{.delay_ns = kMs, .rate_bps = 1'000'000'000ULL, .loss = 0.05};
    rx.back()->attach(net.add_host(ip, rx.back().get(), lossy, lossy));
  }
  struct Head {
    std::uint32_t ip, priv, group;
    std::vector<std::uint8_t> content;
    std::string name;
  };
  const Head heads[2] = {
      {kSenderIp, kPriv, 0x55555555, pattern(250'000), "a.bin"},
      {ipv4(10, 99, 0, 2), ipv4(230, 5, 5, 2), 0x66666666, pattern(180'000), "b.bin"}};
  std::vector<std::unique_ptr<SenderNode>> senders;
  for (const auto& h : heads) {
    auto src = std::make_shared<io::MemFileSource>();
    src->add({.name = h.name}, h.content);
    session::SenderConfig cfg;
    cfg.server_id = h.ip;
    cfg.group_id = h.group;
    cfg.wall_offset_us = kWallEpochUs;
    cfg.grtt_init_ns = 200 * kMs;
    senders.push_back(std::make_unique<SenderNode>(net, h.ip, kPub, h.priv, cfg, src, 6'000'000));
    LinkParams fast{.rate_bps = 10'000'000'000ULL};
    senders.back()->attach(net.add_host(h.ip, senders.back().get(), fast, fast));
    senders.back()->start(net.now());
  }
  auto res = net.run_until(
      [&] { return senders[0]->session().finished() && senders[1]->session().finished(); },
      net.now() + 120 * kSec, 50'000'000);
  ASSERT_TRUE(senders[0]->session().finished() && senders[1]->session().finished())
      << to_string(res.reason) << seed_note(net.seed());
  (void)net.run_until([] { return false; }, net.now() + 30 * kSec, 50'000'000);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_TRUE(senders[i]->session().all_succeeded()) << "sender " << i << seed_note(net.seed());
    for (auto& r : rx) {
      const auto* e = r->store().find(heads[i].name);
      ASSERT_NE(e, nullptr) << heads[i].name << seed_note(net.seed());
      EXPECT_TRUE(e->bytes == heads[i].content);
    }
  }
  for (auto& r : rx) {
    EXPECT_EQ(r->sessions_finished(true), 2) << seed_note(net.seed());
    EXPECT_EQ(r->control().active_sessions(), 0u);
  }
}

}  // namespace
}  // namespace volley::sim
