#include "crypto/openssl_aead.hpp"

#include <array>
#include <cstring>

#include "crypto/detail/openssl_raii.hpp"

namespace volley::crypto {
namespace {

// Per-call lengths go to OpenSSL as int; cap them well below INT_MAX.
constexpr std::size_t kMaxLen = std::size_t{1} << 30;
// CCM with a 12-byte nonce has a 3-byte length field.
constexpr std::size_t kCcmMaxLen = (std::size_t{1} << 24) - 1;

const EVP_CIPHER* fetched_cipher(const char* name) noexcept {
  // Fetched explicitly (the EVP_aes_*() getters would re-fetch on every init); held for the
  // process lifetime by the callers' statics.
  return EVP_CIPHER_fetch(nullptr, name, nullptr);
}

const EVP_CIPHER* gcm_cipher(std::size_t key_bytes) noexcept {
  static const EVP_CIPHER* const g128 = fetched_cipher("AES-128-GCM");
  static const EVP_CIPHER* const g256 = fetched_cipher("AES-256-GCM");
  return key_bytes == 16 ? g128 : key_bytes == 32 ? g256 : nullptr;
}

const EVP_CIPHER* ccm_cipher(std::size_t key_bytes) noexcept {
  static const EVP_CIPHER* const c128 = fetched_cipher("AES-128-CCM");
  static const EVP_CIPHER* const c256 = fetched_cipher("AES-256-CCM");
  return key_bytes == 16 ? c128 : key_bytes == 32 ? c256 : nullptr;
}

int as_int(std::size_t n) noexcept {
  return static_cast<int>(n);
}

// Installs cipher, nonce length, (CCM) tag length and key into a fresh context.
bool init_ctx(EVP_CIPHER_CTX* ctx, const EVP_CIPHER* cipher, bool ccm, bool encrypt,
              Bytes key) noexcept {
  const int enc = encrypt ? 1 : 0;
  if (EVP_CipherInit_ex(ctx, cipher, nullptr, nullptr, nullptr, enc) != 1) return false;
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, as_int(kNonceLen), nullptr) != 1)
    return false;
  // CCM encodes the tag length into its first block, so it must be known before any message.
  if (ccm && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, as_int(kAeadTagLen), nullptr) != 1)
    return false;
  return EVP_CipherInit_ex(ctx, nullptr, nullptr, key.data(), nullptr, enc) == 1;
}

bool lengths_ok(Bytes aad, std::size_t data_len, std::size_t tag_len, std::size_t max) noexcept {
  return tag_len == kAeadTagLen && data_len <= max && aad.size() <= kMaxLen;
}

}  // namespace

std::size_t key_len(KeyType t) noexcept {
  switch (t) {
    case KeyType::aes128_cbc:
    case KeyType::aes128_gcm:
    case KeyType::aes128_ccm:
      return 16;
    case KeyType::aes256_cbc:
    case KeyType::aes256_gcm:
    case KeyType::aes256_ccm:
      return 32;
    case KeyType::none:
      break;
  }
  return 0;
}

bool is_aead(KeyType t) noexcept {
  return t == KeyType::aes128_gcm || t == KeyType::aes256_gcm || t == KeyType::aes128_ccm ||
         t == KeyType::aes256_ccm;
}

KeyType key_type_from_code(std::uint8_t code) noexcept {
  return code >= 3 && code <= 8 ? static_cast<KeyType>(code) : KeyType::none;
}

// ---- EvpAead ----
// GCM: IV, AAD, data, final, tag. CCM is one-shot: the IV, the total length, the AAD, then all
// data in one update (which, on open, also checks the tag set beforehand).

template <AeadMode M>
Result<std::unique_ptr<EvpAead<M>>> EvpAead<M>::create(Bytes key, const Nonce& base_iv) {
  if (key.size() != 16 && key.size() != 32) return Errc::bad_length;
  constexpr bool ccm = M == AeadMode::ccm;
  const EVP_CIPHER* cipher = ccm ? ccm_cipher(key.size()) : gcm_cipher(key.size());
  if (cipher == nullptr) return Errc::bad_value;
  std::unique_ptr<EvpAead> self(new EvpAead(base_iv));
  self->enc_ = EVP_CIPHER_CTX_new();
  self->dec_ = EVP_CIPHER_CTX_new();
  if (self->enc_ == nullptr || self->dec_ == nullptr ||
      !init_ctx(self->enc_, cipher, ccm, true, key) ||
      !init_ctx(self->dec_, cipher, ccm, false, key)) {
    ERR_clear_error();
    return Errc::bad_value;
  }
  return self;
}

