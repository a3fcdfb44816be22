#include "tests/sim/simnet.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string_view>
#include <utility>

namespace volley::sim {

namespace {

__extension__ using U128 = unsigned __int128;

// Stream identities: one PRNG per (link, feature).
enum class Stream : std::uint64_t { kLoss = 1, kBurst, kReorder, kDuplicate, kCorrupt };

constexpr std::uint64_t mix64(std::uint64_t z) noexcept {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

constexpr std::uint64_t combine(std::uint64_t h, std::uint64_t v) noexcept {
  return mix64(h + 0x9e3779b97f4a7c15ULL + mix64(v));
}

std::uint64_t stream_seed(std::uint64_t link_seed, Stream s) noexcept {
  return combine(link_seed, static_cast<std::uint64_t>(s));
}

std::uint64_t hash_bytes(std::span<const std::uint8_t> b) noexcept {
  std::uint64_t h = combine(0x5eed, b.size());
  std::size_t i = 0;
  for (; i + 8 <= b.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, b.data() + i, 8);
    h = combine(h, w);
  }
  std::uint64_t tail = 0;
  for (std::size_t k = 0; i + k < b.size(); ++k) {
    tail |= std::uint64_t{b[i + k]} << (8 * k);
  }
  return combine(h, tail);
}

bool valid_probability(double p) noexcept {
  return p >= 0.0 && p <= 1.0;
}  // false for NaN

}  // namespace

// ---------------------------------------------------------------------------------------------
// Addresses

std::size_t AddrHash::operator()(const Addr& a) const noexcept {
  return static_cast<std::size_t>(mix64((std::uint64_t{a.ip} << 16) | a.port));
}

std::string to_string(const Addr& a) {
  std::string s;
  for (int shift = 24; shift >= 0; shift -= 8) {
    s += std::to_string((a.ip >> shift) & 0xFFu);
    s += shift == 0 ? ':' : '.';
  }
  s += std::to_string(a.port);
  return s;
}

// ---------------------------------------------------------------------------------------------
// PRNG

std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  state += 0x9e3779b97f4a7c15ULL;
  return mix64(state);
}

Prng::Prng(std::uint64_t seed) noexcept {
  std::uint64_t sm = seed;
  for (auto& w : s_) w = splitmix64(sm);
}

Prng::Prng(const std::array<std::uint64_t, 4>& state) noexcept : s_(state) {}

std::uint64_t Prng::next() noexcept {
  const auto rotl = [](std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); };
  const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Prng::uniform() noexcept {
  return static_cast<double>(next() >> 11) * 0x1.0p-53;
}

std::uint64_t Prng::below(std::uint64_t n) noexcept {
  // Multiply-shift (Lemire) without the rejection step: bias < n / 2^64, irrelevant here.
  return static_cast<std::uint64_t>((static_cast<U128>(next()) * n) >> 64);
}

// ---------------------------------------------------------------------------------------------
// Stats

LinkStats& LinkStats::operator+=(const LinkStats& o) noexcept {
  offered_packets += o.offered_packets;
  offered_bytes += o.offered_bytes;
  delivered_packets += o.delivered_packets;
  delivered_bytes += o.delivered_bytes;
  dropped_loss += o.dropped_loss;
  dropped_burst += o.dropped_burst;
  dropped_drop_list += o.dropped_drop_list;
  dropped_queue += o.dropped_queue;
  dropped_mtu += o.dropped_mtu;
  dropped_no_route += o.dropped_no_route;
  duplicated += o.duplicated;
  corrupted += o.corrupted;
  reordered += o.reordered;
  return *this;
}

// ---------------------------------------------------------------------------------------------
// Link

Link::Link(LinkParams params, std::uint64_t link_seed)
    : loss_rng_(stream_seed(link_seed, Stream::kLoss)),
      burst_rng_(stream_seed(link_seed, Stream::kBurst)),
      reorder_rng_(stream_seed(link_seed, Stream::kReorder)),
      duplicate_rng_(stream_seed(link_seed, Stream::kDuplicate)),
      corrupt_rng_(stream_seed(link_seed, Stream::kCorrupt)) {
  set_params(std::move(params));
}

