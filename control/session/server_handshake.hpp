// The sender's half of UFTP 4's key exchange (protocol 0x40, ECDH with ECDSA signatures, AES-GCM
// or CCM; docs/crypto-handshake.md Part A), kept apart from the session's state machine:
// - ANNOUNCE carries EXT_ENC_INFO (rand1, our signing key, our ECDH key) and is signed whole;
// - each REGISTER brings a receiver's ECDH key: we derive its premaster and keys and expect
//   its KEYINFO_ACK verify data;
// - KEYINFO gives each receiver the group master, CBC-wrapped with that receiver's key;
// - after that every packet, both ways, is AES-GCM under the one group key, the nonce mixing
//   in the sender's ID.
// Sans-I/O: keys and randoms come from the caller (create); nothing here touches a socket.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <unordered_map>

#include "crypto/aead.hpp"
#include "crypto/keys.hpp"
#include "crypto/openssl_aead.hpp"
#include "crypto/uftp4_schedule.hpp"
#include "dataplane/wire/messages.hpp"

namespace volley::session {

struct ServerKeyexConfig {
  crypto::KeyType keytype = crypto::KeyType::aes256_gcm;
  crypto::HashType hashtype = crypto::HashType::sha256;
  std::shared_ptr<const crypto::PrivateKey> signing_key;  // EC (ECDSA)
  std::shared_ptr<const crypto::PrivateKey> ecdh_key;     // ephemeral EC
  std::array<std::uint8_t, crypto::uftp4::kRandLen> rand1{};
  std::array<std::uint8_t, crypto::uftp4::kMasterLen> group_master{};  // [0] = 0x40
};

class ServerHandshake {
 public:
  [[nodiscard]] static Result<std::unique_ptr<ServerHandshake>> create(
      ServerKeyexConfig cfg, std::uint32_t server_id, std::uint32_t group_id,
      const wire::IpAddr& priv_addr, std::string* why = nullptr);

  // EXT_ENC_INFO for ANNOUNCE, its signature zero-filled at its final length.
  [[nodiscard]] wire::EncInfo enc_info() const;
  // Sign a whole encoded ANNOUNCE whose signature (sig_len bytes at sig_at) is still zero.
  [[nodiscard]] Status sign_announce(wire::MutBytes packet, std::size_t sig_at) const;
  [[nodiscard]] std::size_t sig_len() const noexcept { return sig_len_; }

  // A receiver registered with this ECDH key: derive its keys (again on a repeat). Errors:
  // bad_value (a blob that is not a point on our curve) with *why.
  [[nodiscard]] Status add_client(std::uint32_t id, wire::Bytes ecdh_blob, wire::Bytes rand2,
                                  std::string* why = nullptr);
  [[nodiscard]] bool has_client(std::uint32_t id) const { return clients_.count(id) != 0; }
  // Its 52-byte KEYINFO record (u32 id ‖ wrapped master) under KEYINFO counter `iv_ctr`.
  [[nodiscard]] Result<std::array<std::uint8_t, wire::kKeyInfoEntryLen>> keyinfo_entry(
      std::uint32_t id, std::uint64_t iv_ctr) const;
  // Its KEYINFO_ACK verify data is right.
  [[nodiscard]] bool verify_ok(std::uint32_t id, wire::Bytes verify) const;
  // The context that opens this receiver's packets (nullptr for an unknown receiver).
  [[nodiscard]] crypto::Aead* client_aead(std::uint32_t id) const;
  // A fresh group-key context sealing packets from `src_id` (one per dataplane worker).
  [[nodiscard]] Result<std::unique_ptr<crypto::Aead>> make_group_aead(std::uint32_t src_id) const;

 private:
  struct Client {
    std::array<std::uint8_t, crypto::uftp4::kVerifyLen> verify{};
    crypto::uftp4::KeySalt keys;
    std::unique_ptr<crypto::Aead> open;  // group key, nonce with the receiver's ID
  };
  ServerHandshake() = default;

  ServerKeyexConfig cfg_;
  std::uint32_t server_id_ = 0, group_id_ = 0;
  wire::IpAddr priv_addr_;
  std::size_t sig_len_ = 0;
  crypto::uftp4::KeySalt group_;
  std::unordered_map<std::uint32_t, Client> clients_;
};

}  // namespace volley::session
