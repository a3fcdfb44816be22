// The receiving half of the dataplane, sans-I/O: places FILESEG payloads into the open file of
// their session, marks them in the receive bitmap (single writer) and reports what control
// needs to know — a new highest section (the NAK trigger), a full file, a write failure — as
// RxEvents through the caller's sink. Bad or unexpected packets are dropped and counted.
//
// Writes are combined: consecutive blocks of one file are gathered (pointing into the caller's
// packet buffers) and written with one gathered write when the run breaks, fills up, or the
// caller calls flush() — which it must do before those buffers are reused (the end of a receive
// burst). A block's bit is set only once its bytes are written, so the bitmap never claims
// data the file does not hold; file_full follows the write that completes the file.
//
// One instance per worker; per-packet work allocates nothing and never throws.
#pragma once

#include <array>
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
  std::uint64_t writes = 0;  // gathered writes issued (placed / writes = blocks per syscall)
};

class BlockReceiver {
 public:
  static constexpr std::size_t kMaxRun = 64;  // blocks per gathered write
  using Sink = void (*)(void* ctx, const RxEvent& ev) noexcept;

  BlockReceiver(FileStore& store, Sink sink, void* ctx) : store_(store), sink_(sink), ctx_(ctx) {
    slots_.reserve(16);
  }

  // Precondition: cmd.kind == file_open.
  void open(const RxCommand& cmd);
  void close(std::uint32_t group_id, std::uint16_t file_id) noexcept;
  // Place one FILESEG (its data must stay valid until the next flush()).
  void on_fileseg(std::uint32_t group_id, const wire::FileSeg& seg) noexcept;
  // Write out the pending run; its events follow.
  void flush() noexcept;
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
  struct Run {
    std::size_t slot = 0;
    std::uint64_t first = 0;  // first block
    std::size_t count = 0;    // 0 = no run pending
    std::array<std::span<const std::uint8_t>, kMaxRun> parts{};
  };
  void emit(const RxEvent& ev) noexcept { sink_(ctx_, ev); }

  FileStore& store_;
  Sink sink_;
  void* ctx_;
  std::vector<Slot> slots_;
  Run run_;
  BlockReceiverStats stats_;
};

}  // namespace volley::proto
