// BlockBitmap: 64-bit words, bit i of the bitmap = bit (i & 63) of word (i >> 6).
// Invariant: bits past nbits_ in the last word are always zero, so whole-word scans and counts
// need no masking except where a search for a clear bit could run past the end.
//
// Every mutation is a relaxed load + relaxed store of a word (single writer, see the header);
// readers on other threads use relaxed loads and see each word whole.
#include "dataplane/proto/block_bitmap.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

namespace volley::proto {
namespace {

constexpr std::uint64_t kWordBits = 64;
constexpr std::uint64_t kAllOnes = ~std::uint64_t{0};

// Mask of the low `n` bits, n in [0, 64].
[[nodiscard]] constexpr std::uint64_t low_mask(std::uint64_t n) noexcept {
  return n >= kWordBits ? kAllOnes : (std::uint64_t{1} << n) - 1;
}

// Up to 8 bytes of a little-endian byte stream starting at `byte`, zero past the end.
[[nodiscard]] std::uint64_t load_le(std::span<const std::uint8_t> bytes,
                                    std::size_t byte) noexcept {
  if (byte >= bytes.size()) return 0;
  const std::size_t avail = bytes.size() - byte;
  if (avail >= 8) {
    std::uint64_t v;
    std::memcpy(&v, bytes.data() + byte, 8);
    if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
    return v;
  }
  std::uint64_t v = 0;
  for (std::size_t k = 0; k < avail; ++k) v |= std::uint64_t{bytes[byte + k]} << (8 * k);
  return v;
}

// Store the low `nbytes` (<= 8) bytes of v, little endian.
void store_le(std::uint8_t* out, std::uint64_t v, std::size_t nbytes) noexcept {
  if (nbytes == 8) {
    if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
    std::memcpy(out, &v, 8);
    return;
  }
  for (std::size_t k = 0; k < nbytes; ++k) out[k] = static_cast<std::uint8_t>(v >> (8 * k));
}

}  // namespace

BlockBitmap::BlockBitmap(std::uint64_t nbits)
    : words_(std::make_unique<std::atomic<std::uint64_t>[]>(
          static_cast<std::size_t>((nbits + kWordBits - 1) / kWordBits))),
      nbits_(nbits),
      nwords_(static_cast<std::size_t>((nbits + kWordBits - 1) / kWordBits)) {
  for (std::size_t w = 0; w < nwords_; ++w) words_[w].store(0, std::memory_order_relaxed);
}

bool BlockBitmap::test(std::uint64_t i) const noexcept {
  if (i >= nbits_) return false;
  const std::uint64_t w = words_[i / kWordBits].load(std::memory_order_relaxed);
  return ((w >> (i % kWordBits)) & 1) != 0;
}

void BlockBitmap::set(std::uint64_t i) noexcept {
  if (i >= nbits_) return;
  auto& word = words_[i / kWordBits];
  const std::uint64_t bit = std::uint64_t{1} << (i % kWordBits);
  const std::uint64_t w = word.load(std::memory_order_relaxed);
  if ((w & bit) == 0) word.store(w | bit, std::memory_order_relaxed);
}

void BlockBitmap::reset(std::uint64_t i) noexcept {
  if (i >= nbits_) return;
  auto& word = words_[i / kWordBits];
  const std::uint64_t bit = std::uint64_t{1} << (i % kWordBits);
  const std::uint64_t w = word.load(std::memory_order_relaxed);
  if ((w & bit) != 0) word.store(w & ~bit, std::memory_order_relaxed);
}

bool BlockBitmap::test_and_set(std::uint64_t i) noexcept {
  if (i >= nbits_) return false;
  auto& word = words_[i / kWordBits];
  const std::uint64_t bit = std::uint64_t{1} << (i % kWordBits);
  const std::uint64_t w = word.load(std::memory_order_relaxed);
  if ((w & bit) != 0) return false;
  word.store(w | bit, std::memory_order_relaxed);
  return true;
}

void BlockBitmap::set_all() noexcept {
  if (nwords_ == 0) return;
  for (std::size_t w = 0; w + 1 < nwords_; ++w)
    words_[w].store(kAllOnes, std::memory_order_relaxed);
  const std::uint64_t tail = nbits_ % kWordBits;
  words_[nwords_ - 1].store(tail == 0 ? kAllOnes : low_mask(tail), std::memory_order_relaxed);
}

void BlockBitmap::clear_all() noexcept {
  for (std::size_t w = 0; w < nwords_; ++w) words_[w].store(0, std::memory_order_relaxed);
}

std::uint64_t BlockBitmap::count() const noexcept {
  std::uint64_t n = 0;
  for (std::size_t w = 0; w < nwords_; ++w) {
    n += static_cast<std::uint64_t>(std::popcount(words_[w].load(std::memory_order_relaxed)));
  }
  return n;
}

std::uint64_t BlockBitmap::find_next_set(std::uint64_t from) const noexcept {
  if (from >= nbits_) return nbits_;
  std::size_t w = static_cast<std::size_t>(from / kWordBits);
  std::uint64_t bits = words_[w].load(std::memory_order_relaxed) & (kAllOnes << (from % kWordBits));
  while (bits == 0) {
    if (++w == nwords_) return nbits_;
    bits = words_[w].load(std::memory_order_relaxed);
  }
  // Bits past nbits_ are zero, so a hit is always in range.
  return w * kWordBits + static_cast<std::uint64_t>(std::countr_zero(bits));
}

std::uint64_t BlockBitmap::find_next_clear(std::uint64_t from) const noexcept {
  if (from >= nbits_) return nbits_;
  std::size_t w = static_cast<std::size_t>(from / kWordBits);
  std::uint64_t bits =
      ~words_[w].load(std::memory_order_relaxed) & (kAllOnes << (from % kWordBits));
  while (bits == 0) {
    if (++w == nwords_) return nbits_;
    bits = ~words_[w].load(std::memory_order_relaxed);
  }
  // The padding past nbits_ reads as clear here; clamp.
  return std::min(nbits_, w * kWordBits + static_cast<std::uint64_t>(std::countr_zero(bits)));
}

std::uint64_t BlockBitmap::count_range(std::uint64_t first, std::uint64_t n) const noexcept {
  if (first >= nbits_) return 0;
  const std::uint64_t end = first + std::min(n, nbits_ - first);
  if (end == first) return 0;
  const std::size_t w0 = static_cast<std::size_t>(first / kWordBits);
  const std::size_t w1 = static_cast<std::size_t>((end - 1) / kWordBits);  // last word touched
  const std::uint64_t head_mask = kAllOnes << (first % kWordBits);
  const std::uint64_t tail_mask = low_mask(end - std::uint64_t{w1} * kWordBits);
  if (w0 == w1) {
    const std::uint64_t v = words_[w0].load(std::memory_order_relaxed) & head_mask & tail_mask;
    return static_cast<std::uint64_t>(std::popcount(v));
  }
  std::uint64_t total = static_cast<std::uint64_t>(
      std::popcount(words_[w0].load(std::memory_order_relaxed) & head_mask));
  for (std::size_t w = w0 + 1; w < w1; ++w) {
    total += static_cast<std::uint64_t>(std::popcount(words_[w].load(std::memory_order_relaxed)));
  }
  total += static_cast<std::uint64_t>(
      std::popcount(words_[w1].load(std::memory_order_relaxed) & tail_mask));
  return total;
}

std::uint64_t BlockBitmap::merge_wire(std::uint64_t first, std::uint64_t n,
                                      std::span<const std::uint8_t> wire) noexcept {
  if (first >= nbits_) return 0;
  // Usable wire bits: limited by n, by the wire length and by the end of this bitmap.
  n = std::min({n, std::uint64_t{wire.size()} * 8, nbits_ - first});
  if (n == 0) return 0;
  // Stream the wire 64 bits at a time (byte-aligned loads). Chunk j (wire bits [64j, 64j+64))
  // lands in word w0+j shifted up by `lead`; its top `lead` bits carry into word w0+j+1.
  const unsigned lead = static_cast<unsigned>(first % kWordBits);
  std::size_t w = static_cast<std::size_t>(first / kWordBits);
  std::uint64_t carry = 0;
  std::uint64_t added = 0;
  auto or_into = [&](std::size_t idx, std::uint64_t in) noexcept {
    auto& word = words_[idx];
    const std::uint64_t old = word.load(std::memory_order_relaxed);
    const std::uint64_t fresh = in & ~old;
    if (fresh != 0) {
      word.store(old | fresh, std::memory_order_relaxed);
      added += static_cast<std::uint64_t>(std::popcount(fresh));
    }
  };
  for (std::uint64_t pos = 0; pos < n; pos += kWordBits, ++w) {
    const std::uint64_t chunk =
        load_le(wire, static_cast<std::size_t>(pos / 8)) & low_mask(n - pos);  // drop bits >= n
    or_into(w, (chunk << lead) | carry);
    carry = lead == 0 ? 0 : chunk >> (kWordBits - lead);
  }
  // Spill of the last chunk; nonzero only for bits below first + n, so word w exists.
  if (carry != 0) or_into(w, carry);
  return added;
}

std::uint64_t BlockBitmap::write_missing_wire(std::uint64_t first, std::uint64_t n,
                                              std::span<std::uint8_t> out) const noexcept {
  if (!out.empty()) std::memset(out.data(), 0, out.size());
  if (first >= nbits_) return 0;
  n = std::min({n, std::uint64_t{out.size()} * 8, nbits_ - first});
  if (n == 0) return 0;
  const std::size_t w0 = static_cast<std::size_t>(first / kWordBits);
  const unsigned shift = static_cast<unsigned>(first % kWordBits);
  const std::size_t out_bytes = static_cast<std::size_t>((n + 7) / 8);
  std::uint64_t missing = 0;
  // Chunk j covers wire bits [64j, 64j+64) = bitmap bits [first+64j, first+64j+64), which
  // span words w0+j and (when unaligned) w0+j+1.
  for (std::uint64_t pos = 0; pos < n; pos += kWordBits) {
    const std::size_t w = w0 + static_cast<std::size_t>(pos / kWordBits);
    std::uint64_t held = words_[w].load(std::memory_order_relaxed) >> shift;
    if (shift != 0 && w + 1 < nwords_) {
      held |= words_[w + 1].load(std::memory_order_relaxed) << (kWordBits - shift);
    }
    const std::uint64_t chunk = ~held & low_mask(n - pos);
    missing += static_cast<std::uint64_t>(std::popcount(chunk));
    const std::size_t byte = static_cast<std::size_t>(pos / 8);
    store_le(out.data() + byte, chunk, std::min<std::size_t>(8, out_bytes - byte));
  }
  return missing;
}

}  // namespace volley::proto
