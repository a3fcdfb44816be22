// Key-derivation functions of both UFTP dialects.
//
//   v5 (0x50): HKDF (RFC 5869) with UFTP's own Expand-Label: info = "UFTP5 " || label || context,
//              no length prefixes and no output-length field (UFTP 5.0.1 uftp_common.c
//              HKDF_Expand_Label). Extract is always called with hash_len zero bytes as salt.
//   v4 (0x40): the TLS 1.1 / 1.2 PRF as UFTP 4.x implements it, which is NOT the RFC PRF past the
//              first hash block; see prf_v4().
//
// Thread context: reentrant; control path only (allocates OpenSSL contexts per HMAC).
// Errors: bad_value for a hash type the function does not accept; bad_length for an output
// longer than the function can produce.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "crypto/bytes.hpp"
#include "crypto/hash.hpp"
#include "dataplane/wire/result.hpp"

namespace volley::crypto {

// PRK = HMAC(salt, ikm). An empty salt means hash_len zero bytes (RFC 5869 §2.2).
[[nodiscard]] Result<Digest> hkdf_extract(HashType t, Bytes salt, Bytes ikm);

// OKM = T(1) || T(2) || ... truncated to out.size(), T(i) = HMAC(prk, T(i-1) || info || i).
// out.size() <= 255 * hash_len.
[[nodiscard]] Status hkdf_expand(HashType t, Bytes prk, Bytes info, MutBytes out);

// UFTP 5's HKDF-Expand-Label: hkdf_expand(secret, "UFTP5 " || label || context, out).
// Example: key = hkdf_expand_label_uftp5(h, s_hs_secret, "key", {}, key_out[0..key_len]).
[[nodiscard]] Status hkdf_expand_label_uftp5(HashType t, Bytes secret, std::string_view label,
                                             Bytes context, MutBytes out);

// UFTP 4's PRF(secret, label, seed) filling out.size() bytes.
//   sha1:                TLS 1.1 form: P_MD5(S1, ...) XOR P_SHA1(S2, ...), S1/S2 the first and
//                        last ceil(len/2) bytes of the secret (they share a byte when odd).
//   sha256/sha384/sha512: TLS 1.2 form: P_<hash>(secret, ...).
// Here P_hash is UFTP's, not RFC 5246's. With ls = label || seed, RFC 5246 computes
//     A(0) = ls, A(i) = HMAC(S, A(i-1)),            out_i = HMAC(S, A(i) || ls)
// whereas UFTP (4.8 and 5.0.1 uftp_common.c P_hash) feeds A(i) || ls forward:
//     A(1) = HMAC(S, ls), A(i) = HMAC(S, A(i-1) || ls), out_i = HMAC(S, A(i) || ls)
// so A(i) = out_(i-1): out_1 = HMAC(S, HMAC(S, ls) || ls), out_i = HMAC(S, out_(i-1) || ls).
// The first hash block equals the RFC's (16 bytes of the MD5 half, 20 of the SHA-1 half, 32 for
// SHA-256); everything after it differs. Stock peers derive their keys this way, so Volley must.
// Before 4.10.2, stock UFTP produced all-zero keys for SHA-384/512 (fixed upstream); this
// implements the fixed behaviour.
[[nodiscard]] Status prf_v4(HashType t, Bytes secret, std::string_view label, Bytes seed,
                            MutBytes out);

}  // namespace volley::crypto
