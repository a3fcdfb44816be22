// The AEAD seam. Sessions and dataplane workers seal and open through this interface; the
// OpenSSL AES-GCM/CCM implementations (crypto issue) and the NullAead used by the simulator both
// sit behind it. One instance per (core, key): set-up happens at construction, never per packet.
//
// Nonce: 12 bytes = the key's base IV XOR the 64-bit counter (big-endian, right-aligned), as
// UFTP 5 builds it. The counter travels in the ENCRYPTED header.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace volley::crypto {

inline constexpr std::size_t kNonceLen = 12;
using Nonce = std::array<std::uint8_t, kNonceLen>;

[[nodiscard]] inline Nonce make_nonce(const Nonce& base_iv, std::uint64_t counter) noexcept {
  Nonce n = base_iv;
  for (std::size_t i = 0; i < 8; ++i) n[11 - i] ^= static_cast<std::uint8_t>(counter >> (8 * i));
  return n;
}

class Aead {
 public:
  virtual ~Aead() = default;
  [[nodiscard]] virtual std::size_t tag_len() const noexcept = 0;
  // Encrypt `data` in place and write the tag. Returns false only on an internal failure.
  [[nodiscard]] virtual bool seal(std::uint64_t counter, std::span<const std::uint8_t> aad,
                                  std::span<std::uint8_t> data,
                                  std::span<std::uint8_t> tag) noexcept = 0;
  // Check the tag and decrypt `data` in place. False (and data unspecified) on a bad tag.
  [[nodiscard]] virtual bool open(std::uint64_t counter, std::span<const std::uint8_t> aad,
                                  std::span<std::uint8_t> data,
                                  std::span<const std::uint8_t> tag) noexcept = 0;
};

// No confidentiality, real sizes, real integrity against accidents: the 16-byte tag is a keyed
// 128-bit checksum over (key, nonce, aad, data), so flipped bits are detected and dropped exactly
// where a real AEAD would drop them. For the simulator and tests only; never on a real network.
class NullAead final : public Aead {
 public:
  explicit NullAead(std::uint64_t key, const Nonce& base_iv = {}) noexcept
      : key_(key), base_iv_(base_iv) {}
  [[nodiscard]] std::size_t tag_len() const noexcept override { return 16; }
  [[nodiscard]] bool seal(std::uint64_t counter, std::span<const std::uint8_t> aad,
                          std::span<std::uint8_t> data,
                          std::span<std::uint8_t> tag) noexcept override;
  [[nodiscard]] bool open(std::uint64_t counter, std::span<const std::uint8_t> aad,
                          std::span<std::uint8_t> data,
                          std::span<const std::uint8_t> tag) noexcept override;

 private:
  void compute_tag(std::uint64_t counter, std::span<const std::uint8_t> aad,
                   std::span<const std::uint8_t> data, std::uint8_t out[16]) const noexcept;
  std::uint64_t key_;
  Nonce base_iv_;
};

}  // namespace volley::crypto
