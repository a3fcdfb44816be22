// Messages between the control thread and dataplane workers. All trivially copyable, so they
// travel through SpscRing by value; pointers inside are owned by the control side and stay valid
// until the matching completion / close.
#pragma once

#include <cstdint>

#include "dataplane/wire/blocks.hpp"
#include "dataplane/wire/result.hpp"

namespace volley::proto {

// Sender → dataplane: send the blocks of one file for one pass.
// `blocks` (nullptr = every block) stays alive and unchanged until the matching completion.
struct DataJob {
  std::uint64_t job_id = 0;
  std::uint16_t file_id = 0;
  std::uint32_t entry = 0;  // index into the FileSource
  wire::FileLayout layout{};
  const void* blocks = nullptr;  // const proto::BlockBitmap*
  std::uint32_t pass = 0;
  std::uint8_t grtt_q = 0;
  std::uint8_t gsize_q = 0;
};
// Dataplane → sender: a job finished.
struct DataCompletion {
  std::uint64_t job_id = 0;
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
  Errc error = Errc::ok;  // e.g. a read error on the source file
};

// Receiver control → dataplane: session and file set-up for the FILESEG path.
struct RxCommand {
  enum class Kind : std::uint8_t {
    group_add,
    group_remove,
    file_open,
    file_close,
    group_key,  // the group's key is now known: `aead` opens its packets
  } kind{};
  std::uint32_t group_id = 0;
  std::uint16_t file_id = 0;
  std::uint32_t handle = 0;   // file_open: FileStore handle
  wire::FileLayout layout{};  // file_open
  void* received =
      nullptr;  // file_open: proto::BlockBitmap*, owned by control, written by the dataplane
  void* aead = nullptr;    // group_add/group_key: crypto::Aead* for the group (nullptr: none yet)
  bool encrypted = false;  // group_add: the session is encrypted (plaintext data is refused)
};
// Dataplane → receiver control.
struct RxEvent {
  enum class Kind : std::uint8_t {
    section_advanced,  // first packet of a section beyond every earlier one: the NAK trigger
    file_full,         // every block placed
    write_failed,      // the FileStore refused a block (disk full, I/O error)
    file_closed,       // ack of file_close: the dataplane no longer touches the bitmap
    group_removed,     // ack of group_remove
    activity,          // the group saw traffic (at most every 10 ms): keeps the session alive
  } kind{};
  std::uint32_t group_id = 0;
  std::uint16_t file_id = 0;
  std::uint32_t section = 0;  // section_advanced: the new highest section seen
  Errc error = Errc::ok;
};

}  // namespace volley::proto
