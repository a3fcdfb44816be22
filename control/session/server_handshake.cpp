#include "control/session/server_handshake.hpp"

#include <algorithm>

namespace volley::session {
namespace {

// EXT_ENC_INFO's keyextype << 4 | sigtype for ECDH_ECDSA with an AEAD (AUTHENC).
constexpr std::uint8_t kEcdhEcdsaAuthenc = 0x33;

std::string describe(Errc e) {
  return std::string(error_name(e));
}

}  // namespace

Result<std::unique_ptr<ServerHandshake>> ServerHandshake::create(ServerKeyexConfig cfg,
                                                                 std::uint32_t server_id,
                                                                 std::uint32_t group_id,
                                                                 const wire::IpAddr& priv_addr,
                                                                 std::string* why) {
  auto fail = [&](Errc e, std::string msg) -> Result<std::unique_ptr<ServerHandshake>> {
    if (why != nullptr) *why = std::move(msg);
    return e;
  };
  if (!cfg.signing_key || cfg.signing_key->kind() != crypto::KeyKind::ec) {
    return fail(Errc::bad_value, "protocol 4 encryption signs with an EC key (ECDSA)");
  }
  if (!cfg.ecdh_key || cfg.ecdh_key->kind() != crypto::KeyKind::ec) {
    return fail(Errc::bad_value, "the ECDH key must be an EC key");
  }
  if (!crypto::is_aead(cfg.keytype)) return fail(Errc::bad_value, "cipher must be AES-GCM or CCM");
  if (cfg.group_master[0] != crypto::uftp4::kMasterVersion) {
    return fail(Errc::bad_value, "group master must start with the version byte");
  }
  std::unique_ptr<ServerHandshake> h(new ServerHandshake());
  auto g = crypto::uftp4::group_keys(cfg.hashtype, cfg.keytype, cfg.group_master, cfg.rand1);
  if (!g) return fail(g.error(), "group key derivation failed: " + describe(g.error()));
  h->group_ = std::move(*g);
  h->sig_len_ = cfg.signing_key->public_key().signature_len();
  h->cfg_ = std::move(cfg);
  h->server_id_ = server_id;
  h->group_id_ = group_id;
  h->priv_addr_ = priv_addr;
  return h;
}

wire::EncInfo ServerHandshake::enc_info() const {
  wire::EncInfo e;
  e.flags = 0;  // no client authentication asked
  e.keyextype_sigtype = kEcdhEcdsaAuthenc;
  e.keytype = static_cast<std::uint8_t>(cfg_.keytype);
  e.hashtype = static_cast<std::uint8_t>(cfg_.hashtype);
  e.rand1 = cfg_.rand1;
  e.key_blob = cfg_.signing_key->public_key().blob();
  e.dh_blob = cfg_.ecdh_key->public_key().blob();
  return e;  // sig: filled by the encoder as zeros of sig_len() (see SenderSession)
}

Status ServerHandshake::sign_announce(wire::MutBytes packet, std::size_t sig_at) const {
  if (sig_at + sig_len_ > packet.size()) return Errc::bad_length;
  auto sig = cfg_.signing_key->sign(cfg_.hashtype, packet);
  if (!sig) return sig.error();
  if (sig->size() != sig_len_) return Errc::bad_length;
  std::copy(sig->begin(), sig->end(), packet.begin() + static_cast<long>(sig_at));
  return {};
}

Status ServerHandshake::add_client(std::uint32_t id, wire::Bytes ecdh_blob, wire::Bytes rand2,
                                   std::string* why) {
  auto peer = crypto::PublicKey::from_blob(ecdh_blob, why);
  if (!peer) return peer.error();
  if (peer->kind() != crypto::KeyKind::ec || peer->curve() != cfg_.ecdh_key->curve()) {
    if (why != nullptr) *why = "ECDH key on another curve than ours";
    return Errc::bad_value;
  }
  auto secret = cfg_.ecdh_key->ecdh(*peer, why);
  if (!secret) return secret.error();
  auto premaster = crypto::ecdh_premaster_v4(*secret);
  crypto::secure_zero(*secret);
  if (!premaster) return premaster.error();
  auto keys =
      crypto::uftp4::client_keys(cfg_.hashtype, cfg_.keytype, premaster->view(), cfg_.rand1, rand2);
  if (!keys) return keys.error();
  auto verify = crypto::uftp4::verify_data(cfg_.hashtype, group_id_,
                                           {priv_addr_.bytes.data(), priv_addr_.len()}, cfg_.rand1,
                                           rand2, premaster->view(), {}, cfg_.group_master);
  if (!verify) return verify.error();
  auto open = make_group_aead(id);
  if (!open) return open.error();
  clients_[id] = Client{*verify, std::move(*keys), std::move(*open)};
  return {};
}

Result<std::array<std::uint8_t, wire::kKeyInfoEntryLen>> ServerHandshake::keyinfo_entry(
    std::uint32_t id, std::uint64_t iv_ctr) const {
  auto it = clients_.find(id);
  if (it == clients_.end()) return Errc::not_found;
  auto w = crypto::uftp4::wrap_master(it->second.keys, server_id_, iv_ctr, cfg_.group_master);
  if (!w) return w.error();
  std::array<std::uint8_t, wire::kKeyInfoEntryLen> e{};
  wire::store_be32(e.data(), id);
  std::copy(w->begin(), w->end(), e.begin() + 4);
  return e;
}

bool ServerHandshake::verify_ok(std::uint32_t id, wire::Bytes verify) const {
  auto it = clients_.find(id);
  return it != clients_.end() && verify.size() == it->second.verify.size() &&
         std::equal(verify.begin(), verify.end(), it->second.verify.begin());
}

crypto::Aead* ServerHandshake::client_aead(std::uint32_t id) const {
  auto it = clients_.find(id);
  return it == clients_.end() ? nullptr : it->second.open.get();
}

Result<std::unique_ptr<crypto::Aead>> ServerHandshake::make_group_aead(std::uint32_t src_id) const {
  return crypto::make_aead(cfg_.keytype, group_.key, crypto::v4_base_iv(group_.salt, src_id));
}

}  // namespace volley::session
