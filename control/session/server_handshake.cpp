#include "control/session/server_handshake.hpp"

#include <algorithm>

namespace volley::session {
namespace {

// EXT_ENC_INFO's keyextype << 4 | sigtype for ECDH_ECDSA with an AEAD (AUTHENC); 0 in v5.
constexpr std::uint8_t kEcdhEcdsaAuthenc = 0x33;
constexpr std::size_t kEncInfoFixed = 44;  // type .. rand1

std::string describe(Errc e) {
  return std::string(error_name(e));
}

}  // namespace

wire::Bytes enc_info_bytes(wire::Bytes body, const wire::EncInfo& e) {
  if (e.key_blob.data() == nullptr || e.key_blob.data() < body.data() + kEncInfoFixed) return {};
  const std::uint8_t* start = e.key_blob.data() - kEncInfoFixed;
  const std::size_t len = std::size_t{start[1]} * 4;
  if (start + len > body.data() + body.size()) return {};
  return {start, len};
}

Result<std::unique_ptr<ServerHandshake>> ServerHandshake::create(
    ServerKeyexConfig cfg, std::uint32_t server_id, std::uint32_t group_id, std::uint8_t group_inst,
    const wire::IpAddr& priv_addr, std::string* why) {
  auto fail = [&](Errc e, std::string msg) -> Result<std::unique_ptr<ServerHandshake>> {
    if (why != nullptr) *why = std::move(msg);
    return e;
  };
  if (!cfg.signing_key || cfg.signing_key->kind() != crypto::KeyKind::ec) {
    return fail(Errc::bad_value, "the signing key must be an EC key (ECDSA)");
  }
  if (!cfg.ecdh_key || cfg.ecdh_key->kind() != crypto::KeyKind::ec) {
    return fail(Errc::bad_value, "the ECDH key must be an EC key");
  }
  if (!crypto::is_aead(cfg.keytype)) return fail(Errc::bad_value, "cipher must be AES-GCM or CCM");
  if (cfg.version == wire::Version::v4 && cfg.group_master[0] != crypto::uftp4::kMasterVersion) {
    return fail(Errc::bad_value, "group master must start with the version byte");
  }
  std::unique_ptr<ServerHandshake> h(new ServerHandshake());
  h->sig_len_ = cfg.signing_key->public_key().signature_len();
  h->cfg_ = std::move(cfg);
  h->server_id_ = server_id;
  h->group_id_ = group_id;
  h->priv_addr_ = priv_addr;
  const auto& c = h->cfg_;
  if (c.version == wire::Version::v4) {
    auto g = crypto::uftp4::group_keys(c.hashtype, c.keytype, c.group_master, c.rand1);
    if (!g) return fail(g.error(), "group key derivation failed: " + describe(g.error()));
    h->group_ = std::move(*g);
    return h;
  }
  // v5: Server_HS_Context is built from EXT_ENC_INFO exactly as ANNOUNCE will carry it.
  wire::Announce a;
  a.enc_info = h->enc_info();
  std::vector<std::uint8_t> zero_sig(h->sig_len_, 0);
  a.enc_info->sig = zero_sig;
  std::vector<std::uint8_t> body(2048);
  auto n = wire::encode_body(c.version, a, body);
  if (!n) return fail(n.error(), "cannot encode EXT_ENC_INFO");
  body.resize(*n);
  auto back = wire::decode_body(c.version, wire::MsgType::announce, body);
  if (!back) return fail(back.error(), "cannot decode EXT_ENC_INFO");
  const auto ext = enc_info_bytes(body, *std::get<wire::Announce>(*back).enc_info);
  h->server_ctx_ = crypto::uftp5::server_context(group_id, group_inst, server_id, ext);
  auto s = crypto::uftp5::server_app(c.hashtype, c.keytype, h->master(), h->server_ctx_);
  if (!s) return fail(s.error(), "server key derivation failed: " + describe(s.error()));
  h->s_app_ = std::move(*s);
  return h;
}

wire::Bytes ServerHandshake::master() const noexcept {
  return cfg_.version == wire::Version::v4
             ? wire::Bytes(cfg_.group_master)
             : wire::Bytes(cfg_.group_master).first(crypto::uftp5::kMasterLen);
}

wire::EncInfo ServerHandshake::enc_info() const {
  wire::EncInfo e;
  e.flags = cfg_.client_auth ? 0x01 : 0;  // CLIENT_AUTH: receivers send CLIENT_KEY
  e.keyextype_sigtype = cfg_.version == wire::Version::v4 ? kEcdhEcdsaAuthenc : 0;
  e.keytype = static_cast<std::uint8_t>(cfg_.keytype);
  e.hashtype = static_cast<std::uint8_t>(cfg_.hashtype);
  e.rand1 = cfg_.rand1;
  e.key_blob = cfg_.signing_key->public_key().blob();
  e.dh_blob = cfg_.ecdh_key->public_key().blob();
  return e;  // sig: set by the caller to sig_len() zero bytes, signed after encoding
}

Status ServerHandshake::sign_announce(wire::MutBytes packet, std::size_t sig_at) const {
  if (sig_at + sig_len_ > packet.size()) return Errc::bad_length;
  auto sig = cfg_.signing_key->sign(cfg_.hashtype, packet);
  if (!sig) return sig.error();
  if (sig->size() != sig_len_) return Errc::bad_length;
  std::copy(sig->begin(), sig->end(), packet.begin() + static_cast<long>(sig_at));
  return {};
}

Status ServerHandshake::sign_keyinfo(wire::MutBytes packet, std::size_t sig_at) const {
  if (sig_at + sig_len_ > packet.size()) return Errc::bad_length;
  auto sig = cfg_.signing_key->sign(cfg_.hashtype,
                                    crypto::uftp5::keyinfo_signed_bytes(server_ctx_, packet));
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
  const bool v4 = cfg_.version == wire::Version::v4;
  auto premaster = v4 ? crypto::ecdh_premaster_v4(*secret) : crypto::ecdh_premaster_v5(*secret);
  crypto::secure_zero(*secret);
  if (!premaster) return premaster.error();
  Client c;
  c.premaster.assign(premaster->view().begin(), premaster->view().end());
  c.rand2.assign(rand2.begin(), rand2.end());
  if (v4) {
    auto keys = crypto::uftp4::client_keys(cfg_.hashtype, cfg_.keytype, premaster->view(),
                                           cfg_.rand1, rand2);
    if (!keys) return keys.error();
    c.keys = std::move(*keys);
    auto open = make_group_aead(id);
    if (!open) return open.error();
    c.open = std::move(*open);
  } else {
    c.ctx2 = crypto::uftp5::client_context(server_ctx_, id, ecdh_blob, rand2);  // Ctx1 so far
    auto hs = crypto::uftp5::handshake_keys(cfg_.hashtype, cfg_.keytype, premaster->view(), c.ctx2);
    if (!hs) return hs.error();
    auto hs_open = hs->client.aead(cfg_.keytype);
    if (!hs_open) return hs_open.error();
    c.s_hs = std::move(hs->server);
    c.hs_open = std::move(*hs_open);
  }
  Client& stored = clients_[id] = std::move(c);
  if (cfg_.client_auth) return {};  // the rest waits for CLIENT_KEY
  return finish_client(stored, {}, {});
}

// What depends on the receiver's key (when authenticated) and on nothing else afterwards: the
// verify data and, in v5, Ctx2 and the application keys.
Status ServerHandshake::finish_client(Client& c, wire::Bytes client_blob,
                                      wire::Bytes client_key_body) {
  if (cfg_.version == wire::Version::v4) {
    auto verify = crypto::uftp4::verify_data(
        cfg_.hashtype, group_id_, {priv_addr_.bytes.data(), priv_addr_.len()}, cfg_.rand1, c.rand2,
        c.premaster, client_blob, cfg_.group_master);
    if (!verify) return verify.error();
    c.verify.assign(verify->begin(), verify->end());
  } else {
    c.ctx2.insert(c.ctx2.end(), client_key_body.begin(), client_key_body.end());
    auto app = crypto::uftp5::client_app(cfg_.hashtype, cfg_.keytype, master(), c.ctx2);
    if (!app) return app.error();
    auto open = app->traffic.aead(cfg_.keytype);
    if (!open) return open.error();
    c.verify = std::move(app->verify);
    c.open = std::move(*open);
  }
  c.authenticated = true;
  return {};
}

Status ServerHandshake::on_client_key(std::uint32_t id, const wire::ClientKey& ck, wire::Bytes body,
                                      std::string* why) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return Errc::not_found;
  Client& c = it->second;
  if (c.authenticated) return {};  // a repeat
  auto key = crypto::PublicKey::from_blob(ck.key_blob, why);
  if (!key) return Errc::bad_value;
  const std::string fp = key->fingerprint();
  if (!cfg_.client_fingerprints.empty()) {
    auto want = cfg_.client_fingerprints.find(id);
    auto got = crypto::fingerprint(ck.key_blob);
    if (want == cfg_.client_fingerprints.end() || !got ||
        !std::equal(want->second.begin(), want->second.end(), got->view().begin(),
                    got->view().end())) {
      if (why != nullptr) {
        *why = "key " + fp + " is not the one listed (" +
               (want == cfg_.client_fingerprints.end() ? std::string("none")
                                                       : crypto::format_fingerprint(want->second)) +
               ")";
      }
      return Errc::auth_failed;
    }
  }
  // The signed message: v4 Hash(group_id ‖ priv_addr ‖ rand1 ‖ rand2 ‖ premaster);
  // v5 "UFTP 5, CLIENT_KEY" ‖ Client_HS_Context1.
  std::vector<std::uint8_t> msg;
  if (cfg_.version == wire::Version::v4) {
    std::uint8_t gid[4];
    wire::store_be32(gid, group_id_);
    msg.insert(msg.end(), gid, gid + 4);
    msg.insert(msg.end(), priv_addr_.bytes.begin(),
               priv_addr_.bytes.begin() + static_cast<long>(priv_addr_.len()));
    msg.insert(msg.end(), cfg_.rand1.begin(), cfg_.rand1.end());
    msg.insert(msg.end(), c.rand2.begin(), c.rand2.end());
    msg.insert(msg.end(), c.premaster.begin(), c.premaster.end());
  } else {
    const auto label = crypto::text_bytes("UFTP 5, CLIENT_KEY");
    msg.assign(label.begin(), label.end());
    msg.insert(msg.end(), c.ctx2.begin(), c.ctx2.end());  // still Ctx1
  }
  if (!key->verify(cfg_.hashtype, msg, ck.sig)) {
    if (why != nullptr) *why = "CLIENT_KEY signature does not verify (key " + fp + ")";
    return Errc::auth_failed;
  }
  // v5's Ctx2 takes the CLIENT_KEY body with its signature zeroed.
  std::vector<std::uint8_t> zeroed(body.begin(), body.end());
  const auto at = static_cast<std::size_t>(ck.sig.data() - body.data());
  if (at + ck.sig.size() <= zeroed.size()) {
    std::fill_n(zeroed.begin() + static_cast<long>(at), ck.sig.size(), 0);
  }
  return finish_client(c, ck.key_blob, zeroed);
}

