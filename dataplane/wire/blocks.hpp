// Block / section arithmetic exactly as stock UFTP computes it (reference §3.5):
//   blocks   = ceil(size / blocksize)
//   maxsec   = min(8 * blocksize, 65536)      (one section's NAK bitmap fits in one block)
//   sections = ceil(blocks / maxsec)
//   small = blocks / sections, big = small + 1, big_sections = blocks - small * sections;
//   the first big_sections sections hold `big` blocks, the rest `small`.
// A receiver must redo exactly this to turn FILESEG (section, sec_block) into a byte offset.
// Everything is noexcept and allocation-free; all but the two Result-returning functions are
// constexpr (Result<T> is not a literal type).
#pragma once

#include <cstdint>

#include "dataplane/wire/result.hpp"

namespace volley::wire {

struct BlockPos {
  std::uint32_t section = 0;
  std::uint32_t sec_block = 0;
  friend bool operator==(const BlockPos&, const BlockPos&) = default;
};

class FileLayout {
 public:
  // Errc::bad_value when blocksize is outside [1, 65535] or the file needs more than 65535
  // sections (the 16-bit wire field would wrap; stock UFTP silently breaks there).
  [[nodiscard]] static Result<FileLayout> make(std::uint64_t size,
                                               std::uint32_t blocksize) noexcept {
    if (blocksize == 0 || blocksize > 0xFFFF) return Errc::bad_value;
    FileLayout l;
    l.size_ = size;
    l.blocksize_ = blocksize;
    l.blocks_ = size / blocksize + (size % blocksize != 0 ? 1 : 0);  // no overflow near 2^64
    l.maxsec_ = blocksize * 8 < 65536 ? blocksize * 8 : 65536;
    std::uint64_t sections = l.blocks_ / l.maxsec_ + (l.blocks_ % l.maxsec_ != 0 ? 1 : 0);
    if (sections > 0xFFFF) return Errc::bad_value;
    l.sections_ = static_cast<std::uint32_t>(sections);
    if (l.sections_ != 0) {
      l.small_ = static_cast<std::uint32_t>(l.blocks_ / l.sections_);
      l.big_sections_ =
          static_cast<std::uint32_t>(l.blocks_ - std::uint64_t{l.small_} * l.sections_);
    }
    return l;
  }

  [[nodiscard]] constexpr std::uint64_t size() const noexcept { return size_; }
  [[nodiscard]] constexpr std::uint32_t blocksize() const noexcept { return blocksize_; }
  [[nodiscard]] constexpr std::uint64_t blocks() const noexcept { return blocks_; }
  // 0 for an empty file.
  [[nodiscard]] constexpr std::uint32_t sections() const noexcept { return sections_; }
  [[nodiscard]] constexpr std::uint32_t max_section_blocks() const noexcept { return maxsec_; }
  [[nodiscard]] constexpr std::uint32_t section_blocks(std::uint32_t section) const noexcept {
    if (section >= sections_) return 0;
    return section < big_sections_ ? small_ + 1 : small_;
  }
  [[nodiscard]] constexpr std::uint64_t section_first_block(std::uint32_t section) const noexcept {
    std::uint64_t s = section;
    return s <= big_sections_
               ? s * (small_ + 1)
               : std::uint64_t{big_sections_} * (small_ + 1) + (s - big_sections_) * small_;
  }
  [[nodiscard]] constexpr BlockPos locate(std::uint64_t block) const noexcept {
    if (small_ == 0) return {sections_, 0};  // empty file: nothing to locate (no div by 0)
    const std::uint64_t big_span = std::uint64_t{big_sections_} * (small_ + 1);
    if (block < big_span) {
      return {static_cast<std::uint32_t>(block / (small_ + 1)),
              static_cast<std::uint32_t>(block % (small_ + 1))};
    }
    const std::uint64_t rest = block - big_span;
    return {static_cast<std::uint32_t>(big_sections_ + rest / small_),
            static_cast<std::uint32_t>(rest % small_)};
  }
  // Block index of (section, sec_block); Errc::bad_value when out of range.
  [[nodiscard]] Result<std::uint64_t> block_index(std::uint32_t section,
                                                  std::uint32_t sec_block) const noexcept {
    if (section >= sections_ || sec_block >= section_blocks(section)) return Errc::bad_value;
    return section_first_block(section) + sec_block;
  }
  [[nodiscard]] constexpr std::uint64_t block_offset(std::uint64_t block) const noexcept {
    return block * blocksize_;
  }
  // Length of one block: blocksize, except the file's last block, which may be short.
  [[nodiscard]] constexpr std::uint32_t block_len(std::uint64_t block) const noexcept {
    if (block + 1 < blocks_) return blocksize_;
    if (block >= blocks_) return 0;
    return static_cast<std::uint32_t>(size_ - block * blocksize_);
  }
  // Bytes of a STATUS NAK bitmap for a section: blocks_in_section/8 + 1 (as UFTP sends it).
  [[nodiscard]] constexpr std::uint32_t nak_bitmap_len(std::uint32_t section) const noexcept {
    return section_blocks(section) / 8 + 1;
  }

 private:
  std::uint64_t size_ = 0;
  std::uint64_t blocks_ = 0;
  std::uint32_t blocksize_ = 0;
  std::uint32_t maxsec_ = 0;
  std::uint32_t sections_ = 0;
  std::uint32_t small_ = 0;
  std::uint32_t big_sections_ = 0;
};

}  // namespace volley::wire