void Link::validate(const LinkParams& p) {
  if (p.delay_ns < 0 || p.reorder_delay_ns < 0) {
    throw std::invalid_argument("LinkParams: negative delay");
  }
  if (!valid_probability(p.loss) || !valid_probability(p.reorder) ||
      !valid_probability(p.duplicate) || !valid_probability(p.corrupt) ||
      !valid_probability(p.burst.p_good_to_bad) || !valid_probability(p.burst.p_bad_to_good) ||
      !valid_probability(p.burst.loss_in_bad)) {
    throw std::invalid_argument("LinkParams: probability outside [0, 1]");
  }
}

void Link::set_params(LinkParams params) {
  validate(params);
  params_ = std::move(params);
  auto& dl = params_.drop_list;
  std::sort(dl.begin(), dl.end());
  dl.erase(std::unique(dl.begin(), dl.end()), dl.end());
  drop_cursor_ = static_cast<std::size_t>(
      std::lower_bound(dl.begin(), dl.end(), stats_.offered_packets) - dl.begin());
}

void Link::drain(TimeNs now) {
  while (!in_service_.empty() && in_service_.front().finish_ns <= now) {
    backlog_bytes_ -= in_service_.front().bytes;
    in_service_.pop_front();
  }
}

std::uint64_t Link::backlog_bytes(TimeNs now) {
  drain(now);
  return backlog_bytes_;
}