bool ServerHandshake::ready(std::uint32_t id) const {
  auto it = clients_.find(id);
  return it != clients_.end() && it->second.authenticated;
}

crypto::Aead* ServerHandshake::client_hs_aead(std::uint32_t id) const {
  auto it = clients_.find(id);
  return it == clients_.end() ? nullptr : it->second.hs_open.get();
}

Result<std::array<std::uint8_t, wire::kKeyInfoEntryLen>> ServerHandshake::keyinfo_entry(
    std::uint32_t id, std::uint64_t iv_ctr) const {
  auto it = clients_.find(id);
  if (it == clients_.end() || !it->second.authenticated) return Errc::not_found;
  std::array<std::uint8_t, wire::kKeyInfoEntryLen> e{};
  wire::store_be32(e.data(), id);
  if (cfg_.version == wire::Version::v4) {
    auto w = crypto::uftp4::wrap_master(it->second.keys, server_id_, iv_ctr, cfg_.group_master);
    if (!w) return w.error();
    std::copy(w->begin(), w->end(), e.begin() + 4);
  } else {
    auto w = crypto::uftp5::wrap_master(cfg_.keytype, it->second.s_hs, iv_ctr, it->second.ctx2,
                                        master());
    if (!w) return w.error();
    std::copy(w->begin(), w->end(), e.begin() + 4);
  }
  return e;
}

bool ServerHandshake::verify_ok(std::uint32_t id, wire::Bytes verify) const {
  auto it = clients_.find(id);
  return it != clients_.end() && std::equal(verify.begin(), verify.end(), it->second.verify.begin(),
                                            it->second.verify.end());
}

crypto::Aead* ServerHandshake::client_aead(std::uint32_t id) const {
  auto it = clients_.find(id);
  if (it == clients_.end()) return nullptr;
  // v5 before CLIENT_KEY has verified: only the handshake key is in use.
  return it->second.open ? it->second.open.get() : it->second.hs_open.get();
}

Result<std::unique_ptr<crypto::Aead>> ServerHandshake::make_group_aead(std::uint32_t src_id) const {
  if (cfg_.version == wire::Version::v4) {
    return crypto::make_aead(cfg_.keytype, group_.key, crypto::v4_base_iv(group_.salt, src_id));
  }
  return s_app_.aead(cfg_.keytype);
}

}  // namespace volley::session
