// Deterministic discrete-event network simulator: the "sim" test bed for sans-I/O endpoints.
//
// Topology is a star: every host has an uplink (host -> switch) and a downlink (switch -> host).
// A datagram travels sender uplink -> switch -> receiver downlink(s). The switch routes unicast
// by destination IPv4 address and fans multicast (224.0.0.0/4) out to every host that joined the
// group, except the sender unless multicast loopback is on. Each link models, in this order:
//
//   offer (index = offered packets so far, 0-based)
//     1. mtu        size > mtu                           -> dropped_mtu        (no link time)
//     2. drop_list  index listed                         -> dropped_drop_list  (no link time)
//     3. queue      backlog + size > queue_limit_bytes   -> dropped_queue      (no link time)
//     4. serialize  finish = max(now, busy_until) + ceil(size * 8e9 / rate_bps)
//     5. loss       independent, on the wire            -> dropped_loss       (link time used)
//     6. burst      Gilbert-Elliott state, on the wire   -> dropped_burst      (link time used)
//     7. arrival    finish + delay_ns (+ reorder_delay_ns when reordered)
//     8. corrupt    one uniformly chosen bit flipped in this link's copy (copy-on-corrupt)
//     9. duplicate  a second, identical copy arrives at the same time, right after the first
//
// "Backlog" is the bytes accepted by the link whose serialization has not finished at `now`
// (the packet on the wire included); with rate_bps == 0 (infinite) it is always 0.
// Every random feature has its own PRNG stream per link, seeded from the network seed and the
// link's identity (host IP + direction), and draws a fixed number of values per offered packet
// whether or not an earlier stage dropped it. So adding a host, changing another link, adding a
// drop_list entry or enabling corruption never changes a link's loss pattern.
//
// Events are ordered by (time, sequence number): ties run in the order they were scheduled.
// After every callback into a node the network re-reads node->next_deadline() and reschedules
// that node's timer when it changed (stale timer events are skipped by generation number).
//
// Threading: single-threaded; a Network and its nodes belong to the thread that runs it.
// Errors: misuse (duplicate host IP, unknown sender, wrong `now`, bad parameters) throws
// std::invalid_argument / std::out_of_range. This is test code and may allocate.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <queue>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "dataplane/proto/time.hpp"

