// UFTP 4 (protocol 0x40) key schedule for the ECDH + AES-GCM/CCM subset, as stock uftp 4.10.2
// computes it (docs/crypto-handshake.md, Part A; the unit test reproduces a captured session).
//
//   premaster  = SHA-1(ECDH X)                                  (ecdh_premaster_v4)
//   master     = PRF(premaster, "master secret", rand1 ‖ rand2)[0..48)
//   key_block  = PRF(master, "key expansion", rand1 ‖ rand2) = hmac[hash] ‖ key[key_len] ‖ salt[4]
//   group keys = PRF(group_master, "key expansion", rand1)   = the same split
//   KEYINFO    : group_master[1..48) wrapped per receiver with AES-CBC(client key,
//                client_salt ‖ server_id ‖ iv_ctr), PKCS#7 → 48 bytes
//   verify     = PRF(group_master, "client finished", Hash(group_id ‖ priv_addr ‖ rand1 ‖
//                rand2 ‖ premaster ‖ [client key blob] ‖ group_master))[0..12)
//   GCM nonce  = (group_salt XOR src_id) ‖ counter              (v4_base_iv + make_nonce)
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "crypto/bytes.hpp"
#include "crypto/hash.hpp"
#include "crypto/openssl_aead.hpp"

namespace volley::crypto::uftp4 {

inline constexpr std::size_t kRandLen = 32;
inline constexpr std::size_t kMasterLen = 48;
inline constexpr std::size_t kWrappedLen = 48;
inline constexpr std::size_t kVerifyLen = 12;
inline constexpr std::uint8_t kMasterVersion = 0x40;  // group_master[0]

struct KeySalt {
  std::vector<std::uint8_t> key;  // key_len(keytype) bytes
  std::array<std::uint8_t, 4> salt{};
};

// A receiver's own keys (used only to wrap the group master). `master` (48 bytes) is filled
// when given. Errors: bad_value (types), bad_length (randoms).
[[nodiscard]] Result<KeySalt> client_keys(HashType h, KeyType k, Bytes premaster, Bytes rand1,
                                          Bytes rand2);
// The group's shared key and salt.
[[nodiscard]] Result<KeySalt> group_keys(HashType h, KeyType k, Bytes group_master, Bytes rand1);

// Wrap group_master[1..48) for one receiver / unwrap it (group_master[0] = kMasterVersion).
[[nodiscard]] Result<std::array<std::uint8_t, kWrappedLen>> wrap_master(const KeySalt& client,
                                                                        std::uint32_t server_id,
                                                                        std::uint64_t iv_ctr,
                                                                        Bytes group_master);
[[nodiscard]] Result<std::array<std::uint8_t, kMasterLen>> unwrap_master(const KeySalt& client,
                                                                         std::uint32_t server_id,
                                                                         std::uint64_t iv_ctr,
                                                                         Bytes wrapped);

// KEYINFO_ACK's verify data. `priv_addr` is the private address as ANNOUNCE carried it (4 or
// 16 bytes; zeros in unicast mode); `client_key_blob` only when the sender asked for client
// authentication (empty otherwise).
[[nodiscard]] Result<std::array<std::uint8_t, kVerifyLen>> verify_data(
    HashType h, std::uint32_t group_id, Bytes priv_addr, Bytes rand1, Bytes rand2, Bytes premaster,
    Bytes client_key_blob, Bytes group_master);

}  // namespace volley::crypto::uftp4
