// The receiving half of the dataplane, sans-I/O: places FILESEG payloads into the open file of
// their session, marks them in the receive bitmap (single writer) and reports what control
// needs to know — a new highest section (the NAK trigger), a full file, a write failure — as
// RxEvents through the caller's sink. Bad or unexpected packets are dropped and counted.
// One instance per worker; per-packet work allocates nothing and never throws.
#pragma once

#include <cstdint>
#include <vector>

#include "dataplane/proto/block_bitmap.hpp"
#include "dataplane/proto/file_store.hpp"
#include "dataplane/proto/jobs.hpp"
#include "dataplane/wire/messages.hpp"

namespace volley::proto {

struct BlockReceiverStats {
  std::uint64_t placed = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t unknown_file = 0;  // no open file for (group, file id)
  std::uint64_t bad_block = 0;     // section/block out of range or wrong length
  std::uint64_t write_errors = 0;
};

class BlockReceiver {
 public:
  explicit BlockReceiver(FileStore& store) : store_(store) { slots_.reserve(16); }

  // Precondition: cmd.kind == file_open.
  void open(const RxCommand& cmd);
  void close(std::uint32_t group_id, std::uint16_t file_id) noexcept;
  // Place one FILESEG; returns true when it produced an event in `ev`.
  [[nodiscard]] bool on_fileseg(std::uint32_t group_id, const wire::FileSeg& seg,
                                RxEvent& ev) noexcept;
  [[nodiscard]] const BlockReceiverStats& stats() const noexcept { return stats_; }

 private:
  struct Slot {
    std::uint32_t group_id;
    std::uint16_t file_id;
    FileHandle handle;
    wire::FileLayout layout;
    BlockBitmap* received;
    std::int64_t highest_section;
    std::uint64_t missing;
    bool failed;
  };
  FileStore& store_;
  std::vector<Slot> slots_;
  BlockReceiverStats stats_;
};

}  // namespace volley::proto