namespace volley::sim {

using proto::DurationNs;
using proto::kMs;
using proto::kNever;
using proto::kSec;
using proto::kUs;
using proto::TimeNs;

// ---------------------------------------------------------------------------------------------
// Addresses and datagrams

struct Addr {
  std::uint32_t ip = 0;    // IPv4 address, host byte order (10.0.0.1 == 0x0a000001)
  std::uint16_t port = 0;  // UDP port, host byte order
  friend bool operator==(const Addr&, const Addr&) = default;
};

struct AddrHash {
  std::size_t operator()(const Addr& a) const noexcept;
};

[[nodiscard]] constexpr std::uint32_t ipv4(std::uint8_t a, std::uint8_t b, std::uint8_t c,
                                           std::uint8_t d) noexcept {
  return (std::uint32_t{a} << 24) | (std::uint32_t{b} << 16) | (std::uint32_t{c} << 8) |
         std::uint32_t{d};
}
// True for 224.0.0.0/4.
[[nodiscard]] constexpr bool is_multicast(std::uint32_t ip) noexcept {
  return (ip >> 28) == 0xEu;
}
// "10.0.0.1:1044".
[[nodiscard]] std::string to_string(const Addr& a);

struct Datagram {
  Addr src;
  Addr dst;
  std::vector<std::uint8_t> bytes;
};

// ---------------------------------------------------------------------------------------------
// Endpoints

// Implemented by protocol endpoints (or test doubles). A node sends through the Network it holds
// a reference to: net.send(my_ip, Datagram{...}, now). Callbacks may send, join and leave.
class Node {
 public:
  virtual ~Node() = default;
  // A datagram addressed to this host (unicast or a joined group) arrived at `now`.
  virtual void on_datagram(const Addr& src, const Addr& dst, std::span<const std::uint8_t> bytes,
                           TimeNs now) = 0;
  // When on_deadline() should next run; kNever for no timer. A deadline in the past runs at the
  // current time. Must be cheap: it is read after every callback into this node.
  [[nodiscard]] virtual TimeNs next_deadline() const = 0;
  // The deadline returned by next_deadline() was reached.
  virtual void on_deadline(TimeNs now) = 0;
};

// ---------------------------------------------------------------------------------------------
// Links

// Gilbert-Elliott two-state burst loss. The state moves once per offered packet (good -> bad with
// p_good_to_bad, bad -> good with p_bad_to_good), then a packet in the bad state is lost with
// loss_in_bad. Mean loss = loss_in_bad * p_good_to_bad / (p_good_to_bad + p_bad_to_good); mean
// bad-run length = 1 / p_bad_to_good packets. Disabled while p_good_to_bad == 0.
struct GilbertElliott {
  double p_good_to_bad = 0.0;
  double p_bad_to_good = 1.0;
  double loss_in_bad = 1.0;
};

// All zero / empty = a perfect link: no delay, infinite rate, unlimited queue, no impairment.
struct LinkParams {
  DurationNs delay_ns = 0;                 // propagation delay added after serialization
  std::uint64_t rate_bps = 0;              // serialization rate in bit/s; 0 = infinite
  std::uint64_t queue_limit_bytes = 0;     // drop-tail limit on the backlog; 0 = unlimited
  double loss = 0.0;                       // independent loss probability per packet
  GilbertElliott burst{};                  // burst loss, on top of `loss`
  std::vector<std::uint64_t> drop_list{};  // 0-based offered-packet indices to drop exactly
  double reorder = 0.0;                    // probability of adding reorder_delay_ns to a packet
  DurationNs reorder_delay_ns = 0;         // extra delay of a reordered packet (no link time)
  double duplicate = 0.0;                  // probability of delivering a second copy
  double corrupt = 0.0;                    // probability of flipping one random bit
  std::size_t mtu = 0;                     // drop datagrams larger than this; 0 = unlimited
};

// Counters of one link. offered = delivered + dropped_total() - duplicated once nothing is in
// flight. "delivered" on an uplink means handed to the switch and routed to at least one
// receiver; packets that reached the switch with nowhere to go count as dropped_no_route on the
// sender's uplink. Downlink "delivered" means handed to the host's node (copies included).
struct LinkStats {
  std::uint64_t offered_packets = 0;
  std::uint64_t offered_bytes = 0;
  std::uint64_t delivered_packets = 0;
  std::uint64_t delivered_bytes = 0;
  std::uint64_t dropped_loss = 0;
  std::uint64_t dropped_burst = 0;
  std::uint64_t dropped_drop_list = 0;
  std::uint64_t dropped_queue = 0;
  std::uint64_t dropped_mtu = 0;
  std::uint64_t dropped_no_route = 0;
  std::uint64_t duplicated = 0;  // extra copies created
  std::uint64_t corrupted = 0;   // packets with one bit flipped
  std::uint64_t reordered = 0;   // packets given reorder_delay_ns

  [[nodiscard]] std::uint64_t dropped_total() const noexcept {
    return dropped_loss + dropped_burst + dropped_drop_list + dropped_queue + dropped_mtu +
           dropped_no_route;
  }
  LinkStats& operator+=(const LinkStats& o) noexcept;
};

// xoshiro256** seeded through splitmix64: portable and identical on every standard library.
class Prng {
 public:
  explicit Prng(std::uint64_t seed) noexcept;
  // Raw state (not all zero), for known-answer tests.
  explicit Prng(const std::array<std::uint64_t, 4>& state) noexcept;
  [[nodiscard]] std::uint64_t next() noexcept;
  [[nodiscard]] double uniform() noexcept;                      // [0, 1), 53 bits
  [[nodiscard]] std::uint64_t below(std::uint64_t n) noexcept;  // [0, n), n > 0
  [[nodiscard]] bool chance(double p) noexcept { return uniform() < p; }

