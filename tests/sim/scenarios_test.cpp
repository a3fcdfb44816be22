// Whole sessions in the deterministic simulator: one sender, N receivers, real state machines,
// real pipelines and rings, seeded impairments. Every scenario asserts byte-exact delivery (or
// the exact expected failure), completion within a simulated-time bound, repair traffic within a
// bound, and each receiver's outcome as the sender reports it. Failures print the seed; replay
// one with VOLLEY_SIM_SEED=<seed>.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "tests/sim/session_nodes.hpp"

namespace volley::sim {
namespace {

using session::FileOutcome;
using wire::FileType;

// Wire timestamps are wall-clock microseconds; the simulation starts in November 2023.
constexpr std::int64_t kWallEpochUs = 1'700'000'000'000'000;

struct FileSpec {
  std::string name;
  std::uint64_t size = 0;
  FileType type = FileType::regular;
  std::string link;
  FileOutcome expect = FileOutcome::copied;  // what every live receiver should report
  std::int64_t mtime_s = 1'700'000'000;
};

// A file every receiver holds before the session (for sync mode and overwrite).
struct Preload {
  std::string name;
  std::uint64_t size = 0;
  std::int64_t mtime_s = 0;
};

struct Scenario {
  std::string name;
  int receivers = 3;
  std::vector<FileSpec> files;
  double loss = 0;         // independent loss on every receiver downlink
  GilbertElliott burst{};  // burst loss on every receiver downlink
  double up_loss = 0;      // loss on every receiver uplink (responses)
  double reorder = 0;
  DurationNs reorder_delay_ns = 0;
  double duplicate = 0;
  double corrupt = 0;
  DurationNs one_way_ns = 1 * kMs;      // receiver downlink delay (uplink the same)
  std::uint64_t rate_Bps = 12'500'000;  // sender data rate, bytes/s (100 Mbit/s)
  std::uint16_t blocksize = 1300;
  std::uint8_t robust = 20;
  bool closed = false;
  std::vector<std::uint32_t> extra_members;  // closed-group IDs that do not exist
  bool encrypted = false;
  bool sync = false;
  std::vector<Preload> preload;
  int kill_receiver = -1;  // index of a receiver that dies ...
  double kill_at_s = 0;    // ... at this simulated time
  std::uint32_t max_passes = 65535;
  double time_bound_s = 30;   // simulated seconds to finish
  double repair_bound = 1.0;  // repair blocks / total blocks at most
  std::uint64_t seed = 1;
};

std::vector<std::uint8_t> make_bytes(std::uint64_t size, std::uint64_t seed) {
  std::vector<std::uint8_t> v(size);
  std::uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
  for (auto& b : v) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    b = static_cast<std::uint8_t>(x);
  }
  return v;
}

std::vector<FileSpec> files(std::initializer_list<std::uint64_t> sizes) {
  std::vector<FileSpec> out;
  int i = 0;
  for (auto s : sizes) out.push_back({"f" + std::to_string(i++) + ".bin", s});
  return out;
}

std::ostream& operator<<(std::ostream& os, const Scenario& s) {
  return os << s.name;
}

class SimScenario : public ::testing::TestWithParam<Scenario> {};

TEST_P(SimScenario, DeliversAsExpected) {
  const Scenario& sc = GetParam();
  const std::uint64_t seed = sim_seed(sc.seed);
  SCOPED_TRACE(seed_note(seed));
  Network net(seed);
  const std::uint32_t pub = ipv4(230, 4, 4, 1), priv = ipv4(230, 5, 5, 1);
  const std::uint32_t sender_ip = ipv4(10, 99, 0, 1);

  crypto::NullAead aead(0x5eed);
  auto src = std::make_shared<io::MemFileSource>();
  std::uint64_t total_blocks = 0;
  for (std::size_t i = 0; i < sc.files.size(); ++i) {
    const auto& f = sc.files[i];
    proto::SendEntry e{.name = f.name,
                       .type = f.type,
                       .size = f.size,
                       .mtime_s = f.mtime_s,
                       .link_target = f.link};
    src->add(e, f.type == FileType::regular ? make_bytes(f.size, seed + i)
                                            : std::vector<std::uint8_t>{});
    if (f.type == FileType::regular) total_blocks += (f.size + sc.blocksize - 1) / sc.blocksize;
  }

  session::SenderConfig cfg;
  cfg.server_id = 0x0a630001;
  cfg.group_id = 0x1234abcd;
  cfg.blocksize = sc.blocksize;
  cfg.robust = sc.robust;
  cfg.max_passes = sc.max_passes;
  cfg.sync = sc.sync;
  cfg.grtt_init_ns = 200 * kMs;
  cfg.aead = sc.encrypted ? &aead : nullptr;
  cfg.wall_offset_us = kWallEpochUs;
  if (sc.closed) {
    for (int r = 0; r < sc.receivers; ++r)
      cfg.closed_group.push_back(static_cast<std::uint32_t>(100 + r));
    for (auto id : sc.extra_members) cfg.closed_group.push_back(id);
  }
  SenderNode sender(net, sender_ip, pub, priv, cfg, src, sc.rate_Bps);
  LinkParams fast{.delay_ns = 0, .rate_bps = 10'000'000'000ULL};
  sender.attach(net.add_host(sender_ip, &sender, fast, fast));

  std::vector<std::unique_ptr<ReceiverNode>> rx;
  for (int r = 0; r < sc.receivers; ++r) {
    session::ReceiverConfig rc;
    rc.client_id = static_cast<std::uint32_t>(100 + r);
    rc.aead = sc.encrypted ? &aead : nullptr;
    rc.wall_offset_us = kWallEpochUs;
    const std::uint32_t ip = ipv4(10, 99, static_cast<std::uint8_t>(1 + r / 250),
                                  static_cast<std::uint8_t>(1 + r % 250));
    rx.push_back(std::make_unique<ReceiverNode>(net, ip, pub, rc));
    LinkParams down{.delay_ns = sc.one_way_ns,
                    .rate_bps = 1'000'000'000ULL,
                    .loss = sc.loss,
                    .burst = sc.burst,
                    .reorder = sc.reorder,
                    .reorder_delay_ns = sc.reorder_delay_ns,
                    .duplicate = sc.duplicate,
                    .corrupt = sc.corrupt};
    LinkParams up{.delay_ns = sc.one_way_ns, .rate_bps = 1'000'000'000ULL, .loss = sc.up_loss};
    rx.back()->attach(net.add_host(ip, rx.back().get(), up, down));
    for (const auto& p : sc.preload) {
      auto& st = rx.back()->store();
      auto b = st.begin(
          {.name = p.name, .size = p.size, .mtime_s = p.mtime_s, .blocksize = sc.blocksize});
      ASSERT_TRUE(b.ok());
      auto old = make_bytes(p.size, 999);
      ASSERT_TRUE(st.write(b->handle, 0, old).ok());
      ASSERT_TRUE(st.commit(b->handle).ok());
    }
    if (r == sc.kill_receiver) rx.back()->kill_at(static_cast<TimeNs>(sc.kill_at_s * 1e9));
  }

  sender.start(0);
  net.refresh_timer(0);
  auto res = net.run_until([&] { return sender.session().finished(); },
                           static_cast<TimeNs>(sc.time_bound_s * 1e9), 200'000'000);
  ASSERT_TRUE(sender.session().finished()) << "stopped: " << to_string(res.reason) << " at "
                                           << static_cast<double>(res.now) / 1e9 << " s";
  // Let receivers finish their own handshake (DONE_CONF in flight).
  (void)net.run_until([] { return false; }, res.now + 2 * kSec, 50'000'000);

  if (const char* tr = std::getenv("VOLLEY_SIM_TRACE"); tr != nullptr) {
    const auto& r0 = *rx[std::min<std::size_t>(std::strtoul(tr, nullptr, 10), rx.size() - 1)];
    for (const auto& e : sender.events()) {
      std::printf("sender event %d client=%u file=%u pass=%u %s\n", static_cast<int>(e.kind),
                  e.client, e.file_id, e.pass, e.text.c_str());
    }
    for (const auto& e : r0.events()) {
      std::printf("rx0 event %d file=%u %s ok=%d %s\n", static_cast<int>(e.kind), e.file_id,
                  e.name.c_str(), e.ok, e.text.c_str());
    }
    const auto& ps = r0.pipeline().stats();
    const auto& bs = r0.pipeline().block_stats();
    std::printf("rx0 control dropped=%lu\n", r0.control().stats().dropped);
    std::printf(
        "rx0 pipeline: dgrams=%lu badhdr=%lu nokey=%lu auth=%lu misorder=%lu badseg=%lu placed=%lu "
        "dup=%lu unknown=%lu bad=%lu\n",
        ps.datagrams, ps.bad_header, ps.no_key, ps.auth_failed, ps.misordered, ps.bad_fileseg,
        bs.placed, bs.duplicates, bs.unknown_file, bs.bad_block);
  }
  const auto& stats = sender.session().stats();
  EXPECT_LE(static_cast<double>(stats.repair_blocks),
            sc.repair_bound * static_cast<double>(total_blocks) + 1)
      << "repair blocks " << stats.repair_blocks << " of " << total_blocks << " over "
      << stats.passes << " passes";

  // Per-receiver outcome, as the sender reports it and as the receiver's disk shows it.
  const auto& clients = sender.session().clients();
  for (int r = 0; r < sc.receivers; ++r) {
    SCOPED_TRACE("receiver " + std::to_string(100 + r));
    const bool should_succeed = r != sc.kill_receiver;
    auto it = std::find_if(clients.begin(), clients.end(), [&](const auto& c) {
      return c.id == static_cast<std::uint32_t>(100 + r);
    });
    ASSERT_NE(it, clients.end()) << "never registered";
    auto& store = rx[static_cast<std::size_t>(r)]->store();
    if (!should_succeed) {
      EXPECT_TRUE(it->state == session::ClientState::lost) << client_state_name(it->state);
      for (const auto& f : sc.files) {  // nothing half-received at a final name
        if (f.type == FileType::regular) {
          EXPECT_EQ(store.find(f.name), nullptr) << f.name;
        }
      }
      continue;
    }
    EXPECT_EQ(it->state, session::ClientState::done) << it->reason;
    // A receiver's session is "ok" only when every file it was offered arrived.
    const bool any_rejected = std::any_of(sc.files.begin(), sc.files.end(), [](const FileSpec& f) {
      return f.expect == FileOutcome::rejected;
    });
    EXPECT_EQ(rx[static_cast<std::size_t>(r)]->sessions_finished(!any_rejected), 1);
    for (std::size_t i = 0; i < sc.files.size(); ++i) {
      const auto& f = sc.files[i];
      SCOPED_TRACE(f.name);
      EXPECT_EQ(it->files[i], f.expect) << outcome_name(it->files[i]);
      const auto* e = store.find(f.name);
      if (f.expect == FileOutcome::rejected) {  // refused: nothing created, a log event raised
        if (f.type == FileType::regular) {
          EXPECT_TRUE(e == nullptr || e->bytes != src->content(i));
        }
        const auto& evs = rx[static_cast<std::size_t>(r)]->events();
        EXPECT_TRUE(std::any_of(evs.begin(), evs.end(), [&](const auto& ev) {
          return ev.kind == session::ReceiverEvent::Kind::file_rejected && ev.file_id == i + 1;
        }));
        continue;
      }
      if (f.expect == FileOutcome::skipped) {  // the receiver's own copy stays
        ASSERT_NE(e, nullptr);
        EXPECT_TRUE(e->bytes != src->content(i));
        continue;
      }
      const bool deleted_later = std::any_of(
          sc.files.begin() + static_cast<std::ptrdiff_t>(i) + 1, sc.files.end(),
          [&](const FileSpec& g) { return g.type == FileType::del && g.name == f.name; });
      if (f.type == FileType::del || deleted_later) {
        EXPECT_EQ(e, nullptr);
        continue;
      }
      if (f.type == FileType::freespace) continue;
      ASSERT_NE(e, nullptr);
      if (f.type == FileType::regular) {
        EXPECT_EQ(e->kind, proto::EntryInfo::Kind::file);
        EXPECT_TRUE(e->bytes == src->content(i)) << "content differs";
        EXPECT_EQ(e->mtime_s, f.mtime_s);
      } else if (f.type == FileType::dir) {
        EXPECT_EQ(e->kind, proto::EntryInfo::Kind::dir);
      } else if (f.type == FileType::link) {
        EXPECT_EQ(e->kind, proto::EntryInfo::Kind::link);
        EXPECT_EQ(e->link_target, f.link);
      }
    }
    EXPECT_EQ(store.temp_count(), 0u);
  }
  const bool expect_all = sc.kill_receiver < 0 && sc.extra_members.empty() &&
                          std::none_of(sc.files.begin(), sc.files.end(), [](const FileSpec& f) {
                            return f.expect == FileOutcome::rejected;
                          });
  EXPECT_EQ(sender.session().all_succeeded(), expect_all);
  EXPECT_EQ(sender.session().unanswered_members(), sc.extra_members);
}

std::vector<Scenario> scenarios() {
  std::vector<Scenario> v;
  auto add = [&](Scenario s) { v.push_back(std::move(s)); };
  const auto one_mb = files({1'000'000});
  // Receiver counts, no loss.
  for (int n : {1, 3, 100}) {
    add({.name = "receivers_" + std::to_string(n) + "_clean",
         .receivers = n,
         .files = one_mb,
         .repair_bound = 0});
  }
  // Independent loss at 1, 5 and 20% for 1 and 3 receivers.
  for (int n : {1, 3}) {
    for (double p : {0.01, 0.05, 0.20}) {
      add({.name = "loss_" + std::to_string(static_cast<int>(p * 100)) + "pct_" +
                   std::to_string(n) + "rx",
           .receivers = n,
           .files = one_mb,
           .loss = p,
           .repair_bound = p < 0.1 ? 0.4 : 1.2,
           .seed = static_cast<std::uint64_t>(n * 100 + p * 100)});
    }
  }
  add({.name = "loss_5pct_100rx",
       .receivers = 100,
       .files = files({300'000}),
       .loss = 0.05,
       .repair_bound = 2.0,
       .seed = 7});
  add({.name = "loss_20pct_100rx",
       .receivers = 100,
       .files = files({200'000}),
       .loss = 0.20,
       .time_bound_s = 60,
       .repair_bound = 4.0,
       .seed = 8});
  add({.name = "receivers_1000_clean",
       .receivers = 1000,
       .files = files({100'000}),
       .time_bound_s = 60,
       .repair_bound = 0});
  add({.name = "receivers_1000_loss_5pct",
       .receivers = 1000,
       .files = files({100'000}),
       .loss = 0.05,
       .time_bound_s = 120,
       .repair_bound = 3.0,
       .seed = 11});
  add({.name = "loss_on_responses_10pct",
       .files = one_mb,
       .loss = 0.02,
       .up_loss = 0.10,
       .repair_bound = 0.5,
       .seed = 12});
  add({.name = "burst_loss",
       .files = one_mb,
       .burst = {.p_good_to_bad = 0.01, .p_bad_to_good = 0.2, .loss_in_bad = 0.9},
       .repair_bound = 0.5,
       .seed = 13});
  add({.name = "burst_loss_100rx",
       .receivers = 100,
       .files = files({300'000}),
       .burst = {.p_good_to_bad = 0.005, .p_bad_to_good = 0.3, .loss_in_bad = 1.0},
       .repair_bound = 2.5,
       .seed = 14});
  add({.name = "satellite_600ms_rtt_2pct",
       .files = files({2'000'000}),
       .loss = 0.02,
       .one_way_ns = 300 * kMs,
       .rate_Bps = 2'500'000,
       .time_bound_s = 90,
       .repair_bound = 0.2,
       .seed = 15});
  add({.name = "satellite_600ms_rtt_clean_closed",
       .files = files({500'000, 0, 1}),
       .one_way_ns = 300 * kMs,
       .closed = true,
       .time_bound_s = 60,
       .repair_bound = 0});
  add({.name = "reorder_within_window",
       .files = one_mb,
       .reorder = 0.05,
       .reorder_delay_ns = 200 * kUs,
       .repair_bound = 0.2,
       .seed = 16});
  add({.name = "reorder_beyond_window",
       .files = one_mb,
       .reorder = 0.05,
       .reorder_delay_ns = 5 * kMs,
       .repair_bound = 0.3,
       .seed = 17});
  add({.name = "duplicates", .files = one_mb, .duplicate = 0.10, .repair_bound = 0, .seed = 18});
  add({.name = "duplicates_and_loss",
       .files = one_mb,
       .loss = 0.05,
       .duplicate = 0.10,
       .repair_bound = 0.4,
       .seed = 19});
  add({.name = "corruption_detected_by_aead",
       .files = one_mb,
       .corrupt = 0.05,
       .encrypted = true,
       .repair_bound = 0.4,
       .seed = 20});
  add({.name = "encrypted_loss_5pct",
       .files = one_mb,
       .loss = 0.05,
       .encrypted = true,
       .repair_bound = 0.4,
       .seed = 21});
  // Open groups announce for robust x 3 GRTT (about 1.2 s here); the file then takes 0.8 s.
  add({.name = "receiver_dies_mid_file",
       .files = files({2'000'000}),
       .loss = 0.01,
       .rate_Bps = 2'500'000,
       .kill_receiver = 1,
       .kill_at_s = 0.9,
       .time_bound_s = 60,
       .repair_bound = 0.3,
       .seed = 22});
  add({.name = "receiver_dies_mid_file_closed",
       .files = files({2'000'000}),
       .rate_Bps = 2'500'000,
       .closed = true,
       .kill_receiver = 0,
       .kill_at_s = 0.4,
       .time_bound_s = 60,
       .repair_bound = 0.1});
  add({.name = "closed_group_member_silent",
       .files = one_mb,
       .closed = true,
       .extra_members = {4242},
       .repair_bound = 0});
  add({.name = "closed_group_loss_5pct",
       .receivers = 10,
       .files = one_mb,
       .loss = 0.05,
       .closed = true,
       .repair_bound = 1.0,
       .seed = 23});
  add({.name = "many_files_mixed_sizes",
       .files = files({0, 1, 1299, 1300, 1301, 2600, 65'000, 130'000, 7, 13'000}),
       .loss = 0.03,
       .repair_bound = 0.5,
       .seed = 24});
  add({.name = "empty_files_only", .files = files({0, 0, 0}), .repair_bound = 0});
  add({.name = "one_byte_file", .files = files({1}), .loss = 0.2, .repair_bound = 20, .seed = 25});
  add({.name = "exact_block_multiple",
       .files = files({1300 * 100}),
       .loss = 0.05,
       .repair_bound = 0.4,
       .seed = 26});
  add({.name = "exact_section_boundary",
       .files = files({1300ULL * 10400}),
       .loss = 0.01,
       .rate_Bps = 50'000'000,
       .time_bound_s = 60,
       .repair_bound = 0.1,
       .seed = 27});
  add({.name = "two_sections_plus_one_block",
       .files = files({1300ULL * 10401}),
       .loss = 0.01,
       .rate_Bps = 50'000'000,
       .time_bound_s = 60,
       .repair_bound = 0.1,
       .seed = 28});
  add({.name = "over_65536_blocks_many_sections",
       .files = files({512ULL * 66'000 + 100}),
       .loss = 0.01,
       .rate_Bps = 50'000'000,
       .blocksize = 512,
       .time_bound_s = 120,
       .repair_bound = 0.1,
       .seed = 29});
  add({.name = "jumbo_blocks_8800",
       .files = files({8800ULL * 300 + 5}),
       .loss = 0.05,
       .rate_Bps = 100'000'000,
       .blocksize = 8800,
       .repair_bound = 0.4,
       .seed = 30});
  add({.name = "min_blocks_512",
       .files = files({200'000}),
       .loss = 0.05,
       .blocksize = 512,
       .repair_bound = 0.4,
       .seed = 31});
  add({.name = "directories_and_symlinks",
       .files = {{"top", 0, FileType::dir},
                 {"top/sub", 0, FileType::dir},
                 {"top/sub/data.bin", 50'000},
                 {"top/link", 0, FileType::link, "sub/data.bin"},
                 {"top/empty", 0, FileType::dir}},
       .loss = 0.05,
       .repair_bound = 0.5,
       .seed = 32});
  add({.name = "delete_and_freespace_requests",
       .files = {{"a.bin", 10'000}, {"a.bin", 0, FileType::del}, {"x", 0, FileType::freespace}},
       .repair_bound = 0});
  add({.name = "robust_3_loss_5pct",
       .files = one_mb,
       .loss = 0.05,
       .robust = 3,
       .repair_bound = 0.4,
       .seed = 33});
  add({.name = "high_rate_1gbps",
       .files = files({5'000'000}),
       .loss = 0.01,
       .rate_Bps = 125'000'000,
       .repair_bound = 0.1,
       .seed = 34});
  add({.name = "slow_rate_1mbps",
       .files = files({100'000}),
       .loss = 0.05,
       .rate_Bps = 125'000,
       .time_bound_s = 60,
       .repair_bound = 0.4,
       .seed = 35});
  add({.name = "long_rtt_burst_loss",
       .files = one_mb,
       .burst = {.p_good_to_bad = 0.01, .p_bad_to_good = 0.3, .loss_in_bad = 1.0},
       .one_way_ns = 100 * kMs,
       .time_bound_s = 60,
       .repair_bound = 0.5,
       .seed = 36});
  add({.name = "everything_at_once",
       .receivers = 10,
       .files = files({400'000, 0, 1, 1300}),
       .loss = 0.05,
       .up_loss = 0.05,
       .reorder = 0.02,
       .reorder_delay_ns = 3 * kMs,
       .duplicate = 0.05,
       .corrupt = 0.02,
       .encrypted = true,
       .time_bound_s = 60,
       .repair_bound = 1.5,
       .seed = 37});
  add({.name = "names_outside_destination_rejected",
       .files = {{"ok.bin", 5'000},
                 {"/etc/passwd", 100, FileType::regular, "", FileOutcome::rejected},
                 {"../escape.bin", 100, FileType::regular, "", FileOutcome::rejected},
                 {"a/../../escape.bin", 100, FileType::regular, "", FileOutcome::rejected},
                 {"dir/./x", 100, FileType::regular, "", FileOutcome::rejected},
                 {std::string(301, 'n'), 100, FileType::regular, "", FileOutcome::rejected},
                 {"../evil_link", 0, FileType::link, "/etc", FileOutcome::rejected},
                 {"after.bin", 7'000}},
       .loss = 0.05,
       .repair_bound = 1.0,
       .seed = 38});
  add({.name = "sync_mode_skips_what_is_not_newer",
       .files = {{"same.bin", 4'000, FileType::regular, "", FileOutcome::skipped, 1'600'000'000},
                 {"older_here.bin", 4'000, FileType::regular, "", FileOutcome::overwrote,
                  1'600'000'000},
                 {"newer_here.bin", 4'000, FileType::regular, "", FileOutcome::skipped,
                  1'600'000'000},
                 {"absent.bin", 4'000, FileType::regular, "", FileOutcome::copied, 1'600'000'000}},
       .loss = 0.05,
       .sync = true,
       .preload = {{"same.bin", 4'000, 1'600'000'000},
                   {"older_here.bin", 4'000, 1'500'000'000},
                   {"newer_here.bin", 3'000, 1'650'000'000}},
       .repair_bound = 1.0,
       .seed = 39});
  add({.name = "overwrite_without_sync",
       .files = {{"exists.bin", 20'000, FileType::regular, "", FileOutcome::overwrote}},
       .loss = 0.05,
       .preload = {{"exists.bin", 100, 1'800'000'000}},
       .repair_bound = 1.0,
       .seed = 40});
  return v;
}

INSTANTIATE_TEST_SUITE_P(Table, SimScenario, ::testing::ValuesIn(scenarios()),
                         [](const ::testing::TestParamInfo<Scenario>& p) { return p.param.name; });

}  // namespace
}  // namespace volley::sim
