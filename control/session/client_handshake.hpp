// The receiver's half of UFTP 4's key exchange (protocol 0x40, ECDH with ECDSA signatures,
// AES-GCM/CCM; docs/crypto-handshake.md Part A), one per session:
// - from_announce(): check EXT_ENC_INFO, verify the ANNOUNCE signature with the sender's key
//   (and its fingerprint when the receiver pins one), make our ECDH key and derive our keys;
//   REGISTER then carries our ECDH key and rand2;
// - on_keyinfo(): unwrap the group master from our KEYINFO record, derive the group key, and
//   give the verify data for KEYINFO_ACK. After that, open() reads the sender's packets and
//   seal() protects ours.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>

#include "crypto/aead.hpp"
#include "crypto/keys.hpp"
#include "crypto/random.hpp"
#include "crypto/uftp4_schedule.hpp"
#include "dataplane/wire/messages.hpp"

namespace volley::session {

class ClientHandshake {
 public:
  // `packet` is the whole ANNOUNCE as received (header included), `a` its decoding.
  // `pinned_fingerprint`: the sender's key must have this SHA-1 fingerprint (empty: any key).
  // Errors (with *why): bad_version (not 0x40), bad_value (unsupported mode, bad key),
  // auth_failed (no or bad signature: possibly damaged on the way), bad_value also when the
  // sender's key is not the pinned one.
  [[nodiscard]] static Result<std::unique_ptr<ClientHandshake>> from_announce(
      wire::Bytes packet, const wire::Header& h, const wire::Announce& a, std::uint32_t client_id,
      std::span<const std::uint8_t> pinned_fingerprint, crypto::RandomSource random,
      std::string* why = nullptr);

  // REGISTER's key material.
  [[nodiscard]] const std::vector<std::uint8_t>& ecdh_blob() const noexcept { return own_blob_; }
  [[nodiscard]] const std::array<std::uint8_t, wire::kRandLen>& rand2() const noexcept {
    return rand2_;
  }
  [[nodiscard]] std::string server_fingerprint() const { return server_fp_; }

  // Our record in KEYINFO (nullopt: none for us). On success the group key is in force and the
  // verify data for KEYINFO_ACK is returned (again on a repeat).
  [[nodiscard]] Result<std::optional<std::array<std::uint8_t, crypto::uftp4::kVerifyLen>>>
  on_keyinfo(const wire::Header& h, const wire::KeyInfo& k);
  [[nodiscard]] bool keyed() const noexcept { return open_ != nullptr; }
  // Opens the sender's packets / seals ours (nullptr before KEYINFO). A second open context can
  // be made for a dataplane thread.
  [[nodiscard]] crypto::Aead* seal() const noexcept { return seal_.get(); }
  [[nodiscard]] crypto::Aead* open() const noexcept { return open_.get(); }
  [[nodiscard]] Result<std::unique_ptr<crypto::Aead>> make_open() const;

 private:
  ClientHandshake() = default;

  crypto::KeyType keytype_{};
  crypto::HashType hashtype_{};
  std::uint32_t group_id_ = 0, server_id_ = 0, client_id_ = 0;
  wire::IpAddr priv_addr_;
  std::array<std::uint8_t, wire::kRandLen> rand1_{}, rand2_{};
  std::vector<std::uint8_t> premaster_, own_blob_;
  crypto::uftp4::KeySalt own_;
  std::array<std::uint8_t, crypto::uftp4::kMasterLen> group_master_{};
  crypto::uftp4::KeySalt group_;
  std::optional<std::array<std::uint8_t, crypto::uftp4::kVerifyLen>> verify_;
  std::unique_ptr<crypto::Aead> open_, seal_;
  std::vector<std::unique_ptr<crypto::Aead>> retired_;  // replaced, possibly still in use
  std::string server_fp_;
};

}  // namespace volley::session