 private:
  std::array<std::uint64_t, 4> s_{};
};

[[nodiscard]] std::uint64_t splitmix64(std::uint64_t& state) noexcept;

// One direction of one host's attachment to the switch. Used by Network; public for tests.
class Link {
 public:
  // What happens to one offered packet.
  struct Verdict {
    bool dropped = false;
    TimeNs arrival_ns = 0;   // when the (first) copy reaches the far end
    bool duplicate = false;  // deliver a second copy at arrival_ns
    bool corrupt = false;    // flip bit `corrupt_bit` (0 = LSB of byte 0)
    std::uint64_t corrupt_bit = 0;
  };

  Link(LinkParams params, std::uint64_t link_seed);
  // Throws std::invalid_argument on out-of-range parameters. Keeps PRNG state and counters;
  // drop_list indices keep counting from the link's first packet.
  void set_params(LinkParams params);
  [[nodiscard]] const LinkParams& params() const noexcept { return params_; }

  // Decide the fate of a `size_bytes` packet offered at `now` (now never decreases).
  [[nodiscard]] Verdict offer(std::size_t size_bytes, TimeNs now);
  // Bytes accepted whose serialization has not finished at `now`.
  [[nodiscard]] std::uint64_t backlog_bytes(TimeNs now);

  [[nodiscard]] const LinkStats& stats() const noexcept { return stats_; }
  LinkStats& mutable_stats() noexcept { return stats_; }

 private:
  static void validate(const LinkParams& p);
  void drain(TimeNs now);

  LinkParams params_;
  LinkStats stats_;
  Prng loss_rng_;
  Prng burst_rng_;
  Prng reorder_rng_;
  Prng duplicate_rng_;
  Prng corrupt_rng_;
  bool burst_bad_ = false;
  std::size_t drop_cursor_ = 0;  // first drop_list entry >= next offered index
  TimeNs busy_until_ns_ = 0;     // serializer free from this time
  struct InService {
    TimeNs finish_ns;
    std::uint64_t bytes;
  };
  std::deque<InService> in_service_;
  std::uint64_t backlog_bytes_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Network

using HostId = std::uint32_t;

enum class StopReason {
  kDone,       // done() returned true
  kTimeLimit,  // the next event lies after time_limit (now() is set to time_limit)
  kMaxEvents,  // max_events events were processed
  kIdle,       // no event left to run (now() stays at the last event's time)
};
[[nodiscard]] const char* to_string(StopReason r) noexcept;

struct RunResult {
  StopReason reason = StopReason::kIdle;
  TimeNs now = 0;            // simulated time when the run stopped
  std::uint64_t events = 0;  // events processed by this run (stale timers not counted)
};

class Network {
 public:
  explicit Network(std::uint64_t seed);
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;
  ~Network();

  // Attach a host. `node` may be null (a black hole that still counts deliveries) and must
  // outlive the network's use of it. Throws std::invalid_argument when `ip` is already used or
  // is a multicast address. The node's timer is read now.
  HostId add_host(std::uint32_t ip, Node* node, LinkParams up = {}, LinkParams down = {});
  void set_uplink_params(HostId h, LinkParams p);
  void set_downlink_params(HostId h, LinkParams p);

  // Multicast membership. Joining twice / leaving a group not joined is a no-op.
  void join(HostId h, std::uint32_t group);
  void leave(HostId h, std::uint32_t group);
  // Multicast copies to the sending host itself (through its downlink). Default off.
  void set_multicast_loopback(bool on) noexcept { loopback_ = on; }

  // Send from the host whose address is `from_host_ip` (its uplink carries the datagram; the
  // datagram's src may differ, e.g. for proxies). `now` must equal now(). Throws
  // std::invalid_argument for an unknown sender or a wrong `now`.
  void send(std::uint32_t from_host_ip, Datagram d, TimeNs now);

  // Re-read a node's next_deadline() after the test changed it from outside a callback.
  void refresh_timer(HostId h);

