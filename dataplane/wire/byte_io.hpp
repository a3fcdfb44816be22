// Bounds-checked big-endian cursor over untrusted bytes (Reader) and over an output buffer
// (Writer). Never cast packet bytes to structs: read them field by field through these.
// Both are noexcept and allocation-free; a failed read or write latches the cursor into an
// error state, so callers check once at the end (ok()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace volley::wire {

using Bytes = std::span<const std::uint8_t>;
using MutBytes = std::span<std::uint8_t>;

[[nodiscard]] inline std::uint16_t load_be16(const std::uint8_t* p) noexcept {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
[[nodiscard]] inline std::uint32_t load_be32(const std::uint8_t* p) noexcept {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}
[[nodiscard]] inline std::uint64_t load_be64(const std::uint8_t* p) noexcept {
  return (std::uint64_t{load_be32(p)} << 32) | load_be32(p + 4);
}
inline void store_be16(std::uint8_t* p, std::uint16_t v) noexcept {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
inline void store_be32(std::uint8_t* p, std::uint32_t v) noexcept {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}
inline void store_be64(std::uint8_t* p, std::uint64_t v) noexcept {
  store_be32(p, static_cast<std::uint32_t>(v >> 32));
  store_be32(p + 4, static_cast<std::uint32_t>(v));
}

class Reader {
 public:
  explicit Reader(Bytes b) noexcept : b_(b) {}

  [[nodiscard]] bool ok() const noexcept { return ok_; }
  [[nodiscard]] std::size_t pos() const noexcept { return pos_; }
  [[nodiscard]] std::size_t remaining() const noexcept { return ok_ ? b_.size() - pos_ : 0; }
  [[nodiscard]] bool has(std::size_t n) const noexcept { return ok_ && b_.size() - pos_ >= n; }

  std::uint8_t u8() noexcept { return has(1) ? b_[pos_++] : fail8(); }
  std::uint16_t u16() noexcept {
    if (!has(2)) return fail8();
    auto v = load_be16(&b_[pos_]);
    pos_ += 2;
    return v;
  }
  std::uint32_t u32() noexcept {
    if (!has(4)) return fail8();
    auto v = load_be32(&b_[pos_]);
    pos_ += 4;
    return v;
  }
  std::uint64_t u64() noexcept {
    if (!has(8)) return fail8();
    auto v = load_be64(&b_[pos_]);
    pos_ += 8;
    return v;
  }
  // A view of the next n bytes (empty and failed when short).
  Bytes bytes(std::size_t n) noexcept {
    if (!has(n)) {
      ok_ = false;
      return {};
    }
    Bytes v = b_.subspan(pos_, n);
    pos_ += n;
    return v;
  }
  void copy(std::uint8_t* out, std::size_t n) noexcept {
    Bytes v = bytes(n);
    if (!v.empty()) std::memcpy(out, v.data(), n);
  }
  void skip(std::size_t n) noexcept { (void)bytes(n); }
  Bytes rest() noexcept { return bytes(remaining()); }

 private:
  std::uint8_t fail8() noexcept {
    ok_ = false;
    return 0;
  }
  Bytes b_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

class Writer {
 public:
  explicit Writer(MutBytes b) noexcept : b_(b) {}

  [[nodiscard]] bool ok() const noexcept { return ok_; }
  [[nodiscard]] std::size_t pos() const noexcept { return pos_; }
  [[nodiscard]] bool has(std::size_t n) const noexcept { return ok_ && b_.size() - pos_ >= n; }
  // Pointer to already-written bytes, for back-patching length fields.
  [[nodiscard]] std::uint8_t* at(std::size_t off) noexcept { return b_.data() + off; }

  void u8(std::uint8_t v) noexcept {
    if (reserve(1)) b_[pos_++] = v;
  }
  void u16(std::uint16_t v) noexcept {
    if (reserve(2)) store_be16(&b_[pos_], v), pos_ += 2;
  }
  void u32(std::uint32_t v) noexcept {
    if (reserve(4)) store_be32(&b_[pos_], v), pos_ += 4;
  }
  void u64(std::uint64_t v) noexcept {
    if (reserve(8)) store_be64(&b_[pos_], v), pos_ += 8;
  }
  void bytes(Bytes v) noexcept {
    if (reserve(v.size()) && !v.empty())
      std::memcpy(&b_[pos_], v.data(), v.size()), pos_ += v.size();
  }
  void zeros(std::size_t n) noexcept {
    if (reserve(n)) std::memset(&b_[pos_], 0, n), pos_ += n;
  }
  // Reserve n bytes and return them for the caller to fill (nullptr on overflow).
  std::uint8_t* claim(std::size_t n) noexcept {
    if (!reserve(n)) return nullptr;
    std::uint8_t* p = &b_[pos_];
    pos_ += n;
    return p;
  }

 private:
  bool reserve(std::size_t n) noexcept {
    if (!has(n)) ok_ = false;
    return ok_;
  }
  MutBytes b_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace volley::wire
