// The receiver's half of UFTP's key exchange with ECDH and ECDSA signatures, protocol 0x40 or
// 0x50 (docs/crypto-handshake.md Parts A and B), one per session:
// - from_announce(): check EXT_ENC_INFO, verify the ANNOUNCE signature with the sender's key
//   (and its fingerprint when the receiver pins one), make our ECDH key and derive our keys;
//   REGISTER then carries our ECDH key and rand2;
// - on_keyinfo(): check KEYINFO (v5: signed), unwrap the group master from our record, derive
//   the group's keys, and
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
#include "crypto/uftp5_schedule.hpp"
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
      std::string* why = nullptr, std::shared_ptr<const crypto::PrivateKey> own_key = nullptr,
      std::shared_ptr<const crypto::PrivateKey> ecdh_key = nullptr);  // tests: a fixed ECDH key

  // With client authentication asked: the CLIENT_KEY to send after every REGISTER (spans into
  // this object), and (v5) the context that seals it.
  [[nodiscard]] std::optional<wire::ClientKey> client_key() const;
  [[nodiscard]] crypto::Aead* client_key_seal() const noexcept { return c_hs_seal_.get(); }

  // REGISTER's key material.
  [[nodiscard]] const std::vector<std::uint8_t>& ecdh_blob() const noexcept { return own_blob_; }
  [[nodiscard]] const std::array<std::uint8_t, wire::kRandLen>& rand2() const noexcept {
    return rand2_;
  }
  [[nodiscard]] std::string server_fingerprint() const { return server_fp_; }

  // Our record in KEYINFO (nullopt: none for us). `packet` is the whole KEYINFO as received
  // (v5 checks its signature). On success the group keys are in force and the verify data for
  // KEYINFO_ACK is returned (again on a repeat). Errors: auth_failed (v5 signature, or a record
  // that does not open), bad_value.
  [[nodiscard]] Result<std::optional<std::vector<std::uint8_t>>> on_keyinfo(wire::Bytes packet,
                                                                            const wire::Header& h,
                                                                            const wire::KeyInfo& k);
  [[nodiscard]] bool keyed() const noexcept { return open_ != nullptr; }
  // Opens the sender's packets / seals ours (nullptr before KEYINFO). A second open context can
  // be made for a dataplane thread.
  [[nodiscard]] crypto::Aead* seal() const noexcept { return seal_.get(); }
  [[nodiscard]] crypto::Aead* open() const noexcept { return open_.get(); }
  [[nodiscard]] Result<std::unique_ptr<crypto::Aead>> make_open() const;

 private:
  ClientHandshake() = default;

  wire::Version version_ = wire::Version::v4;
  crypto::KeyType keytype_{};
  crypto::HashType hashtype_{};
  std::optional<crypto::PublicKey> server_key_;  // v5: checks KEYINFO's signature
  std::vector<std::uint8_t> server_ctx_, ctx2_;  // v5: Server_HS_Context, Client_HS_Context2
  crypto::uftp5::Traffic s_hs_;                  // v5: unwraps the group master
  std::uint32_t group_id_ = 0, server_id_ = 0, client_id_ = 0;
  wire::IpAddr priv_addr_;
  std::array<std::uint8_t, wire::kRandLen> rand1_{}, rand2_{};
  std::vector<std::uint8_t> premaster_, own_blob_;
  std::vector<std::uint8_t> ctx1_;                   // v5: Client_HS_Context1
  std::vector<std::uint8_t> signing_blob_, ck_sig_;  // CLIENT_KEY (client authentication)
  std::unique_ptr<crypto::Aead> c_hs_seal_;          // v5: seals CLIENT_KEY
  crypto::uftp4::KeySalt own_;
  std::vector<std::uint8_t> group_master_;
  crypto::uftp4::KeySalt group_;  // v4: the one group key
  std::optional<std::vector<std::uint8_t>> verify_;
  crypto::uftp5::Traffic s_app_;  // v5: opens the sender's packets
  std::unique_ptr<crypto::Aead> open_, seal_;
  std::vector<std::unique_ptr<crypto::Aead>> retired_;  // replaced, possibly still in use
  std::string server_fp_;
};

}  // namespace volley::session
