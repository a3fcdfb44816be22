// The receiver's classifier and dataplane half. Every datagram enters here: the header is
// checked, the packet is opened with its session's key, stale packets are dropped (stock UFTP's
// reorder window), FILESEG is placed by the BlockReceiver, and everything else goes to the
// control state machine. Control and the FILESEG path talk only through the SPSC ring pair
// (RxCommand in, RxEvent out), as they will across cores in the threaded engine.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "control/session/receiver.hpp"
#include "dataplane/engine/spsc_ring.hpp"
#include "dataplane/proto/block_receiver.hpp"

namespace volley::engine {

struct RxPipelineStats {
  std::uint64_t datagrams = 0;
  std::uint64_t bad_header = 0;   // not a UFTP packet / undecodable
  std::uint64_t no_key = 0;       // ENCRYPTED for a group we hold no key for
  std::uint64_t auth_failed = 0;  // tag check failed (corrupted or forged)
  std::uint64_t plaintext_in_encrypted = 0;
  std::uint64_t misordered = 0;  // more than max_misorder behind the highest seq seen
  std::uint64_t bad_fileseg = 0;
  std::uint64_t event_overflow = 0;
};

class ReceiverPipeline {
 public:
  // A seq this far or farther behind the highest is a jump, not a late packet.
  static constexpr std::int16_t kSeqJump = 1024;

  ReceiverPipeline(session::Receiver& control, proto::FileStore& store,
                   std::uint16_t max_misorder = 5)
      : c_(control), blocks_(store), max_misorder_(max_misorder) {}

  void on_datagram(const session::PeerAddr& from, wire::MutBytes pkt, proto::TimeNs now);
  [[nodiscard]] std::optional<session::Receiver::Out> poll_transmit(wire::MutBytes out,
                                                                    proto::TimeNs now) {
    pump(now);
    return c_.poll_transmit(out, now);
  }
  [[nodiscard]] proto::TimeNs next_deadline() const noexcept {
    return commands_.empty() && events_.empty() ? c_.next_deadline() : 0;
  }
  void on_deadline(proto::TimeNs now) {
    c_.on_deadline(now);
    pump(now);
  }
  [[nodiscard]] const RxPipelineStats& stats() const noexcept { return stats_; }
  [[nodiscard]] const proto::BlockReceiverStats& block_stats() const noexcept {
    return blocks_.stats();
  }

 private:
  struct Group {
    std::uint32_t id;
    crypto::Aead* aead;
    std::uint16_t highest_seq;
    bool seq_seen;
    proto::TimeNs activity_reported;
  };
  void pump(proto::TimeNs now);
  void apply(const proto::RxCommand& cmd);
  void emit(const proto::RxEvent& ev) noexcept;
  [[nodiscard]] Group* group(std::uint32_t id) noexcept;

  session::Receiver& c_;
  proto::BlockReceiver blocks_;
  std::uint16_t max_misorder_;
  std::vector<Group> groups_;  // dataplane-side view of live sessions
  SpscRing<proto::RxCommand, 64> commands_;
  SpscRing<proto::RxEvent, 1024> events_;
  RxPipelineStats stats_;
};

}  // namespace volley::engine