Link::Verdict Link::offer(std::size_t size_bytes, TimeNs now) {
  const std::uint64_t index = stats_.offered_packets;
  const std::uint64_t size = size_bytes;
  ++stats_.offered_packets;
  stats_.offered_bytes += size;

  // Random draws first, a fixed number per offered packet and per enabled feature, so that one
  // feature's pattern never depends on another feature or on earlier drops.
  const bool lost = params_.loss > 0.0 && loss_rng_.chance(params_.loss);
  bool burst_lost = false;
  if (params_.burst.p_good_to_bad > 0.0 || burst_bad_) {
    const double move = burst_rng_.uniform();
    const double hit = burst_rng_.uniform();
    burst_bad_ =
        burst_bad_ ? !(move < params_.burst.p_bad_to_good) : move < params_.burst.p_good_to_bad;
    burst_lost = burst_bad_ && hit < params_.burst.loss_in_bad;
  }
  const bool reordered = params_.reorder > 0.0 && reorder_rng_.chance(params_.reorder);
  const bool duplicated = params_.duplicate > 0.0 && duplicate_rng_.chance(params_.duplicate);
  bool corrupted = false;
  std::uint64_t bit = 0;
  if (params_.corrupt > 0.0) {
    corrupted = corrupt_rng_.chance(params_.corrupt);
    const std::uint64_t pick = corrupt_rng_.next();
    if (size == 0) {
      corrupted = false;
    } else {
      bit = static_cast<std::uint64_t>((static_cast<U128>(pick) * (size * 8)) >> 64);
    }
  }

  Verdict v;
  v.dropped = true;
  if (params_.mtu != 0 && size > params_.mtu) {
    ++stats_.dropped_mtu;
    return v;
  }
  const auto& dl = params_.drop_list;
  while (drop_cursor_ < dl.size() && dl[drop_cursor_] < index) ++drop_cursor_;
  if (drop_cursor_ < dl.size() && dl[drop_cursor_] == index) {
    ++drop_cursor_;
    ++stats_.dropped_drop_list;
    return v;
  }
  drain(now);
  if (params_.queue_limit_bytes != 0 && backlog_bytes_ + size > params_.queue_limit_bytes) {
    ++stats_.dropped_queue;
    return v;
  }
  DurationNs serialize_ns = 0;
  if (params_.rate_bps != 0) {
    const U128 num = static_cast<U128>(size) * 8u * 1'000'000'000u;
    serialize_ns = static_cast<DurationNs>((num + params_.rate_bps - 1) / params_.rate_bps);
  }
  const TimeNs finish = std::max(now, busy_until_ns_) + serialize_ns;
  busy_until_ns_ = finish;
  if (finish > now) {
    in_service_.push_back({finish, size});
    backlog_bytes_ += size;
  }
  if (lost) {
    ++stats_.dropped_loss;
    return v;
  }
  if (burst_lost) {
    ++stats_.dropped_burst;
    return v;
  }
  v.dropped = false;
  v.arrival_ns = finish + params_.delay_ns;
  if (reordered) {
    ++stats_.reordered;
    v.arrival_ns += params_.reorder_delay_ns;
  }
  if (corrupted) {
    ++stats_.corrupted;
    v.corrupt = true;
    v.corrupt_bit = bit;
  }
  if (duplicated) {
    ++stats_.duplicated;
    v.duplicate = true;
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// Network

namespace {
constexpr std::uint64_t kUplink = 0;
constexpr std::uint64_t kDownlink = 1;

std::uint64_t link_seed(std::uint64_t net_seed, std::uint32_t ip, std::uint64_t direction) {
  return combine(combine(mix64(net_seed), ip), direction);
}
}  // namespace

struct Network::Host {
  Host(std::uint32_t ip_in, Node* node_in, Link up_in, Link down_in)
      : ip(ip_in), node(node_in), up(std::move(up_in)), down(std::move(down_in)) {}
  std::uint32_t ip;
  Node* node;
  Link up;
  Link down;
  std::uint64_t timer_gen = 0;
  TimeNs scheduled_deadline = kNever;  // deadline of the pending timer event, kNever if none
};

Network::Network(std::uint64_t seed) : seed_(seed) {}
Network::~Network() = default;

Network::Host& Network::host(HostId h) {
  if (h >= hosts_.size()) throw std::out_of_range("simnet: unknown HostId");
  return *hosts_[h];
}

const Network::Host& Network::host(HostId h) const {
  if (h >= hosts_.size()) throw std::out_of_range("simnet: unknown HostId");
  return *hosts_[h];
}

HostId Network::add_host(std::uint32_t ip, Node* node, LinkParams up, LinkParams down) {
  if (is_multicast(ip)) throw std::invalid_argument("simnet: host address is multicast");
  if (by_ip_.contains(ip)) throw std::invalid_argument("simnet: host address already used");
  const auto id = static_cast<HostId>(hosts_.size());
  hosts_.push_back(std::make_unique<Host>(ip, node,
                                          Link(std::move(up), link_seed(seed_, ip, kUplink)),
                                          Link(std::move(down), link_seed(seed_, ip, kDownlink))));
  by_ip_.emplace(ip, id);
  refresh_timer(id);
  return id;
}

void Network::set_uplink_params(HostId h, LinkParams p) {
  host(h).up.set_params(std::move(p));
}
void Network::set_downlink_params(HostId h, LinkParams p) {
  host(h).down.set_params(std::move(p));
}

void Network::join(HostId h, std::uint32_t group) {
  (void)host(h);
  if (!is_multicast(group)) throw std::invalid_argument("simnet: join of a non-multicast address");
  auto& members = groups_[group];
  const auto it = std::lower_bound(members.begin(), members.end(), h);
  if (it == members.end() || *it != h) members.insert(it, h);
}

void Network::leave(HostId h, std::uint32_t group) {
  const auto g = groups_.find(group);
  if (g == groups_.end()) return;
  auto& members = g->second;
  const auto it = std::lower_bound(members.begin(), members.end(), h);
  if (it != members.end() && *it == h) members.erase(it);
}

std::uint32_t Network::host_ip(HostId h) const {
  return host(h).ip;
}

HostId Network::host_of(std::uint32_t ip) const {
  const auto it = by_ip_.find(ip);
  if (it == by_ip_.end()) throw std::out_of_range("simnet: no host with this address");
  return it->second;
}

const LinkStats& Network::uplink_stats(HostId h) const {
  return host(h).up.stats();
}
const LinkStats& Network::downlink_stats(HostId h) const {
  return host(h).down.stats();
}

LinkStats Network::total_stats() const {
  LinkStats t;
  for (const auto& h : hosts_) {
    t += h->up.stats();
    t += h->down.stats();
  }
  return t;
}

void Network::push(TimeNs t, EventKind kind, HostId h, std::uint64_t ref) {
  events_.push(Event{t, seq_++, ref, h, kind});
}

std::uint64_t Network::store(Packet p) {
  if (!free_slots_.empty()) {
    const std::uint64_t slot = free_slots_.back();
    free_slots_.pop_back();
    slots_[slot] = std::move(p);
    return slot;
  }
  slots_.push_back(std::move(p));
  return slots_.size() - 1;
}

Network::Packet Network::take(std::uint64_t slot) {
  Packet p = std::move(slots_[slot]);
  slots_[slot].payload.reset();
  free_slots_.push_back(slot);
  return p;
}

void Network::send(std::uint32_t from_host_ip, Datagram d, TimeNs now) {
  if (now != now_) throw std::invalid_argument("simnet: send() with now != Network::now()");
  const auto it = by_ip_.find(from_host_ip);
  if (it == by_ip_.end()) throw std::invalid_argument("simnet: send() from an unknown host");
  const HostId from = it->second;
  Host& h = *hosts_[from];
  const Link::Verdict v = h.up.offer(d.bytes.size(), now_);
  if (v.dropped) return;
  const std::uint64_t content_hash = hash_bytes(d.bytes);
  auto payload = std::make_shared<Payload>(Payload{std::move(d.bytes), content_hash});
  if (v.corrupt) {
    payload->bytes[v.corrupt_bit / 8] ^= static_cast<std::uint8_t>(1u << (v.corrupt_bit % 8));
    payload->hash = hash_bytes(payload->bytes);
  }
  PayloadPtr shared = std::move(payload);
  if (v.duplicate) {
    push(v.arrival_ns, EventKind::kSwitchArrival, from, store(Packet{d.src, d.dst, shared, from}));
  }
  push(v.arrival_ns, EventKind::kSwitchArrival, from,
       store(Packet{d.src, d.dst, std::move(shared), from}));
}

void Network::on_switch_arrival(Packet p) {
  Host& sender = *hosts_[p.host];
  std::uint64_t copies = 0;
  if (is_multicast(p.dst.ip)) {
    const auto g = groups_.find(p.dst.ip);
    if (g != groups_.end()) {
      for (const HostId m : g->second) {
        if (m == p.host && !loopback_) continue;
        forward(m, p);
        ++copies;
      }
    }
  } else {
    const auto it = by_ip_.find(p.dst.ip);
    if (it != by_ip_.end()) {
      forward(it->second, p);
      ++copies;
    }
  }
  LinkStats& s = sender.up.mutable_stats();
  if (copies == 0) {
    ++s.dropped_no_route;
  } else {
    ++s.delivered_packets;
    s.delivered_bytes += p.payload->bytes.size();
  }
}

void Network::forward(HostId to, const Packet& p) {
  Host& h = *hosts_[to];
  const Link::Verdict v = h.down.offer(p.payload->bytes.size(), now_);
  if (v.dropped) return;
  PayloadPtr payload = p.payload;
  if (v.corrupt) {  // copy-on-corrupt: other receivers keep the shared original
    auto copy = std::make_shared<Payload>(*p.payload);
    copy->bytes[v.corrupt_bit / 8] ^= static_cast<std::uint8_t>(1u << (v.corrupt_bit % 8));
    copy->hash = hash_bytes(copy->bytes);
    payload = std::move(copy);
  }
  if (v.duplicate) {
    push(v.arrival_ns, EventKind::kDeliver, to, store(Packet{p.src, p.dst, payload, to}));
  }
  push(v.arrival_ns, EventKind::kDeliver, to, store(Packet{p.src, p.dst, std::move(payload), to}));
}

void Network::deliver(Packet p) {
  Host& h = *hosts_[p.host];
  LinkStats& s = h.down.mutable_stats();
  const auto& bytes = p.payload->bytes;
  ++s.delivered_packets;
  s.delivered_bytes += bytes.size();
  std::uint64_t d = combine(digest_, static_cast<std::uint64_t>(now_));
  d = combine(d, h.ip);
  d = combine(d, (std::uint64_t{p.src.ip} << 16) | p.src.port);
  d = combine(d, (std::uint64_t{p.dst.ip} << 16) | p.dst.port);
  digest_ = combine(d, p.payload->hash);
  if (h.node != nullptr) {
    h.node->on_datagram(p.src, p.dst, std::span<const std::uint8_t>(bytes), now_);
    refresh_timer(p.host);
  }
}

void Network::refresh_timer(HostId id) {
  Host& h = host(id);
  if (h.node == nullptr) return;
  const TimeNs d = h.node->next_deadline();
  if (d == h.scheduled_deadline) return;
  ++h.timer_gen;
  h.scheduled_deadline = d;
  if (d != kNever) push(std::max(d, now_), EventKind::kTimer, id, h.timer_gen);
}

void Network::fire_timer(HostId id) {
  Host& h = *hosts_[id];
  h.scheduled_deadline = kNever;
  h.node->on_deadline(now_);
  refresh_timer(id);
}

RunResult Network::run_until(const std::function<bool()>& done, TimeNs time_limit,
                             std::uint64_t max_events) {
  for (HostId id = 0; id < hosts_.size(); ++id) refresh_timer(id);
  RunResult r;
  for (;;) {
    if (done && done()) {
      r.reason = StopReason::kDone;
      break;
    }
    // Skip stale timers so they neither count as events nor mask idleness.
    while (!events_.empty()) {
      const Event& top = events_.top();
      if (top.kind != EventKind::kTimer || hosts_[top.host]->timer_gen == top.ref) break;
      events_.pop();
    }
    if (events_.empty()) {
      r.reason = StopReason::kIdle;
      break;
    }
    if (events_.top().time_ns > time_limit) {
      now_ = std::max(now_, time_limit);
      r.reason = StopReason::kTimeLimit;
      break;
    }
    if (r.events >= max_events) {
      r.reason = StopReason::kMaxEvents;
      break;
    }
    const Event ev = events_.top();
    events_.pop();
    now_ = ev.time_ns;
    ++r.events;
    ++events_total_;
    switch (ev.kind) {
      case EventKind::kTimer:
        fire_timer(ev.host);
        break;
      case EventKind::kSwitchArrival:
        on_switch_arrival(take(ev.ref));
        break;
      case EventKind::kDeliver:
        deliver(take(ev.ref));
        break;
    }
  }
  r.now = now_;
  return r;
}

const char* to_string(StopReason r) noexcept {
  switch (r) {
    case StopReason::kDone:
      return "done";
    case StopReason::kTimeLimit:
      return "time-limit";
    case StopReason::kMaxEvents:
      return "max-events";
    case StopReason::kIdle:
      return "idle";
  }
  return "?";
}

// ---------------------------------------------------------------------------------------------
// Seeds

std::uint64_t sim_seed(std::uint64_t default_seed) {
  const char* env = std::getenv("VOLLEY_SIM_SEED");
  if (env == nullptr || *env == '\0') return default_seed;
  std::string_view s(env);
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s.remove_prefix(2);
    base = 16;
  }
  std::uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || ptr != s.data() + s.size()) {
    throw std::invalid_argument("VOLLEY_SIM_SEED is not a number: " + std::string(env));
  }
  return v;
}

std::string seed_note(std::uint64_t seed) {
  const std::string n = std::to_string(seed);
  return "seed=" + n + " (replay: VOLLEY_SIM_SEED=" + n + ")";
}

}  // namespace volley::sim
