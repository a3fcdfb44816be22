// AES-CBC with PKCS#7 padding, for the one place UFTP 4 still uses it: wrapping the group master
// for each receiver in KEYINFO. Handshake-time only (a context per call), never per packet.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "crypto/bytes.hpp"
#include "dataplane/wire/result.hpp"

namespace volley::crypto {

using CbcIv = std::array<std::uint8_t, 16>;

// key: 16 or 32 bytes (AES-128 / AES-256). Errors: bad_length (key size), bad_value (padding or
// length wrong on decrypt, which is what a wrong key looks like).
[[nodiscard]] Result<std::vector<std::uint8_t>> cbc_encrypt(Bytes key, const CbcIv& iv,
                                                            Bytes plain);
[[nodiscard]] Result<std::vector<std::uint8_t>> cbc_decrypt(Bytes key, const CbcIv& iv,
                                                            Bytes cipher);

}  // namespace volley::crypto
