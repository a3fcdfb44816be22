// The sender's half of UFTP's key exchange with ECDH and ECDSA signatures
// (docs/crypto-handshake.md): protocol 0x40 (Part A) and 0x50 (Part B), kept apart from the
// session's state machine:
// - ANNOUNCE carries EXT_ENC_INFO (rand1, our signing key, our ECDH key) and is signed whole;
// - each REGISTER brings a receiver's ECDH key: we derive its keys and the KEYINFO_ACK verify
//   data we expect from it;
// - KEYINFO gives each receiver the group master, wrapped with that receiver's own key (v4:
//   AES-CBC; v5: AES-GCM bound to its handshake context; v5 signs KEYINFO too);
// - then every packet is AEAD-sealed: v4 with the one group key (the sender's ID in the nonce),
//   v5 with the server's application key one way and each receiver's own the other.
// Sans-I/O: keys and randoms come from the caller (create); nothing here touches a socket.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "crypto/aead.hpp"
#include "crypto/keys.hpp"
#include "crypto/openssl_aead.hpp"
#include "crypto/uftp4_schedule.hpp"
#include "crypto/uftp5_schedule.hpp"
#include "dataplane/wire/messages.hpp"

namespace volley::session {

struct ServerKeyexConfig {
  wire::Version version = wire::Version::v5;
  crypto::KeyType keytype = crypto::KeyType::aes256_gcm;
  crypto::HashType hashtype = crypto::HashType::sha256;
  std::shared_ptr<const crypto::PrivateKey> signing_key;  // EC (ECDSA)
  std::shared_ptr<const crypto::PrivateKey> ecdh_key;     // ephemeral EC
  std::array<std::uint8_t, crypto::uftp4::kRandLen> rand1{};
  // v4: all 48 bytes, [0] = 0x40; v5: the first 32.
  std::array<std::uint8_t, crypto::uftp4::kMasterLen> group_master{};
  // Receivers must prove a signing key (CLIENT_KEY; uftp -c). With fingerprints listed, only
  // those receivers with those keys are admitted (ID -> SHA-1 fingerprint of its key blob).
  bool client_auth = false;
  std::unordered_map<std::uint32_t, std::vector<std::uint8_t>> client_fingerprints;
};

// The bytes of EXT_ENC_INFO as ANNOUNCE carries it (its signature zeroed), found in an encoded
// announce: from the extension's type byte, extlen·4 bytes. Empty when absent.
[[nodiscard]] wire::Bytes enc_info_bytes(wire::Bytes announce_body, const wire::EncInfo& e);

class ServerHandshake {
 public:
  [[nodiscard]] static Result<std::unique_ptr<ServerHandshake>> create(
      ServerKeyexConfig cfg, std::uint32_t server_id, std::uint32_t group_id,
      std::uint8_t group_inst, const wire::IpAddr& priv_addr, std::string* why = nullptr);

  [[nodiscard]] wire::Version version() const noexcept { return cfg_.version; }
  // EXT_ENC_INFO for ANNOUNCE, its signature zero-filled at its final length.
  [[nodiscard]] wire::EncInfo enc_info() const;
  // Sign a whole encoded ANNOUNCE whose signature (sig_len bytes at sig_at) is still zero.
  [[nodiscard]] Status sign_announce(wire::MutBytes packet, std::size_t sig_at) const;
  // v5: sign a whole encoded KEYINFO (signature at sig_at still zero).
  [[nodiscard]] Status sign_keyinfo(wire::MutBytes packet, std::size_t sig_at) const;
  [[nodiscard]] std::size_t sig_len() const noexcept { return sig_len_; }

  // A receiver registered with this ECDH key: derive its keys (again on a repeat). Errors:
  // bad_value (a blob that is not a point on our curve) with *why.
  [[nodiscard]] Status add_client(std::uint32_t id, wire::Bytes ecdh_blob, wire::Bytes rand2,
                                  std::string* why = nullptr);
  [[nodiscard]] bool has_client(std::uint32_t id) const { return clients_.count(id) != 0; }
  // Its 52-byte KEYINFO record (u32 id ‖ wrapped master) under KEYINFO counter `iv_ctr`.
  [[nodiscard]] Result<std::array<std::uint8_t, wire::kKeyInfoEntryLen>> keyinfo_entry(
      std::uint32_t id, std::uint64_t iv_ctr) const;
  // With client authentication: the receiver's CLIENT_KEY (its decoded form and its body as
  // received, from the func byte). Checks the key against the client list and the signature,
  // then derives what depends on it. Errors (with *why naming both fingerprints on a mismatch):
  // not_found (unknown receiver), auth_failed, bad_value.
  [[nodiscard]] Status on_client_key(std::uint32_t id, const wire::ClientKey& ck, wire::Bytes body,
                                     std::string* why = nullptr);
  // The receiver may be sent KEYINFO: registered, and authenticated when that is asked.
  [[nodiscard]] bool ready(std::uint32_t id) const;
  [[nodiscard]] bool client_auth() const noexcept { return cfg_.client_auth; }
  // v5: the context that opens this receiver's CLIENT_KEY (its handshake key).
  [[nodiscard]] crypto::Aead* client_hs_aead(std::uint32_t id) const;
  // Its KEYINFO_ACK verify data is right.
  [[nodiscard]] bool verify_ok(std::uint32_t id, wire::Bytes verify) const;
  // The context that opens this receiver's packets (nullptr for an unknown receiver).
  [[nodiscard]] crypto::Aead* client_aead(std::uint32_t id) const;
  // A fresh context sealing our packets (one per dataplane worker); `src_id` is ours (v4 mixes
  // it into the nonce).
  [[nodiscard]] Result<std::unique_ptr<crypto::Aead>> make_group_aead(std::uint32_t src_id) const;

 private:
  struct Client {
    bool authenticated = false;
    std::vector<std::uint8_t> premaster, rand2;  // for what CLIENT_KEY completes
    std::unique_ptr<crypto::Aead> hs_open;       // v5: opens CLIENT_KEY
    std::vector<std::uint8_t> verify;
    crypto::uftp4::KeySalt keys;         // v4: wraps the group master
    crypto::uftp5::Traffic s_hs;         // v5: wraps the group master
    std::vector<std::uint8_t> ctx2;      // v5: Client_HS_Context2
    std::unique_ptr<crypto::Aead> open;  // opens this receiver's packets
  };
  ServerHandshake() = default;
  [[nodiscard]] wire::Bytes master() const noexcept;
  [[nodiscard]] Status finish_client(Client& c, wire::Bytes client_blob,
                                     wire::Bytes client_key_body);

  ServerKeyexConfig cfg_;
  std::uint32_t server_id_ = 0, group_id_ = 0;
  wire::IpAddr priv_addr_;
  std::size_t sig_len_ = 0;
  crypto::uftp4::KeySalt group_;          // v4: the group key
  std::vector<std::uint8_t> server_ctx_;  // v5: Server_HS_Context
  crypto::uftp5::Traffic s_app_;          // v5: server → group
  std::unordered_map<std::uint32_t, Client> clients_;
};

}  // namespace volley::session
