// Public-key material in UFTP's formats: RSA and EC (P-256/384/521) private keys in PEM files,
// UFTP key blobs and fingerprints, ECDH, and signatures in UFTP's layouts.
//
// Formats (UFTP 5.0.1 / 4.8 encrypt_openssl.c, uftp.h; all integers big-endian):
//   RSA blob   u8 1 (KEYBLOB_RSA), u8 0, u16 modlen, u32 exponent, modulus[modlen] (no leading 0)
//   EC blob    u8 2 (KEYBLOB_EC), u8 curve (23/24/25), u16 keylen, X || Y (uncompressed point
//              without its 0x04 byte; each coordinate left-padded to the field size). UFTP pads the
//              blob with zeros to a multiple of 4, but 2 * field size is already one for all three
//              curves (64, 96, 132), so blob length = 4 + keylen.
//   ECDSA sig  u16 rlen, u16 slen, r, s: 4 + 2 * field size bytes. 5.x (and Volley) left-pads r
//              and s to the field size; 4.x wrote minimal r and s followed by zero padding. verify
//              accepts both.
//   RSA sig    PKCS#1 v1.5 over the hash of the message (RSA_sign with the hash's DigestInfo).
//   Fingerprint SHA-1(blob), printed as 20 upper-case hex pairs joined by ':' (print_key_
//              fingerprint: "%02X" and ':'), e.g. 9C:21:E7:...:B1.
//   ECDH       raw shared secret = X coordinate, field size bytes; premaster = SHA-1(secret) in v4,
//              SHA-256(secret) in v5 (whatever the session hash).
//
// Thread context: control path. Keys are immutable after creation; const member functions may be
// called from several threads at once. Copies share the underlying OpenSSL key.
// Errors: Result/Status with an Errc; where an `std::string* why` is offered, a human-readable
// reason is stored there on failure (it may include OpenSSL's reason text).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/bytes.hpp"
#include "crypto/hash.hpp"
#include "dataplane/wire/result.hpp"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY, opaque here

namespace volley::crypto {

// Key-blob type codes (uftp.h KEYBLOB_*).
enum class KeyKind : std::uint8_t { rsa = 1, ec = 2 };

// EC curve codes (uftp.h CURVE_*; the TLS NamedCurve numbers). 4.x also had codes 1-22 for other
// curves; 5.x and Volley accept only these three.
enum class Curve : std::uint8_t { secp256r1 = 23, secp384r1 = 24, secp521r1 = 25 };

// Coordinate / scalar size in bytes: 32, 48, 66.
[[nodiscard]] std::size_t curve_field_len(Curve c) noexcept;
// OpenSSL's (and uftp_keymgt's) name: "prime256v1", "secp384r1", "secp521r1".
[[nodiscard]] std::string_view curve_name(Curve c) noexcept;
[[nodiscard]] std::optional<Curve> curve_from_code(std::uint8_t code) noexcept;
// Accepts prime256v1/secp256r1/P-256, secp384r1/P-384, secp521r1/P-521 (case-sensitive).
[[nodiscard]] std::optional<Curve> curve_from_name(std::string_view name) noexcept;

// Key sizes: generation follows UFTP 5 (RSA 1024-3072 bits: a 3072-bit blob is the largest
// stock's PUBKEY_LEN holds); decoding also takes 4.x's small keys (512 bits) up to 4096.
inline constexpr unsigned kRsaMinGenBits = 1024;
inline constexpr unsigned kRsaMaxGenBits = 3072;
inline constexpr unsigned kRsaMinBits = 512;
inline constexpr unsigned kRsaMaxBits = 4096;

namespace detail {
// Shared ownership of an OpenSSL EVP_PKEY (reference counted by OpenSSL).
class PkeyRef {
 public:
  PkeyRef() = default;
  explicit PkeyRef(evp_pkey_st* owned) noexcept : p_(owned) {}
  PkeyRef(const PkeyRef& o) noexcept;
  PkeyRef(PkeyRef&& o) noexcept : p_(o.p_) { o.p_ = nullptr; }
  PkeyRef& operator=(PkeyRef o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  ~PkeyRef();
  [[nodiscard]] evp_pkey_st* get() const noexcept { return p_; }

 private:
  evp_pkey_st* p_ = nullptr;
};
}  // namespace detail

class PrivateKey;

class PublicKey {
 public:
  // Decode and validate a UFTP key blob: exact length, known type and curve, RSA modulus odd and
  // kRsaMinBits..kRsaMaxBits with an odd exponent >= 3, EC point on the curve.
  // Errors: truncated / bad_length / bad_value.
  [[nodiscard]] static Result<PublicKey> from_blob(Bytes blob, std::string* why = nullptr);

