// UFTP 5 (protocol 0x50) key schedule, as stock 5.0.1's source computes it
// (docs/crypto-handshake.md Part B; no stock 5.x peer was available to confirm it on the wire):
//
//   premaster     = SHA-256(ECDH X)
//   hs            = Extract(0, premaster)
//   s_hs / c_hs   = ExpandLabel(hs, "s hs traffic" / "c hs traffic", Hash(Ctx1))
//   app           = Extract(0, group_master[32])
//   s_app         = ExpandLabel(app, "s app traffic", Hash(Server_HS_Context))
//   c_app         = ExpandLabel(app, "c app traffic", Hash(Ctx2))            (per receiver)
//   key/iv        = ExpandLabel(secret, "key"/"iv", "", key_len/12)
//   verify        = HMAC(ExpandLabel(c_app, "finished", "", hash_len), Ctx2 ‖ group_master)
//   KEYINFO entry = AES-GCM(s_hs key/iv, ctr = KEYINFO iv_ctr,
//                           aad "UFTP 5, group master" ‖ Ctx2, group_master) → 48 bytes
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "crypto/aead.hpp"
#include "crypto/bytes.hpp"
#include "crypto/hash.hpp"
#include "crypto/openssl_aead.hpp"

namespace volley::crypto::uftp5 {

inline constexpr std::size_t kMasterLen = 32;
inline constexpr std::size_t kWrappedLen = kMasterLen + kAeadTagLen;

struct Traffic {  // one direction's AEAD key and base IV
  std::vector<std::uint8_t> key;
  Nonce iv{};
  [[nodiscard]] Result<std::unique_ptr<Aead>> aead(KeyType t) const {
    return make_aead(t, key, iv);
  }
};

// Server_HS_Context = group_id ‖ group_inst ‖ server_id ‖ EXT_ENC_INFO (signature zeroed).
[[nodiscard]] std::vector<std::uint8_t> server_context(std::uint32_t group_id,
                                                       std::uint8_t group_inst,
                                                       std::uint32_t server_id, Bytes enc_info);
// Client_HS_Context1 = Server_HS_Context ‖ client_id ‖ client ECDH blob ‖ rand2.
[[nodiscard]] std::vector<std::uint8_t> client_context(Bytes server_ctx, std::uint32_t client_id,
                                                       Bytes ecdh_blob, Bytes rand2);

struct Handshake {
  Traffic server;  // s_hs: wraps the group master for this receiver
  Traffic client;  // c_hs: CLIENT_KEY
};
[[nodiscard]] Result<Handshake> handshake_keys(HashType h, KeyType k, Bytes premaster,
                                               Bytes client_ctx1);

[[nodiscard]] Result<Traffic> server_app(HashType h, KeyType k, Bytes group_master,
                                         Bytes server_ctx);
struct ClientApp {
  Traffic traffic;
  std::vector<std::uint8_t> verify;  // KEYINFO_ACK's verify data (hash_len bytes)
};
[[nodiscard]] Result<ClientApp> client_app(HashType h, KeyType k, Bytes group_master,
                                           Bytes client_ctx2);

// The group master for one receiver in KEYINFO, and back.
[[nodiscard]] Result<std::array<std::uint8_t, kWrappedLen>> wrap_master(
    KeyType k, const Traffic& s_hs, std::uint64_t iv_ctr, Bytes client_ctx2, Bytes group_master);
[[nodiscard]] Result<std::array<std::uint8_t, kMasterLen>> unwrap_master(
    KeyType k, const Traffic& s_hs, std::uint64_t iv_ctr, Bytes client_ctx2, Bytes wrapped);

// What KEYINFO's signature covers: "UFTP 5, KEYINFO" ‖ Server_HS_Context ‖ packet (sig zeroed).
[[nodiscard]] std::vector<std::uint8_t> keyinfo_signed_bytes(Bytes server_ctx, Bytes packet);

}  // namespace volley::crypto::uftp5
