// The receiver's dataplane half (RxDataplane) and control state machine joined on one thread,
// for the simulator and single-core use: the same rings the threaded engine uses sit between
// them, and pump() moves commands and events across until both sides are quiet.
#pragma once

#include <optional>

#include "control/session/receiver.hpp"
#include "dataplane/engine/rx_dataplane.hpp"

namespace volley::engine {

class ReceiverPipeline {
 public:
  ReceiverPipeline(session::Receiver& control, proto::FileStore& store,
                   std::uint16_t max_misorder = 5)
      : c_(control), dp_(store, max_misorder) {}

  void on_datagram(const session::PeerAddr& from, wire::MutBytes pkt, proto::TimeNs now);
  [[nodiscard]] std::optional<session::Receiver::Out> poll_transmit(wire::MutBytes out,
                                                                    proto::TimeNs now) {
    pump(now);
    return c_.poll_transmit(out, now);
  }
  [[nodiscard]] proto::TimeNs next_deadline() const noexcept {
    return dp_.rings_empty() ? c_.next_deadline() : 0;
  }
  void on_deadline(proto::TimeNs now) {
    c_.on_deadline(now);
    pump(now);
  }
  [[nodiscard]] const RxPipelineStats& stats() const noexcept { return dp_.stats(); }
  [[nodiscard]] const proto::BlockReceiverStats& block_stats() const noexcept {
    return dp_.block_stats();
  }

 private:
  void pump(proto::TimeNs now);

  session::Receiver& c_;
  RxDataplane dp_;
};

// Moves the control side's commands onto the ring and the dataplane's events into control until
// neither has more. `drain` runs the dataplane side when the command ring fills (single-thread
// use); the threaded engine passes a no-op and lets the worker drain.
template <typename Drain>
inline bool pump_control(session::Receiver& c, RxDataplane& dp, proto::TimeNs now, Drain&& drain) {
  bool any = false;
  while (auto cmd = c.poll_command()) {
    while (!dp.commands().push(*cmd)) drain();
    any = true;
  }
  proto::RxEvent ev;
  while (dp.events().pop(ev)) {
    c.on_rx_event(ev, now);
    any = true;
  }
  return any;
}

}  // namespace volley::engine
