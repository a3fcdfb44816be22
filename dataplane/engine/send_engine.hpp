// The sender's threaded engine over the kernel-socket backend: the control thread (the caller of
// run()) drives the SenderSession and reads receiver responses; one dataplane worker thread is
// the socket's only transmitter. Control packets and data jobs reach the worker through SPSC
// rings, completions come back through one, so the worker can stamp every packet with the next
// seq in the order it puts them on the wire (stock receivers drop a packet more than five seq
// behind the highest they have seen).
//
// The worker frames FILESEGs back to back in one arena, so runs of equal-sized blocks leave as
// UDP GSO messages; it paces with the BlockSender's token bucket and never allocates, locks or
// makes a syscall per packet.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>

#include "control/session/sender.hpp"
#include "dataplane/engine/spsc_ring.hpp"
#include "dataplane/io/udp_socket.hpp"
#include "dataplane/proto/block_sender.hpp"

namespace volley::engine {

struct SendEngineConfig {
  wire::Endpoint public_dest;   // ANNOUNCE goes here (the receiver itself in unicast mode)
  wire::Endpoint private_dest;  // everything after the announce
  proto::BlockSenderConfig block;
};

struct SendHooks {
  std::function<void(const session::SenderEvent&)> on_event;  // control thread
  std::function<void(proto::TimeNs now)> on_tick;             // every ~100 ms, control thread
  const std::atomic<bool>* interrupt = nullptr;               // set: abort the session
};

class SendEngine {
 public:
  static constexpr std::size_t kMaxPacket = 9216;
  static constexpr std::size_t kBatch = 64;

  SendEngine(session::SenderSession& session, proto::FileSource& src, io::UdpSocket& sock,
             SendEngineConfig cfg);
  ~SendEngine();
  SendEngine(const SendEngine&) = delete;
  SendEngine& operator=(const SendEngine&) = delete;

  // Runs the whole session on the calling thread (plus the worker); returns when it finished.
  void run(const SendHooks& hooks);

  [[nodiscard]] std::uint64_t data_packets() const noexcept {
    return data_packets_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t data_bytes() const noexcept {
    return data_bytes_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t tx_stalls() const noexcept {
    return tx_stalls_.load(std::memory_order_relaxed);
  }

 private:
  struct CtlPacket {
    std::uint32_t len = 0;
    session::SendTo to = session::SendTo::private_group;
    bool encrypt = false;
    std::array<std::uint8_t, kMaxPacket> bytes;
  };
  void worker_main() noexcept;
  void control_step(proto::TimeNs now, const SendHooks& hooks);

  session::SenderSession& s_;
  io::UdpSocket& sock_;
  SendEngineConfig cfg_;
  proto::BlockSender worker_;
  std::unique_ptr<SpscRing<CtlPacket, 32>> ctl_;
  SpscRing<proto::DataJob, 16> jobs_;
  SpscRing<proto::DataCompletion, 16> completions_;
  std::unique_ptr<CtlPacket> scratch_;  // control thread's build buffer
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> cancel_{0};  // control → worker: stop this job id (0: none)
  std::atomic<std::uint64_t> data_packets_{0}, data_bytes_{0}, tx_stalls_{0};
  std::thread thread_;
};

}  // namespace volley::engine
