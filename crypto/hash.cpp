#include "crypto/hash.hpp"

#include <array>
#include <cstring>

#include "crypto/detail/openssl_algs.hpp"
#include "crypto/detail/openssl_raii.hpp"

namespace volley::crypto {

void secure_zero(MutBytes b) noexcept {
  if (!b.empty()) OPENSSL_cleanse(b.data(), b.size());
}

namespace detail {

std::string take_openssl_errors() {
  std::string out;
  char buf[256];
  while (const unsigned long e = ERR_get_error()) {
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

namespace {
// Indexed by the UFTP code (HashType value); index 0 (none) is empty.
struct HashAlg {
  const char* name;  // OpenSSL's
  std::size_t len;
};
constexpr std::array<HashAlg, 6> kHashAlgs{{
    {nullptr, 0},
    {"MD5", 16},
    {"SHA1", 20},
    {"SHA256", 32},
    {"SHA384", 48},
    {"SHA512", 64},
}};
constexpr std::size_t index_of(HashType t) noexcept {
  const auto i = static_cast<std::size_t>(t);
  return i < kHashAlgs.size() ? i : 0;
}
}  // namespace

const EVP_MD* evp_md(HashType t) noexcept {
  // Explicitly fetched once per process (a thread-safe static); the implicit fetch behind
  // EVP_sha256() and friends would repeat the provider look-up on every use.
  static const std::array<EVP_MD*, kHashAlgs.size()> kMds = [] {
    std::array<EVP_MD*, kHashAlgs.size()> mds{};
    for (std::size_t i = 1; i < kHashAlgs.size(); ++i)
      mds[i] = EVP_MD_fetch(nullptr, kHashAlgs[i].name, nullptr);
    return mds;
  }();
  return kMds[index_of(t)];
}

const char* md_name(HashType t) noexcept {
  return kHashAlgs[index_of(t)].name;
}

}  // namespace detail

std::size_t hash_len(HashType t) noexcept {
  return detail::kHashAlgs[detail::index_of(t)].len;
}

HashType hash_type_from_code(std::uint8_t code) noexcept {
  return code >= 1 && code <= 5 ? static_cast<HashType>(code) : HashType::none;
}

Result<Digest> hash_parts(HashType t, std::span<const Bytes> parts) {
  const EVP_MD* md = detail::evp_md(t);
  if (md == nullptr) return Errc::bad_value;
  detail::MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1) return Errc::bad_value;
  for (Bytes p : parts) {
    if (!p.empty() && EVP_DigestUpdate(ctx.get(), p.data(), p.size()) != 1) return Errc::bad_value;
  }
  Digest d;
  unsigned int n = 0;
  if (EVP_DigestFinal_ex(ctx.get(), d.bytes.data(), &n) != 1) return Errc::bad_value;
  d.len = n;
  return d;
}

Result<Digest> hmac_parts(HashType t, Bytes key, std::span<const Bytes> parts) {
  const char* name = detail::md_name(t);
  if (name == nullptr) return Errc::bad_value;
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (mac == nullptr) return Errc::bad_value;
  detail::MacCtxPtr ctx(EVP_MAC_CTX_new(mac));
  if (!ctx) return Errc::bad_value;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(name), 0),
      OSSL_PARAM_construct_end()};
  // HMAC pads the key with zeros to the block size, so an empty key and a one-byte zero key
  // give the same MAC; OpenSSL's HMAC provider wants at least one key byte.
  static constexpr std::uint8_t kZero[1] = {0};
  if (key.empty()) key = Bytes(kZero);
  if (EVP_MAC_init(ctx.get(), key.data(), key.size(), params) != 1) return Errc::bad_value;
  for (Bytes p : parts) {
    if (!p.empty() && EVP_MAC_update(ctx.get(), p.data(), p.size()) != 1) return Errc::bad_value;
  }
  Digest d;
  std::size_t n = 0;
  if (EVP_MAC_final(ctx.get(), d.bytes.data(), &n, d.bytes.size()) != 1) return Errc::bad_value;
  d.len = n;
  return d;
}

}  // namespace volley::crypto
