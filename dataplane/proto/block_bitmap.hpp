// One bit per block of a file: the sender's NAK list ("blocks to resend") and the receiver's
// receive map ("blocks held"). Words are 64-bit; helpers convert to and from the wire's
// LSB-first per-section STATUS bitmaps (bit i of a section = byte i>>3, mask 1<<(i&7)).
//
// Threading: the receive map is written by one dataplane worker and read by the control thread
// to build STATUS. Words are std::atomic<uint64_t> accessed with relaxed loads/stores by the
// single writer (no read-modify-write), so a reader sees each word whole; a slightly stale view
// only over-reports missing blocks, which costs a redundant repair, never a wrong file.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace volley::proto {

class BlockBitmap {
 public:
  BlockBitmap() = default;
  explicit BlockBitmap(std::uint64_t nbits);
  BlockBitmap(BlockBitmap&&) noexcept = default;
  BlockBitmap& operator=(BlockBitmap&&) noexcept = default;

  [[nodiscard]] std::uint64_t size() const noexcept { return nbits_; }
  [[nodiscard]] bool test(std::uint64_t i) const noexcept;
  // Single-writer updates (relaxed load + store of the word).
  void set(std::uint64_t i) noexcept;
  void reset(std::uint64_t i) noexcept;
  // Returns true when the bit was newly set (used to count duplicates).
  bool test_and_set(std::uint64_t i) noexcept;
  void set_all() noexcept;
  void clear_all() noexcept;
  [[nodiscard]] std::uint64_t count() const noexcept;  // set bits
  [[nodiscard]] bool all() const noexcept { return count() == nbits_; }
  [[nodiscard]] bool none() const noexcept { return count() == 0; }
  // First set bit at or after `from`, or size() when none.
  [[nodiscard]] std::uint64_t find_next_set(std::uint64_t from) const noexcept;
  // First clear bit at or after `from`, or size() when none.
  [[nodiscard]] std::uint64_t find_next_clear(std::uint64_t from) const noexcept;
  // Set bits counted over [first, first+n).
  [[nodiscard]] std::uint64_t count_range(std::uint64_t first, std::uint64_t n) const noexcept;

  // OR a wire bitmap (LSB first, bit k -> block first+k, k < n) into this one. Bits past the
  // end of `wire` or past n are ignored. Returns how many bits were newly set.
  std::uint64_t merge_wire(std::uint64_t first, std::uint64_t n,
                           std::span<const std::uint8_t> wire) noexcept;
  // Write blocks [first, first+n) as a wire bitmap into `out` (zeroed first), with bit k set
  // when block first+k is CLEAR here (i.e. missing). Returns the number of missing blocks.
  std::uint64_t write_missing_wire(std::uint64_t first, std::uint64_t n,
                                   std::span<std::uint8_t> out) const noexcept;

 private:
  std::unique_ptr<std::atomic<std::uint64_t>[]> words_;
  std::uint64_t nbits_ = 0;
  std::size_t nwords_ = 0;
};

}  // namespace volley::proto
