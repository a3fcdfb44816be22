#include "dataplane/engine/send_engine.hpp"

#include <poll.h>

#include <algorithm>
#include <cstring>

#include "dataplane/engine/clock.hpp"
#include "dataplane/wire/byte_io.hpp"

namespace volley::engine {

SendEngine::SendEngine(session::SenderSession& session, proto::FileSource& src, io::UdpSocket& sock,
                       SendEngineConfig cfg)
    : s_(session),
      sock_(sock),
      cfg_(cfg),
      worker_(cfg.block, src),
      ctl_(std::make_unique<SpscRing<CtlPacket, 32>>()),
      scratch_(std::make_unique<CtlPacket>()) {}

SendEngine::~SendEngine() {
  stop_.store(true, std::memory_order_release);
  if (thread_.joinable()) thread_.join();
}

void SendEngine::worker_main() noexcept {
  // The arena holds one batch of packets back to back: consecutive FILESEGs of one size are
  // contiguous, which is what lets send_burst() merge them into GSO messages.
  std::vector<std::uint8_t> arena(kBatch * kMaxPacket);
  std::array<io::TxPacket, kBatch> pkts{};
  std::size_t n = 0, sent = 0, used = 0;
  std::uint16_t seq = 0;
  std::optional<proto::DataCompletion> pending;
  auto stamp = [&](std::uint8_t* p) { wire::store_be16(p + 2, seq++); };

  for (;;) {
    const proto::TimeNs now = mono_now();
    if (sent < n) {  // the kernel pushed back: finish this batch before building more
      sent += sock_.send_burst({pkts.data() + sent, n - sent});
      if (sent < n) {
        tx_stalls_.fetch_add(1, std::memory_order_relaxed);
        pollfd pfd{sock_.fd(), POLLOUT, 0};
        (void)::poll(&pfd, 1, 1);
        continue;
      }
      n = sent = used = 0;
    }
    const bool stopping = stop_.load(std::memory_order_acquire);
    // Control packets first, in the order the session produced them.
    {
      CtlPacket cp;
      while (n < kBatch && ctl_->pop(cp)) {
        std::uint8_t* p = arena.data() + used;
        std::memcpy(p, cp.bytes.data(), cp.len);
        stamp(p);  // the seq is final before sealing: it is authenticated
        std::uint32_t len = cp.len;
        if (cp.encrypt) {
          auto sealed = worker_.seal_control({p, kMaxPacket}, len);
          if (!sealed) continue;  // cannot happen: a slot holds any control packet sealed
          len = static_cast<std::uint32_t>(*sealed);
        }
        pkts[n++] = {p, len,
                     cp.to == session::SendTo::public_group ? cfg_.public_dest : cfg_.private_dest};
        used += len;
      }
    }
    if (stopping && n == 0) return;  // every control packet (the final ABORT, ...) is out
    if (const auto id = cancel_.exchange(0, std::memory_order_acq_rel); id != 0) worker_.cancel(id);
    proto::DataJob job;
    if (!worker_.busy() && !pending && jobs_.pop(job)) worker_.start(job, now);
    std::uint64_t bytes = 0, packets = 0;
    while (n < kBatch && worker_.ready(now)) {
      const std::size_t len = worker_.poll_transmit({arena.data() + used, kMaxPacket}, now, seq);
      if (len == 0) break;
      ++seq;
      pkts[n++] = {arena.data() + used, static_cast<std::uint32_t>(len), cfg_.private_dest};
      used += len;
      bytes += len;
      ++packets;
    }
    if (!pending) pending = worker_.poll_completion();
    if (pending && completions_.push(*pending)) pending.reset();
    if (n != 0) {
      sent = sock_.send_burst({pkts.data(), n});
      data_packets_.fetch_add(packets, std::memory_order_relaxed);
      data_bytes_.fetch_add(bytes, std::memory_order_relaxed);
      if (sent == n) n = sent = used = 0;
      continue;
    }
    // Idle until the pacer allows the next packet, or briefly, to look for new work.
    const proto::TimeNs next = std::min(worker_.next_deadline(), now + 200 * proto::kUs);
    if (next > now) sleep_until(next);
  }
}

void SendEngine::control_step(proto::TimeNs now, const SendHooks& hooks) {
  proto::DataCompletion c;
  while (completions_.pop(c)) s_.on_completion(c, now);
  if (auto id = s_.poll_cancel()) cancel_.store(*id, std::memory_order_release);
  if (now >= s_.next_deadline()) s_.on_deadline(now);
  while (auto j = s_.poll_job()) {
    while (!jobs_.push(*j)) sleep_until(mono_now() + 50 * proto::kUs);  // never: one at a time
  }
  // A control packet is taken from the session only when the ring has room for it.
  while (ctl_->size() < ctl_->capacity()) {
    auto o = s_.poll_transmit({scratch_->bytes.data(), kMaxPacket}, now);
    if (!o) break;
    scratch_->len = static_cast<std::uint32_t>(o->len);
    scratch_->to = o->to;
    scratch_->encrypt = o->encrypt;
    (void)ctl_->push(*scratch_);
  }
  while (auto ev = s_.poll_event()) {
    if (hooks.on_event) hooks.on_event(*ev);
  }
}

void SendEngine::run(const SendHooks& hooks) {
  io::RxBatch batch(32, 65536);
  thread_ = std::thread([this] { worker_main(); });
  proto::TimeNs now = mono_now();
  s_.start(now);
  proto::TimeNs next_tick = now;
  bool aborted = false;
  while (!s_.finished()) {
    now = mono_now();
    if (hooks.interrupt != nullptr && !aborted && hooks.interrupt->load()) {
      aborted = true;
      s_.abort("interrupted by the operator");
    }
    const std::size_t got = sock_.recv_burst(batch);
    for (std::size_t i = 0; i < got; ++i) s_.on_datagram(batch[i].data, now);
    control_step(now, hooks);
    if (now >= next_tick) {
      if (hooks.on_tick) hooks.on_tick(now);
      next_tick = now + 100 * proto::kMs;
    }
    if (got != 0) continue;
    // Sleep until a response arrives, a timer is due, or 1 ms passes (completions and ring
    // room are polled at that granularity).
    const proto::TimeNs deadline = std::min(s_.next_deadline(), now + proto::kMs);
    const auto wait_ms = static_cast<int>(std::max<proto::TimeNs>(0, deadline - now) / proto::kMs);
    if (deadline > now) (void)sock_.wait_readable(std::max(wait_ms, 1));
  }
  control_step(mono_now(), hooks);
  stop_.store(true, std::memory_order_release);  // the worker drains the ring, then exits
  thread_.join();
}

}  // namespace volley::engine
