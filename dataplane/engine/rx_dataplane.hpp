// The receiver's dataplane half: every datagram enters here. The header is checked, the packet
// is opened with its session's key, stale packets are dropped (stock UFTP's reorder window),
// FILESEG is placed by the BlockReceiver, and everything else is handed back to the caller for
// the control state machine. Control talks to this half only through its two SPSC rings
// (RxCommand in, RxEvent out), so the half can run on its own core.
//
// Thread context: on_datagram/drain_commands on the dataplane thread; commands().push and
// events().pop on the control thread. Per-packet work allocates nothing and takes no lock.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "dataplane/engine/spsc_ring.hpp"
#include "dataplane/proto/block_receiver.hpp"
#include "dataplane/proto/framing.hpp"
#include "dataplane/proto/jobs.hpp"
#include "dataplane/proto/time.hpp"

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

class RxDataplane {
 public:
  // A seq this far or farther behind the highest is a jump, not a late packet.
  static constexpr std::int16_t kSeqJump = 1024;
  static constexpr std::size_t kMaxGroups = 256;
  using CommandRing = SpscRing<proto::RxCommand, 64>;
  using EventRing = SpscRing<proto::RxEvent, 1024>;

  explicit RxDataplane(proto::FileStore& store, std::uint16_t max_misorder = 5)
      : blocks_(store, &RxDataplane::sink, this), max_misorder_(max_misorder) {
    groups_.reserve(kMaxGroups);
  }

  // Classify one datagram (decrypted in place). Returns the opened packet when it is for the
  // control thread; nullopt when it was FILESEG (placed) or dropped (counted).
  [[nodiscard]] std::optional<proto::Opened> on_datagram(wire::MutBytes pkt,
                                                         proto::TimeNs now) noexcept;
  // Apply queued control commands; returns how many.
  std::size_t drain_commands() noexcept;
  // End of a receive burst: write out the combined blocks (the packet buffers are reused next).
  void end_burst() noexcept { blocks_.flush(); }

  // No command or event waiting on either ring.
  [[nodiscard]] bool rings_empty() const noexcept { return commands_.empty() && events_.empty(); }
  [[nodiscard]] CommandRing& commands() noexcept { return commands_; }
  [[nodiscard]] EventRing& events() noexcept { return events_; }
  [[nodiscard]] const RxPipelineStats& stats() const noexcept { return stats_; }
  [[nodiscard]] const proto::BlockReceiverStats& block_stats() const noexcept {
    return blocks_.stats();
  }

 private:
  struct Group {
    std::uint32_t id;
    crypto::Aead* aead;
    bool encrypted;
    std::uint16_t highest_seq;
    bool seq_seen;
    proto::TimeNs activity_reported;
  };
  void apply(const proto::RxCommand& cmd) noexcept;
  void emit(const proto::RxEvent& ev) noexcept;
  static void sink(void* self, const proto::RxEvent& ev) noexcept {
    static_cast<RxDataplane*>(self)->emit(ev);
  }
  [[nodiscard]] Group* group(std::uint32_t id) noexcept;

  proto::BlockReceiver blocks_;
  std::uint16_t max_misorder_;
  std::vector<Group> groups_;  // live sessions; capacity reserved, never reallocates
  CommandRing commands_;
  EventRing events_;
  RxPipelineStats stats_;
};

}  // namespace volley::engine
