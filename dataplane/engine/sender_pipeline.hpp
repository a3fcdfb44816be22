// Connects the sender's control state machine to a dataplane worker through the SPSC ring pair
// the threaded engine uses: jobs control → worker, completions worker → control. Here both ends
// are driven from one thread (the simulator, or a single-core engine); the threaded engine runs
// the worker half on its own core with the same rings and the same BlockSender.
//
// Every server packet, control or data, takes its 16-bit seq from the session's one counter, so
// the wire sees one ordered sequence, as stock receivers require.
#pragma once

#include <optional>

#include "control/session/sender.hpp"
#include "dataplane/engine/spsc_ring.hpp"
#include "dataplane/proto/block_sender.hpp"

namespace volley::engine {

class SenderPipeline {
 public:
  SenderPipeline(session::SenderSession& s, proto::BlockSender& worker) : s_(s), w_(worker) {}

  void start(proto::TimeNs now) {
    s_.start(now);
    pump(now);
  }
  void on_datagram(wire::MutBytes pkt, proto::TimeNs now) {
    s_.on_datagram(pkt, now);
    pump(now);
  }
  // The next packet due at `now`: control first, then paced data.
  [[nodiscard]] std::optional<session::SenderSession::Out> poll_transmit(wire::MutBytes out,
                                                                         proto::TimeNs now);
  [[nodiscard]] proto::TimeNs next_deadline() const noexcept;
  void on_deadline(proto::TimeNs now) {
    s_.on_deadline(now);
    pump(now);
  }
  [[nodiscard]] bool finished() const noexcept { return s_.finished(); }

 private:
  void pump(proto::TimeNs now);

  session::SenderSession& s_;
  proto::BlockSender& w_;
  SpscRing<proto::DataJob, 16> jobs_;
  SpscRing<proto::DataCompletion, 16> completions_;
};

}  // namespace volley::engine