  // Run events until done() (checked before every event), until the next event lies after
  // `time_limit` (an absolute time), until `max_events` events ran, or until nothing is left.
  // Every node's timer is re-read first.
  RunResult run_until(const std::function<bool()>& done, TimeNs time_limit,
                      std::uint64_t max_events);

  [[nodiscard]] TimeNs now() const noexcept { return now_; }
  [[nodiscard]] std::uint64_t seed() const noexcept { return seed_; }
  [[nodiscard]] std::size_t host_count() const noexcept { return hosts_.size(); }
  [[nodiscard]] std::uint32_t host_ip(HostId h) const;
  // Throws std::out_of_range for an unknown address.
  [[nodiscard]] HostId host_of(std::uint32_t ip) const;
  [[nodiscard]] const LinkStats& uplink_stats(HostId h) const;
  [[nodiscard]] const LinkStats& downlink_stats(HostId h) const;
  // Sum over every uplink and downlink (O(hosts)).
  [[nodiscard]] LinkStats total_stats() const;
  // Events waiting in the queue, superseded timers not yet discarded included.
  [[nodiscard]] std::size_t pending_events() const noexcept { return events_.size(); }
  // Events processed over the network's life (stale timers not counted).
  [[nodiscard]] std::uint64_t events_processed() const noexcept { return events_total_; }
  // Order-sensitive hash of every delivery so far: (time, host, src, dst, length, content).
  // Equal digests across runs mean identical traces.
  [[nodiscard]] std::uint64_t delivery_digest() const noexcept { return digest_; }

 private:
  struct Payload {
    std::vector<std::uint8_t> bytes;
    std::uint64_t hash;
  };
  using PayloadPtr = std::shared_ptr<const Payload>;
  struct Packet {
    Addr src;
    Addr dst;
    PayloadPtr payload;
    HostId host;  // sender for a switch arrival, receiver for a delivery
  };
  enum class EventKind : std::uint8_t { kTimer, kSwitchArrival, kDeliver };
  struct Event {
    TimeNs time_ns;
    std::uint64_t seq;
    std::uint64_t ref;  // timer generation or packet slot
    HostId host;
    EventKind kind;
  };
  struct EventLater {
    bool operator()(const Event& a, const Event& b) const noexcept {
      return a.time_ns != b.time_ns ? a.time_ns > b.time_ns : a.seq > b.seq;
    }
  };
  struct Host;

  Host& host(HostId h);
  const Host& host(HostId h) const;
  void push(TimeNs t, EventKind kind, HostId h, std::uint64_t ref);
  std::uint64_t store(Packet p);
  Packet take(std::uint64_t slot);
  void on_switch_arrival(Packet p);
  void forward(HostId to, const Packet& p);
  void deliver(Packet p);
  void fire_timer(HostId h);

  std::uint64_t seed_;
  TimeNs now_ = 0;
  std::uint64_t seq_ = 0;
  std::uint64_t events_total_ = 0;
  std::uint64_t digest_ = 0;
  bool loopback_ = false;
  std::vector<std::unique_ptr<Host>> hosts_;
  std::unordered_map<std::uint32_t, HostId> by_ip_;
  std::unordered_map<std::uint32_t, std::vector<HostId>> groups_;  // sorted members
  std::priority_queue<Event, std::vector<Event>, EventLater> events_;
  std::vector<Packet> slots_;
  std::vector<std::uint64_t> free_slots_;
};

// ---------------------------------------------------------------------------------------------
// Seeds

// The value of environment variable VOLLEY_SIM_SEED (decimal or 0x-hex) when set, else
// `default_seed`. Throws std::invalid_argument when the variable is set but not a number.
[[nodiscard]] std::uint64_t sim_seed(std::uint64_t default_seed);
// "seed=1234 (replay: VOLLEY_SIM_SEED=1234)" — print it with every scenario failure.
[[nodiscard]] std::string seed_note(std::uint64_t seed);

}  // namespace volley::sim
