// The sending half of the dataplane, sans-I/O: takes one DataJob at a time (a file and the
// blocks of one pass), reads each block from the FileSource straight into the packet, frames it
// as FILESEG around it (no copy), seals it
// with this worker's cipher context and counter range, and hands packets out at the paced rate.
// One instance per worker; not thread-safe; per-packet work allocates nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "crypto/aead.hpp"
#include "dataplane/proto/block_bitmap.hpp"
#include "dataplane/proto/file_source.hpp"
#include "dataplane/proto/framing.hpp"
#include "dataplane/proto/jobs.hpp"
#include "dataplane/proto/pacer.hpp"

namespace volley::proto {

// Each sending worker owns a disjoint slice of the 64-bit IV counter under the group key:
// worker k counts from (k + 1) << 48, so 2^48 packets per worker and session before a slice
// could run into the next (at 10 Mpps, nine months). Slice 0 stays free for control-plane use.
inline constexpr unsigned kIvSliceBits = 48;
[[nodiscard]] constexpr std::uint64_t iv_base_for_worker(unsigned worker) noexcept {
  return (std::uint64_t{worker} + 1) << kIvSliceBits;
}

struct BlockSenderConfig {
  wire::Version version = wire::Version::v5;
  std::uint32_t server_id = 0;
  std::uint32_t group_id = 0;
  std::uint8_t group_inst = 0;
  std::uint64_t rate_bytes_per_s = 0;  // counts IP+UDP+UFTP bytes, as UFTP does; 0 = unpaced
  std::uint64_t burst_bytes = 64 * 1024;
  crypto::Aead* aead = nullptr;
  std::uint64_t iv_base = iv_base_for_worker(0);  // this worker's disjoint IV-counter slice
};

class BlockSender {
 public:
  static constexpr std::size_t kIpUdpOverhead = 28;

  BlockSender(BlockSenderConfig cfg, FileSource& src);

  // Start a job; precondition: !busy().
  void start(const DataJob& job, TimeNs now) noexcept;
  [[nodiscard]] bool busy() const noexcept { return busy_; }
  // When the next packet may go (kNever when idle).
  [[nodiscard]] TimeNs next_deadline() const noexcept;
  // True when a packet may be produced at `now`.
  [[nodiscard]] bool ready(TimeNs now) const noexcept { return busy_ && next_deadline() <= now; }
  // Build the next FILESEG into `out` stamped with `seq`; returns its length, or 0 when not
  // ready. A finished job leaves a completion for poll_completion().
  [[nodiscard]] std::size_t poll_transmit(wire::MutBytes out, TimeNs now,
                                          std::uint16_t seq) noexcept;
  [[nodiscard]] std::optional<DataCompletion> poll_completion() noexcept;
  // Seal a control packet (plaintext, seq final) with this worker's key and counter range, in
  // place (`buf` has room for the wrapper). Returns the new length.
  [[nodiscard]] Result<std::size_t> seal_control(wire::MutBytes buf, std::size_t len) noexcept {
    return wrap_encrypted(buf, len, cfg_.aead, iv_ctr_);
  }
  // Stop job `job_id` now if it is the one running; its completion (with what was sent) follows.
  void cancel(std::uint64_t job_id) noexcept {
    if (busy_ && job_.job_id == job_id) finish(Errc::ok);
  }

  [[nodiscard]] std::uint64_t packets_sent() const noexcept { return packets_; }
  [[nodiscard]] std::uint64_t bytes_sent() const noexcept { return bytes_; }

 private:
  void advance() noexcept;  // move cursor_ to the next block to send
  void finish(Errc e) noexcept;

  BlockSenderConfig cfg_;
  FileSource& src_;
  Pacer pacer_;
  DataJob job_{};
  const BlockBitmap* blocks_ = nullptr;
  std::uint64_t cursor_ = 0;
  bool busy_ = false;
  std::uint64_t iv_ctr_;
  std::uint64_t job_packets_ = 0, job_bytes_ = 0;
  std::uint64_t packets_ = 0, bytes_ = 0;
  std::optional<DataCompletion> done_;
};

}  // namespace volley::proto
