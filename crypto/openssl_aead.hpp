// AES-GCM and AES-CCM behind the Aead seam (crypto/aead.hpp), on OpenSSL 3 EVP.
//
// One instance per (core, key). The cipher and key are installed once, at construction, into two
// EVP contexts (one for seal, one for open, so an instance does both); per packet only the
// 12-byte nonce = make_nonce(base_iv, counter) is set. seal/open are noexcept and never
// allocate. An instance is NOT thread-safe: each worker owns its own.
//
// Both ciphers use UFTP's parameters: 12-byte nonce, 16-byte tag (uftp.h GCM_/CCM_IV_LEN and
// _TAG_LEN). The caller supplies the AAD (for ENCRYPTED: the 16-byte UFTP header + the 12-byte
// encrypted header) and seals the payload in place.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "crypto/aead.hpp"
#include "crypto/bytes.hpp"
#include "dataplane/wire/result.hpp"

struct evp_cipher_ctx_st;  // OpenSSL's EVP_CIPHER_CTX, opaque here

namespace volley::crypto {

// UFTP key-type codes as carried in EXT_ENC_INFO.keytype (uftp.h KEY_*; 5.0.1 keeps 3-4 for v4
// only; 1 = DES and 2 = 3DES are obsolete and not implemented).
enum class KeyType : std::uint8_t {
  none = 0,
  aes128_cbc = 3,  // v4 only (KEYINFO group-master wrapping, CBC sessions); not an AEAD
  aes256_cbc = 4,
  aes128_gcm = 5,
  aes256_gcm = 6,
  aes128_ccm = 7,
  aes256_ccm = 8,
};

inline constexpr std::size_t kAeadTagLen = 16;

// Key length in bytes (16 or 32); 0 for none or an unknown code.
[[nodiscard]] std::size_t key_len(KeyType t) noexcept;
// True for the GCM and CCM codes.
[[nodiscard]] bool is_aead(KeyType t) noexcept;
// The code as a KeyType when it is one of the codes above, else none.
[[nodiscard]] KeyType key_type_from_code(std::uint8_t code) noexcept;

// v4 (0x40) AEAD nonce base: bytes 0..3 = salt XOR src_id (big-endian, as on the wire), bytes
// 4..11 = 0, so make_nonce(v4_base_iv(salt, src_id), ctr) = (salt ^ src_id) || ctr_be64, which is
// UFTP 4's build_iv4 for 12-byte IVs. src_id is the sending member's ID as a host integer.
[[nodiscard]] inline Nonce v4_base_iv(std::span<const std::uint8_t, 4> salt,
                                      std::uint32_t src_id) noexcept {
  Nonce n{};
  for (std::size_t i = 0; i < 4; ++i)
    n[i] = static_cast<std::uint8_t>(salt[i] ^ static_cast<std::uint8_t>(src_id >> (24 - 8 * i)));
  return n;
}

enum class AeadMode : std::uint8_t { gcm, ccm };

// AesGcm and AesCcm (below) are the two instances of this template; use those names.
template <AeadMode M>
class EvpAead final : public Aead {
 public:
  // key: 16 bytes (AES-128) or 32 bytes (AES-256). Errors: bad_length for another key size,
  // bad_value if OpenSSL cannot set the cipher up.
  [[nodiscard]] static Result<std::unique_ptr<EvpAead>> create(Bytes key, const Nonce& base_iv);
  ~EvpAead() override;
  EvpAead(const EvpAead&) = delete;
  EvpAead& operator=(const EvpAead&) = delete;

  [[nodiscard]] std::size_t tag_len() const noexcept override { return kAeadTagLen; }
  // tag.size() must be 16; data at most 1 GiB (GCM) or 2^24 - 1 bytes (CCM with a 12-byte
  // nonce). False only on misuse or an internal failure.
  [[nodiscard]] bool seal(std::uint64_t counter, Bytes aad, MutBytes data,
                          MutBytes tag) noexcept override;
  // False on a bad tag (data is then zeroed: no unauthenticated plaintext is handed out) or on
  // misuse (data untouched).
  [[nodiscard]] bool open(std::uint64_t counter, Bytes aad, MutBytes data,
                          Bytes tag) noexcept override;

 private:
  explicit EvpAead(const Nonce& base_iv) noexcept : base_iv_(base_iv) {}
  evp_cipher_ctx_st* enc_ = nullptr;  // seal context: cipher + key installed once
  evp_cipher_ctx_st* dec_ = nullptr;  // open context: likewise
  Nonce base_iv_;
};

extern template class EvpAead<AeadMode::gcm>;
extern template class EvpAead<AeadMode::ccm>;
using AesGcm = EvpAead<AeadMode::gcm>;
using AesCcm = EvpAead<AeadMode::ccm>;

// The AEAD for a UFTP key type. Errors: bad_value for none/CBC/unknown types, bad_length when
// key.size() != key_len(t).
[[nodiscard]] Result<std::unique_ptr<Aead>> make_aead(KeyType t, Bytes key, const Nonce& base_iv);

}  // namespace volley::crypto