template <AeadMode M>
EvpAead<M>::~EvpAead() {
  EVP_CIPHER_CTX_free(enc_);
  EVP_CIPHER_CTX_free(dec_);
}

template <AeadMode M>
bool EvpAead<M>::seal(std::uint64_t counter, Bytes aad, MutBytes data, MutBytes tag) noexcept {
  constexpr bool ccm = M == AeadMode::ccm;
  if (!lengths_ok(aad, data.size(), tag.size(), ccm ? kCcmMaxLen : kMaxLen)) return false;
  EVP_CIPHER_CTX* c = enc_;
  const Nonce iv = make_nonce(base_iv_, counter);
  std::uint8_t scratch[16];
  int n = 0;
  if (EVP_EncryptInit_ex(c, nullptr, nullptr, nullptr, iv.data()) != 1) return false;
  if (ccm && EVP_EncryptUpdate(c, nullptr, &n, nullptr, as_int(data.size())) != 1) return false;
  if (!aad.empty() && EVP_EncryptUpdate(c, nullptr, &n, aad.data(), as_int(aad.size())) != 1)
    return false;
  if (ccm || !data.empty()) {  // CCM needs its one data update even for no data
    std::uint8_t* p = data.empty() ? scratch : data.data();
    if (EVP_EncryptUpdate(c, p, &n, p, as_int(data.size())) != 1) return false;
  }
  if (EVP_EncryptFinal_ex(c, scratch, &n) != 1) return false;
  return EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, as_int(kAeadTagLen), tag.data()) == 1;
}

template <AeadMode M>
bool EvpAead<M>::open(std::uint64_t counter, Bytes aad, MutBytes data, Bytes tag) noexcept {
  constexpr bool ccm = M == AeadMode::ccm;
  if (!lengths_ok(aad, data.size(), tag.size(), ccm ? kCcmMaxLen : kMaxLen)) return false;
  EVP_CIPHER_CTX* c = dec_;
  const Nonce iv = make_nonce(base_iv_, counter);
  std::array<std::uint8_t, kAeadTagLen> want;  // ctrl takes a non-const pointer
  std::memcpy(want.data(), tag.data(), kAeadTagLen);
  std::uint8_t scratch[16];
  int n = 0;
  if (EVP_DecryptInit_ex(c, nullptr, nullptr, nullptr, iv.data()) != 1) return false;
  if (ccm) {
    if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, as_int(kAeadTagLen), want.data()) != 1 ||
        EVP_DecryptUpdate(c, nullptr, &n, nullptr, as_int(data.size())) != 1)
      return false;
  }
  if (!aad.empty() && EVP_DecryptUpdate(c, nullptr, &n, aad.data(), as_int(aad.size())) != 1)
    return false;
  std::uint8_t* p = data.empty() ? scratch : data.data();
  bool ok = false;
  if constexpr (ccm) {
    ok = EVP_DecryptUpdate(c, p, &n, p, as_int(data.size())) == 1;  // OpenSSL wipes on failure
  } else {
    ok = (data.empty() || EVP_DecryptUpdate(c, p, &n, p, as_int(data.size())) == 1) &&
         EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, as_int(kAeadTagLen), want.data()) == 1 &&
         EVP_DecryptFinal_ex(c, scratch, &n) == 1;
    if (!ok && !data.empty()) std::memset(data.data(), 0, data.size());  // never hand it out
  }
  return ok;
}

template class EvpAead<AeadMode::gcm>;
template class EvpAead<AeadMode::ccm>;

Result<std::unique_ptr<Aead>> make_aead(KeyType t, Bytes key, const Nonce& base_iv) {
  if (!is_aead(t)) return Errc::bad_value;
  if (key.size() != key_len(t)) return Errc::bad_length;
  auto upcast = [](auto r) -> Result<std::unique_ptr<Aead>> {
    if (!r) return r.error();
    return std::unique_ptr<Aead>(std::move(r).value());
  };
  if (t == KeyType::aes128_gcm || t == KeyType::aes256_gcm)
    return upcast(AesGcm::create(key, base_iv));
  return upcast(AesCcm::create(key, base_iv));
}

}  // namespace volley::crypto