  [[nodiscard]] KeyKind kind() const noexcept { return kind_; }
  [[nodiscard]] std::optional<Curve> curve() const noexcept { return curve_; }
  [[nodiscard]] unsigned bits() const noexcept { return bits_; }
  // The UFTP key blob (canonical encoding; equals the decoded input).
  [[nodiscard]] const std::vector<std::uint8_t>& blob() const noexcept { return blob_; }
  // UFTP fingerprint of the blob: "9C:21:...".
  [[nodiscard]] std::string fingerprint() const;
  // Length of this key's signatures in UFTP's layout.
  [[nodiscard]] std::size_t signature_len() const noexcept;
  // Check a UFTP-layout signature over Hash_t(data). auth_failed when it does not verify,
  // bad_value for an unusable hash type.
  [[nodiscard]] Status verify(HashType t, Bytes data, Bytes sig) const;

 private:
  friend class PrivateKey;
  PublicKey() = default;
  detail::PkeyRef key_;
  KeyKind kind_ = KeyKind::ec;
  std::optional<Curve> curve_;
  unsigned bits_ = 0;
  std::vector<std::uint8_t> blob_;
};

class PrivateKey {
 public:
  [[nodiscard]] static Result<PrivateKey> generate_ec(Curve c);
  // bits in kRsaMinGenBits..kRsaMaxGenBits; exponent odd >= 3. Errors: bad_value.
  [[nodiscard]] static Result<PrivateKey> generate_rsa(unsigned bits,
                                                       std::uint32_t exponent = 65537);
  // Parse an unencrypted PEM private key: "RSA PRIVATE KEY", "EC PRIVATE KEY" (what uftp_keymgt
  // writes) or PKCS#8 "PRIVATE KEY". Errors: bad_value (not a key, encrypted, unsupported type
  // or curve).
  [[nodiscard]] static Result<PrivateKey> from_pem(std::string_view pem,
                                                   std::string* why = nullptr);
  // Read from_pem() input from a file. Errors: not_found, io_error, bad_value.
  [[nodiscard]] static Result<PrivateKey> load_pem(const std::filesystem::path& path,
                                                   std::string* why = nullptr);

  // Unencrypted PEM in the traditional per-type form uftp_keymgt writes and stock peers read
  // ("EC PRIVATE KEY" with a named curve, "RSA PRIVATE KEY").
  [[nodiscard]] Result<std::string> to_pem() const;
  // Write to_pem() to a NEW file with mode 0600 (O_CREAT | O_EXCL: never overwrites, never
  // follows a symlink). Errors: exists, io_error (the partial file is removed).
  [[nodiscard]] Status save_pem(const std::filesystem::path& path,
                                std::string* why = nullptr) const;

  [[nodiscard]] KeyKind kind() const noexcept { return pub_.kind(); }
  [[nodiscard]] std::optional<Curve> curve() const noexcept { return pub_.curve(); }
  [[nodiscard]] unsigned bits() const noexcept { return pub_.bits(); }
  [[nodiscard]] const PublicKey& public_key() const noexcept { return pub_; }
  // As uftp_keymgt prints it: "ECDSA, curve prime256v1" or "RSA, 2048 bits".
  [[nodiscard]] std::string description() const;

  // Sign Hash_t(data) in UFTP's layout (see the top of this file). Errors: bad_value.
  [[nodiscard]] Result<std::vector<std::uint8_t>> sign(HashType t, Bytes data) const;

  // ECDH: the raw shared secret (X coordinate, curve_field_len bytes) with a peer's public key.
  // Both keys must be EC on the same curve; the peer point is validated again. Errors: bad_value.
  [[nodiscard]] Result<std::vector<std::uint8_t>> ecdh(const PublicKey& peer,
                                                       std::string* why = nullptr) const;

 private:
  PrivateKey() = default;
  static Result<PrivateKey> adopt(detail::PkeyRef key, std::string* why);
  PublicKey pub_;  // shares the same EVP_PKEY
};

// ECDH premaster secrets from the raw shared secret.
[[nodiscard]] Result<Digest> ecdh_premaster_v4(Bytes shared_secret);  // SHA-1(secret)
[[nodiscard]] Result<Digest> ecdh_premaster_v5(Bytes shared_secret);  // SHA-256(secret)

// Fingerprint of a key blob: SHA-1 (UFTP's) or SHA-256 (for display next to it).
[[nodiscard]] Result<Digest> fingerprint(Bytes blob, HashType t = HashType::sha1);
// "AB:CD:..." (upper-case hex pairs joined by ':'); "" for empty input.
[[nodiscard]] std::string format_fingerprint(Bytes fp);
// Inverse of format_fingerprint (hex case-insensitive; 1-2 hex digits per byte as stock's
// parser allows). Errors: bad_value for anything else or more than kMaxHashLen bytes.
[[nodiscard]] Result<std::vector<std::uint8_t>> parse_fingerprint(std::string_view text);

}  // namespace volley::crypto
