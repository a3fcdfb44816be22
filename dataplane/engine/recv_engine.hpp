// The receiver's threaded engine over the kernel-socket backend. The dataplane worker thread
// owns the socket's receive side: it drains datagrams in bursts through RxDataplane (FILESEGs
// are placed right there) and passes every control packet, already opened, to the control
// thread through an SPSC ring. The control thread (the caller of run()) drives the Receiver
// state machine, moves RxCommands/RxEvents across their rings, sends the responses, and keeps
// the socket's multicast memberships in step with the live sessions.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "control/session/receiver.hpp"
#include "dataplane/engine/rx_dataplane.hpp"
#include "dataplane/io/udp_socket.hpp"

namespace volley::engine {

struct RecvHooks {
  std::function<void(const session::ReceiverEvent&)> on_event;  // control thread
  std::function<void(proto::TimeNs now)> on_tick;               // every ~100 ms
  std::function<bool()> done;  // checked after events: true ends run() (e.g. N sessions)
  const std::atomic<bool>* interrupt = nullptr;        // set: stop (partial files kept for resume)
  std::function<void(const std::string&)> on_warning;  // e.g. a multicast join that failed
};

class RecvEngine {
 public:
  static constexpr std::size_t kMaxPacket = 9216;

  RecvEngine(session::Receiver& control, RxDataplane& dp, io::UdpSocket& sock,
             std::string interface);
  ~RecvEngine();
  RecvEngine(const RecvEngine&) = delete;
  RecvEngine& operator=(const RecvEngine&) = delete;

  void run(const RecvHooks& hooks);

  [[nodiscard]] std::uint64_t control_overflow() const noexcept {
    return ctl_overflow_.load(std::memory_order_relaxed);
  }

 private:
  struct CtlIn {
    wire::Endpoint from;
    wire::Header header;
    wire::MsgType type = wire::MsgType::announce;
    bool was_encrypted = false;
    std::uint32_t len = 0;
    std::array<std::uint8_t, kMaxPacket> body;
  };
  void worker_main() noexcept;
  void sync_groups(const RecvHooks& hooks);

  session::Receiver& c_;
  RxDataplane& dp_;
  io::UdpSocket& sock_;
  std::string interface_;
  std::unique_ptr<SpscRing<CtlIn, 64>> ctl_;
  std::unique_ptr<CtlIn> scratch_;
  std::vector<wire::IpAddr> joined_;  // private groups joined
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> ctl_overflow_{0};
  std::thread thread_;
};

}  // namespace volley::engine
