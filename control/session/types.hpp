// Types the sans-I/O sessions exchange with whatever drives them (the simulator or the engine).
#pragma once

#include <cstdint>
#include <string>

#include "dataplane/proto/jobs.hpp"
#include "dataplane/proto/time.hpp"
#include "dataplane/wire/blocks.hpp"
#include "dataplane/wire/messages.hpp"

namespace volley::session {

using proto::DurationNs;
using proto::TimeNs;

// Network address of a peer as the I/O layer reports it.
using PeerAddr = wire::Endpoint;

// Where a sender's packet goes. In unicast mode both groups mean the one receiver.
enum class SendTo : std::uint8_t { public_group, private_group };

// Outcome of one file at one receiver, as both ends report it.
enum class FileOutcome : std::uint8_t {
  pending,    // not decided yet
  copied,     // received, did not exist before
  overwrote,  // received, replaced an existing entry
  skipped,    // sync mode: receiver's copy is as new
  rejected,   // refused by the receiver (bad name, no space, ...)
  failed,     // the receiver was dropped or the session ended first
};
[[nodiscard]] std::string_view outcome_name(FileOutcome o) noexcept;
[[nodiscard]] FileOutcome outcome_from_status(wire::CompStatus s) noexcept;

using proto::DataCompletion;
using proto::DataJob;
using proto::RxCommand;
using proto::RxEvent;

}  // namespace volley::session
