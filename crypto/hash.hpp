// Hashes and HMAC by UFTP hash-type code (uftp.h HASH_*; identical in 4.x and 5.0).
//
// Thread context: every function is reentrant and may be called from any thread. They allocate
// (an OpenSSL context per call), so they belong on the control path, not per packet.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>

#include "crypto/bytes.hpp"
#include "dataplane/wire/result.hpp"

namespace volley::crypto {

// UFTP hash-type codes as carried in EXT_ENC_INFO.hashtype.
enum class HashType : std::uint8_t {
  none = 0,
  md5 = 1,   // 4.x only, and only inside the TLS 1.1 PRF; never negotiated by Volley
  sha1 = 2,  // 4.x sessions; in 5.x only for HB_REQ signatures and key fingerprints
  sha256 = 3,
  sha384 = 4,
  sha512 = 5,
};

inline constexpr std::size_t kMaxHashLen = 64;  // SHA-512

// Output length in bytes; 0 for none or an unknown code.
[[nodiscard]] std::size_t hash_len(HashType t) noexcept;
// The code as a HashType when it is one this module implements (md5..sha512), else none.
[[nodiscard]] HashType hash_type_from_code(std::uint8_t code) noexcept;

// A hash or HMAC value: up to kMaxHashLen bytes, `len` of them used.
struct Digest {
  std::array<std::uint8_t, kMaxHashLen> bytes{};
  std::size_t len = 0;
  [[nodiscard]] Bytes view() const noexcept { return {bytes.data(), len}; }
  [[nodiscard]] std::size_t size() const noexcept { return len; }
  friend bool operator==(const Digest& a, const Digest& b) noexcept {
    return a.len == b.len && std::equal(a.bytes.begin(), a.bytes.begin() + a.len, b.bytes.begin());
  }
};

// Hash of the concatenation of `parts`. Errors: bad_value for none/unknown types.
[[nodiscard]] Result<Digest> hash_parts(HashType t, std::span<const Bytes> parts);
// HMAC(key, concatenation of `parts`) (RFC 2104). An empty key is allowed (it is equivalent to
// any all-zero key up to the block size). Errors: bad_value for none/unknown types.
[[nodiscard]] Result<Digest> hmac_parts(HashType t, Bytes key, std::span<const Bytes> parts);

// Variadic forms: hash(HashType::sha256, a, b, c) where each part converts to Bytes.
template <typename... Parts>
[[nodiscard]] Result<Digest> hash(HashType t, const Parts&... parts) {
  const std::array<Bytes, sizeof...(Parts)> list{Bytes(parts)...};
  return hash_parts(t, list);
}
template <typename... Parts>
[[nodiscard]] Result<Digest> hmac(HashType t, Bytes key, const Parts&... parts) {
  const std::array<Bytes, sizeof...(Parts)> list{Bytes(parts)...};
  return hmac_parts(t, key, list);
}

}  // namespace volley::crypto
