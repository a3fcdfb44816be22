// Encrypted sessions in the simulator with the real UFTP 4 key exchange (ECDH P-256, ECDSA,
// AES-256-GCM) on both ends: delivery under loss, tampering on the wire, and the receiver's
// trust rules (pinned sender key, server list).
#include <gtest/gtest.h>

#include <memory>
#include <unordered_map>
#include <vector>

#include "crypto/keys.hpp"
#include "crypto/random.hpp"
#include "tests/sim/session_nodes.hpp"

namespace volley::sim {
namespace {

constexpr std::int64_t kWallEpochUs = 1'700'000'000'000'000;
constexpr std::uint32_t kPub = ipv4(230, 4, 4, 1);
constexpr std::uint32_t kPriv = ipv4(230, 5, 5, 9);
constexpr std::uint32_t kSenderIp = ipv4(10, 99, 0, 1);
constexpr std::uint32_t kServerId = 0x0a630001;
constexpr std::uint32_t kGroupId = 0x77777777;

std::vector<std::uint8_t> pattern(std::size_t n, unsigned seed) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>((i * 131 + seed) ^ (i >> 9));
  return v;
}

// Every case runs with protocol 4's key exchange (what stock uftp 4.10.2 speaks) and 5's.
class Encryption : public ::testing::TestWithParam<wire::Version> {};
INSTANTIATE_TEST_SUITE_P(Protocols, Encryption,
                         ::testing::Values(wire::Version::v4, wire::Version::v5),
                         [](const auto& param) {
                           return param.param == wire::Version::v4 ? "v4" : "v5";
                         });

std::shared_ptr<const crypto::PrivateKey> ec_key() {
  auto k = crypto::PrivateKey::generate_ec(crypto::Curve::secp256r1);
  EXPECT_TRUE(k);
  return std::make_shared<crypto::PrivateKey>(std::move(*k));
}

struct Bed {
  explicit Bed(std::uint64_t seed, LinkParams down, std::vector<session::ReceiverConfig> rcs = {},
               wire::Version v = wire::Version::v4)
      : net(sim_seed(seed)), signing(ec_key()), version(v) {
    if (rcs.empty()) rcs.resize(3);
    for (std::size_t r = 0; r < rcs.size(); ++r) {
      rcs[r].client_id = static_cast<std::uint32_t>(0x0a630100 + r);
      rcs[r].wall_offset_us = kWallEpochUs;
      const std::uint32_t ip = ipv4(10, 99, 1, static_cast<std::uint8_t>(1 + r));
      rx.push_back(std::make_unique<ReceiverNode>(net, ip, kPub, rcs[r]));
      LinkParams up{.delay_ns = kMs, .rate_bps = 1'000'000'000ULL};
      rx.back()->attach(net.add_host(ip, rx.back().get(), up, down));
    }
  }

  // Runs one encrypted session of `files`; true when it finished in time.
  bool send(const std::vector<std::vector<std::uint8_t>>& files) {
    auto src = std::make_shared<io::MemFileSource>();
    for (std::size_t i = 0; i < files.size(); ++i) {
      src->add({.name = "f" + std::to_string(i) + ".bin", .mtime_s = 1'650'000'000}, files[i]);
    }
    session::ServerKeyexConfig kx;
    kx.version = version;
    kx.signing_key = signing;
    kx.ecdh_key = ec_key();
    crypto::random_bytes(kx.rand1);
    crypto::random_bytes(kx.group_master);
    if (version == wire::Version::v4) kx.group_master[0] = crypto::uftp4::kMasterVersion;
    kx.client_auth = client_auth;
    kx.client_fingerprints = client_fingerprints;
    auto hs = session::ServerHandshake::create(kx, kServerId, kGroupId, 0, to_ip(kPriv));
    EXPECT_TRUE(hs);
    session::SenderConfig cfg;
    cfg.version = version;
    cfg.server_id = kServerId;
    cfg.group_id = kGroupId;
    cfg.wall_offset_us = kWallEpochUs;
    cfg.grtt_init_ns = 200 * kMs;
    cfg.handshake = std::move(*hs);
    cfg.closed_group = closed;
    sender = std::make_unique<SenderNode>(net, kSenderIp, kPub, kPriv, cfg, src, 12'500'000);
    LinkParams fast{.rate_bps = 10'000'000'000ULL};
    sender->attach(net.add_host(kSenderIp, sender.get(), fast, fast));
    sender->start(net.now());
    auto res = net.run_until([&] { return sender->session().finished(); }, net.now() + 120 * kSec,
                             50'000'000);
    (void)net.run_until([] { return false; }, net.now() + 30 * kSec, 50'000'000);
    return res.reason == StopReason::kDone;
  }

  Network net;
  std::shared_ptr<const crypto::PrivateKey> signing;
  wire::Version version;
  std::vector<std::uint32_t> closed;  // the sender's client list (empty: open group)
  bool client_auth = false;           // receivers must prove a key (CLIENT_KEY)
  std::unordered_map<std::uint32_t, std::vector<std::uint8_t>> client_fingerprints;
  std::vector<std::unique_ptr<ReceiverNode>> rx;
  std::unique_ptr<SenderNode> sender;
};

TEST_P(Encryption, KeyExchangeThenEncryptedDeliveryUnderLoss) {
  Bed run(51, {.delay_ns = kMs, .rate_bps = 1'000'000'000ULL, .loss = 0.05}, {}, GetParam());
  const std::vector<std::vector<std::uint8_t>> files = {pattern(300'000, 1), pattern(1, 2),
                                                        pattern(0, 3)};
  ASSERT_TRUE(run.send(files)) << seed_note(run.net.seed());
  EXPECT_TRUE(run.sender->session().all_succeeded()) << seed_note(run.net.seed());
  for (auto& r : run.rx) {
    for (std::size_t i = 0; i < files.size(); ++i) {
      const auto* e = r->store().find("f" + std::to_string(i) + ".bin");
      ASSERT_NE(e, nullptr);
      EXPECT_TRUE(e->bytes == files[i]);
    }
    bool encrypted = false;
    for (const auto& ev : r->events()) {
      encrypted |= ev.kind == session::ReceiverEvent::Kind::session_started &&
                   ev.text.find(run.signing->public_key().fingerprint()) != std::string::npos;
    }
    EXPECT_TRUE(encrypted) << "the session did not start as encrypted with the sender's key";
    EXPECT_EQ(r->pipeline().stats().plaintext_in_encrypted, 0u);
    EXPECT_GT(r->pipeline().block_stats().placed, 0u);
  }
}

TEST_P(Encryption, FlippedBitsAreDroppedAndRepaired) {
  // 3% of packets to each receiver get one bit flipped: the tag check drops them (counted)
  // and NAK repair still delivers every byte.
  Bed run(52, {.delay_ns = kMs, .rate_bps = 1'000'000'000ULL, .corrupt = 0.03}, {}, GetParam());
  const std::vector<std::vector<std::uint8_t>> files = {pattern(400'000, 7)};
  ASSERT_TRUE(run.send(files)) << seed_note(run.net.seed());
  EXPECT_TRUE(run.sender->session().all_succeeded());
  std::uint64_t rejected = 0;
  for (auto& r : run.rx) {
    const auto* e = r->store().find("f0.bin");
    std::string trace;
    for (const auto& ev : r->events()) trace += std::to_string(int(ev.kind)) + ":" + ev.text + "; ";
    ASSERT_NE(e, nullptr) << trace << seed_note(run.net.seed());
    EXPECT_TRUE(e->bytes == files[0]);
    rejected += r->pipeline().stats().auth_failed + r->pipeline().stats().bad_header +
                r->control().stats().dropped;
  }
  EXPECT_GT(rejected, 0u) << "no corrupted packet was caught";
}

TEST_P(Encryption, DuplicatedHandshakeAndDataChangeNothing) {
  // Every packet may arrive twice (KEYINFO and FILESEG replays included).
  Bed run(53, {.delay_ns = kMs, .rate_bps = 1'000'000'000ULL, .duplicate = 0.3}, {}, GetParam());
  const std::vector<std::vector<std::uint8_t>> files = {pattern(200'000, 9)};
  ASSERT_TRUE(run.send(files));
  EXPECT_TRUE(run.sender->session().all_succeeded());
  for (auto& r : run.rx) {
    const auto* e = r->store().find("f0.bin");
    ASSERT_NE(e, nullptr);
    EXPECT_TRUE(e->bytes == files[0]);
    EXPECT_EQ(r->sessions_finished(true), 1);
  }
}

TEST_P(Encryption, ReceiverRefusesASenderWhoseKeyIsNotThePinnedOne) {
  auto other = ec_key();
  auto fp = crypto::fingerprint(other->public_key().blob());
  ASSERT_TRUE(fp);
  std::vector<session::ReceiverConfig> rcs(2);
  rcs[0].server_keys[kServerId].assign(fp->view().begin(), fp->view().end());  // wrong key
  Bed run(54, {.delay_ns = kMs, .rate_bps = 1'000'000'000ULL}, rcs, GetParam());
  // Receiver 1 pins the right key.
  const std::vector<std::vector<std::uint8_t>> files = {pattern(50'000, 4)};
  ASSERT_TRUE(run.send(files));
  EXPECT_EQ(run.rx[0]->store().find("f0.bin"), nullptr);
  ASSERT_FALSE(run.rx[0]->events().empty());
  const auto& refused = run.rx[0]->events().front();
  EXPECT_EQ(refused.kind, session::ReceiverEvent::Kind::session_refused);
  // The log line names the sender's ID and both fingerprints.
  EXPECT_NE(refused.text.find("0x0a630001"), std::string::npos) << refused.text;
  EXPECT_NE(refused.text.find(run.signing->public_key().fingerprint()), std::string::npos);
  EXPECT_NE(refused.text.find(other->public_key().fingerprint()), std::string::npos);
  ASSERT_NE(run.rx[1]->store().find("f0.bin"), nullptr);
  const auto& cl = run.sender->session().clients();
  ASSERT_EQ(cl.size(), 1u);
  EXPECT_EQ(cl[0].id, 0x0a630101u);
}

TEST_P(Encryption, ReceiverIgnoresASenderNotOnItsServerList) {
  std::vector<session::ReceiverConfig> rcs(1);
  rcs[0].server_keys[0x0a63ffff] = {1, 2, 3};  // some other server
  Bed run(55, {.delay_ns = kMs, .rate_bps = 1'000'000'000ULL}, rcs, GetParam());
  ASSERT_TRUE(run.send({pattern(10'000, 5)}));
  EXPECT_TRUE(run.sender->session().clients().empty());
  EXPECT_EQ(run.rx[0]->store().find("f0.bin"), nullptr);
  ASSERT_FALSE(run.rx[0]->events().empty());
  EXPECT_EQ(run.rx[0]->events().front().kind, session::ReceiverEvent::Kind::session_refused);
  EXPECT_NE(run.rx[0]->events().front().text.find("not on the server list"), std::string::npos);
}

TEST_P(Encryption, ReceiverNotOnTheSendersClientListIsRefused) {
  Bed run(56, {.delay_ns = kMs, .rate_bps = 1'000'000'000ULL},
          std::vector<session::ReceiverConfig>(2), GetParam());
  run.closed = {0x0a630100};  // only the first receiver
  const std::vector<std::vector<std::uint8_t>> files = {pattern(60'000, 6)};
  ASSERT_TRUE(run.send(files));
  EXPECT_TRUE(run.sender->session().all_succeeded());
  ASSERT_NE(run.rx[0]->store().find("f0.bin"), nullptr);
  EXPECT_TRUE(run.rx[0]->store().find("f0.bin")->bytes == files[0]);
  EXPECT_EQ(run.rx[1]->store().find("f0.bin"), nullptr);
  ASSERT_EQ(run.sender->session().clients().size(), 1u);
  EXPECT_EQ(run.sender->session().clients()[0].id, 0x0a630100u);
  // The outsider is not among the IDs the closed group's ANNOUNCE invites: it never joins.
  for (const auto& e : run.rx[1]->events()) {
    EXPECT_NE(e.kind, session::ReceiverEvent::Kind::session_started);
  }
  EXPECT_GT(run.rx[1]->control().stats().dropped, 0u);
  EXPECT_EQ(run.rx[1]->sessions_finished(true), 0);
}

TEST_P(Encryption, ClientAuthenticationAdmitsOnlyListedKeys) {
  auto k0 = ec_key(), k1 = ec_key(), listed_for_1 = ec_key();
  std::vector<session::ReceiverConfig> rcs(3);
  rcs[0].key = k0;
  rcs[1].key = k1;  // rx1 proves a key, but not the one the list names
  // rx2 has no key at all
  Bed run(57, {.delay_ns = kMs, .rate_bps = 1'000'000'000ULL, .loss = 0.02}, rcs, GetParam());
  auto fp = [](const crypto::PrivateKey& k) {
    auto d = crypto::fingerprint(k.public_key().blob());
    return std::vector<std::uint8_t>(d->view().begin(), d->view().end());
  };
  run.client_auth = true;
  run.client_fingerprints = {{0x0a630100, fp(*k0)}, {0x0a630101, fp(*listed_for_1)}};
  const std::vector<std::vector<std::uint8_t>> files = {pattern(80'000, 8)};
  ASSERT_TRUE(run.send(files)) << seed_note(run.net.seed());
  ASSERT_NE(run.rx[0]->store().find("f0.bin"), nullptr) << seed_note(run.net.seed());
  EXPECT_TRUE(run.rx[0]->store().find("f0.bin")->bytes == files[0]);
  EXPECT_EQ(run.rx[1]->store().find("f0.bin"), nullptr);
  EXPECT_EQ(run.rx[2]->store().find("f0.bin"), nullptr);
  const auto& cl = run.sender->session().clients();
  ASSERT_EQ(cl.size(), 1u);
  EXPECT_EQ(cl[0].id, 0x0a630100u);
  // The sender said why it refused rx1, naming both keys.
  bool named = false;
  for (const auto& e : run.sender->events()) {
    named |= e.client == 0x0a630101 &&
             e.text.find(k1->public_key().fingerprint()) != std::string::npos &&
             e.text.find(listed_for_1->public_key().fingerprint()) != std::string::npos;
  }
  EXPECT_TRUE(named);
  // rx2 could not take part and said so.
  ASSERT_FALSE(run.rx[2]->events().empty());
  EXPECT_EQ(run.rx[2]->events().front().kind, session::ReceiverEvent::Kind::session_refused);
  EXPECT_NE(run.rx[2]->events().front().text.find("--key"), std::string::npos);
}

}  // namespace
}  // namespace volley::sim
