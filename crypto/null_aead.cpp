#include <cstring>

#include "crypto/aead.hpp"

namespace volley::crypto {
namespace {
// Two independent 64-bit FNV-1a style lanes with a final avalanche (splitmix64).
std::uint64_t mix(std::uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
void absorb(std::uint64_t& a, std::uint64_t& b, std::span<const std::uint8_t> bytes) noexcept {
  for (std::uint8_t c : bytes) {
    a = (a ^ c) * 0x100000001b3ULL;
    b = (b ^ c) * 0x00000100000001b3ULL + 0x9e3779b97f4a7c15ULL;
  }
}
}  // namespace

void NullAead::compute_tag(std::uint64_t counter, std::span<const std::uint8_t> aad,
                           std::span<const std::uint8_t> data,
                           std::uint8_t out[16]) const noexcept {
  const Nonce nonce = make_nonce(base_iv_, counter);
  std::uint64_t a = 0xcbf29ce484222325ULL ^ key_;
  std::uint64_t b = mix(key_ + 1);
  absorb(a, b, nonce);
  absorb(a, b, aad);
  const std::uint64_t aad_len = aad.size();
  absorb(a, b, {reinterpret_cast<const std::uint8_t*>(&aad_len), sizeof aad_len});
  absorb(a, b, data);
  const std::uint64_t t0 = mix(a ^ data.size());
  const std::uint64_t t1 = mix(b + t0);
  std::memcpy(out, &t0, 8);
  std::memcpy(out + 8, &t1, 8);
}

bool NullAead::seal(std::uint64_t counter, std::span<const std::uint8_t> aad,
                    std::span<std::uint8_t> data, std::span<std::uint8_t> tag) noexcept {
  if (tag.size() != 16) return false;
  compute_tag(counter, aad, data, tag.data());
  return true;
}

bool NullAead::open(std::uint64_t counter, std::span<const std::uint8_t> aad,
                    std::span<std::uint8_t> data, std::span<const std::uint8_t> tag) noexcept {
  if (tag.size() != 16) return false;
  std::uint8_t want[16];
  compute_tag(counter, aad, data, want);
  return std::memcmp(want, tag.data(), 16) == 0;
}

}  // namespace volley::crypto
