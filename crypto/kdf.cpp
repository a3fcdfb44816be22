#include "crypto/kdf.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

namespace volley::crypto {
namespace {

constexpr std::string_view kUftp5LabelPrefix = "UFTP5 ";

// UFTP's P_hash (see kdf.hpp): chain out_i = HMAC(S, out_(i-1) || label || seed) starting from
// out_0 = HMAC(S, label || seed), XOR-ing (xor_into) or copying the blocks into `out`.
Status p_hash_uftp(HashType t, Bytes secret, std::string_view label, Bytes seed, MutBytes out,
                   bool xor_into) {
  auto prev = hmac(t, secret, text_bytes(label), seed);
  if (!prev) return prev.error();
  Digest block = *prev;
  for (std::size_t done = 0; done < out.size();) {
    auto next = hmac(t, secret, block.view(), text_bytes(label), seed);
    if (!next) return next.error();
    block = *next;
    const std::size_t n = std::min(block.len, out.size() - done);
    for (std::size_t i = 0; i < n; ++i) {
      out[done + i] =
          xor_into ? static_cast<std::uint8_t>(out[done + i] ^ block.bytes[i]) : block.bytes[i];
    }
    done += n;
  }
  secure_zero(block.bytes);
  return {};
}

}  // namespace

Result<Digest> hkdf_extract(HashType t, Bytes salt, Bytes ikm) {
  const std::size_t hl = hash_len(t);
  if (hl == 0 || t == HashType::md5) return Errc::bad_value;
  static constexpr std::array<std::uint8_t, kMaxHashLen> kZeros{};
  if (salt.empty()) salt = Bytes(kZeros.data(), hl);
  return hmac(t, salt, ikm);
}

Status hkdf_expand(HashType t, Bytes prk, Bytes info, MutBytes out) {
  const std::size_t hl = hash_len(t);
  if (hl == 0 || t == HashType::md5) return Errc::bad_value;
  if (out.size() > 255 * hl) return Errc::bad_length;
  Digest block;  // T(0) = empty
  std::uint8_t counter = 1;
  for (std::size_t done = 0; done < out.size(); ++counter) {
    const std::uint8_t c[1] = {counter};
    auto next = hmac(t, prk, block.view(), info, Bytes(c));
    if (!next) return next.error();
    block = *next;
    const std::size_t n = std::min(block.len, out.size() - done);
    std::memcpy(out.data() + done, block.bytes.data(), n);
    done += n;
  }
  secure_zero(block.bytes);
  return {};
}

Status hkdf_expand_label_uftp5(HashType t, Bytes secret, std::string_view label, Bytes context,
                               MutBytes out) {
  // info = "UFTP5 " || label || context, byte for byte (no lengths, no NUL).
  std::vector<std::uint8_t> info;
  info.reserve(kUftp5LabelPrefix.size() + label.size() + context.size());
  const Bytes prefix = text_bytes(kUftp5LabelPrefix);
  const Bytes lab = text_bytes(label);
  info.insert(info.end(), prefix.begin(), prefix.end());
  info.insert(info.end(), lab.begin(), lab.end());
  info.insert(info.end(), context.begin(), context.end());
  return hkdf_expand(t, secret, info, out);
}

Status prf_v4(HashType t, Bytes secret, std::string_view label, Bytes seed, MutBytes out) {
  switch (t) {
    case HashType::sha1: {
      // TLS 1.1 (RFC 4346 §5): split the secret into halves, the middle byte shared when odd.
      const std::size_t half = (secret.size() + 1) / 2;
      const Bytes s1 = secret.first(half);
      const Bytes s2 = secret.last(half);
      if (Status s = p_hash_uftp(HashType::md5, s1, label, seed, out, false); !s) return s;
      return p_hash_uftp(HashType::sha1, s2, label, seed, out, true);
    }
    case HashType::sha256:
    case HashType::sha384:
    case HashType::sha512:
      return p_hash_uftp(t, secret, label, seed, out, false);
    case HashType::md5:
    case HashType::none:
      break;
  }
  return Errc::bad_value;
}

}  // namespace volley::crypto
