#include "dataplane/engine/recv_engine.hpp"

#include <algorithm>
#include <cstring>

#include "dataplane/engine/clock.hpp"
#include "dataplane/engine/receiver_pipeline.hpp"

namespace volley::engine {
RecvEngine::RecvEngine(session::Receiver& control, RxDataplane& dp, io::UdpSocket& sock,
                       std::string interface)
    : c_(control),
      dp_(dp),
      sock_(sock),
      interface_(std::move(interface)),
      ctl_(std::make_unique<SpscRing<CtlIn, 64>>()),
      scratch_(std::make_unique<CtlIn>()) {}

RecvEngine::~RecvEngine() {
  stop_.store(true, std::memory_order_release);
  if (thread_.joinable()) thread_.join();
}

void RecvEngine::worker_main() noexcept {
  io::RxBatch batch(64, 65536);
  auto in = std::make_unique<CtlIn>();
  while (!stop_.load(std::memory_order_acquire)) {
    dp_.drain_commands();
    const std::size_t n = sock_.recv_burst(batch);
    if (n == 0) {
      (void)sock_.wait_readable(1);
      continue;
    }
    const proto::TimeNs now = mono_now();
    for (std::size_t i = 0; i < n; ++i) {
      auto& d = batch[i];
      auto o = dp_.on_datagram(d.data, now);
      if (!o) continue;
      if (o->body.size() > kMaxPacket) continue;  // cannot happen: datagrams are smaller
      in->from = d.from;
      in->header = o->header;
      in->type = o->type;
      in->was_encrypted = o->was_encrypted;
      in->len = static_cast<std::uint32_t>(o->body.size());
      std::memcpy(in->body.data(), o->body.data(), o->body.size());
      if (!ctl_->push(*in)) ctl_overflow_.fetch_add(1, std::memory_order_relaxed);
    }
    dp_.end_burst();  // the batch's buffers are reused by the next recv_burst
  }
}

void RecvEngine::sync_groups(const RecvHooks& hooks) {
  std::vector<wire::IpAddr> want;
  for (const auto& g : c_.joined_groups()) {
    if (io::is_multicast(g) && std::find(want.begin(), want.end(), g) == want.end()) {
      want.push_back(g);
    }
  }
  auto holds = [](const std::vector<wire::IpAddr>& v, const wire::IpAddr& a) {
    return std::find(v.begin(), v.end(), a) != v.end();
  };
  for (const auto& g : want) {
    if (holds(joined_, g)) continue;
    std::string why;
    if (!sock_.join(g, interface_, &why) && hooks.on_warning) hooks.on_warning(why);
  }
  for (const auto& g : joined_) {
    if (!holds(want, g)) (void)sock_.leave(g, interface_);
  }
  joined_ = std::move(want);
}

void RecvEngine::run(const RecvHooks& hooks) {
  thread_ = std::thread([this] { worker_main(); });
  std::vector<std::uint8_t> out(kMaxPacket);
  proto::TimeNs next_tick = 0;
  std::uint64_t groups_epoch = ~std::uint64_t{0};
  bool shutting = false;
  for (;;) {
    const proto::TimeNs now = mono_now();
    if (hooks.interrupt != nullptr && !shutting && hooks.interrupt->load()) {
      c_.shutdown("receiver shutting down");  // ABORT to each server, partials kept
      shutting = true;
    }
    bool busy = false;
    while (ctl_->pop(*scratch_)) {
      proto::Opened o;
      o.header = scratch_->header;
      o.type = scratch_->type;
      o.was_encrypted = scratch_->was_encrypted;
      o.body = {scratch_->body.data(), scratch_->len};
      c_.on_control(scratch_->from, o, now);
      busy = true;
    }
    // The command ring never stays full: the worker drains it every burst.
    busy |= pump_control(c_, dp_, now, [] { sleep_until(mono_now() + 20 * proto::kUs); });
    if (now >= c_.next_deadline()) c_.on_deadline(now);
    busy |= pump_control(c_, dp_, now, [] { sleep_until(mono_now() + 20 * proto::kUs); });
    while (auto o = c_.poll_transmit(out, now)) {
      const io::TxPacket p{out.data(), static_cast<std::uint32_t>(o->len), o->to};
      (void)sock_.send_burst({&p, 1});
    }
    bool stop = false;
    while (auto ev = c_.poll_event()) {
      if (hooks.on_event) hooks.on_event(*ev);
      if (hooks.done && hooks.done()) stop = true;
    }
    if (c_.groups_epoch() != groups_epoch) {  // join a new session's private group at once:
      groups_epoch = c_.groups_epoch();       // its REG_CONF is sent there
      sync_groups(hooks);
    }
    if (stop || (shutting && c_.active_sessions() == 0)) break;
    if (now >= next_tick) {
      if (hooks.on_tick) hooks.on_tick(now);
      next_tick = now + 100 * proto::kMs;
    }
    if (!busy) {
      const proto::TimeNs wake = std::min(c_.next_deadline(), now + 500 * proto::kUs);
      if (wake > now) sleep_until(wake);
    }
  }
  // Let the dataplane see the last commands (file closes), then stop it.
  pump_control(c_, dp_, mono_now(), [] { sleep_until(mono_now() + 20 * proto::kUs); });
  sleep_until(mono_now() + 2 * proto::kMs);
  stop_.store(true, std::memory_order_release);
  thread_.join();
}

}  // namespace volley::engine
