#include "control/session/client_handshake.hpp"

#include <algorithm>
#include <ctime>

#include "control/session/server_handshake.hpp"
#include "crypto/openssl_aead.hpp"

namespace volley::session {
namespace {

constexpr std::uint8_t kEcdhEcdsaAuthenc = 0x33;  // keyextype ECDH_ECDSA << 4 | AUTHENC

template <typename T>
Result<T> refuse(Errc e, std::string* why, std::string msg) {
  if (why != nullptr) *why = std::move(msg);
  return e;
}

}  // namespace

Result<std::unique_ptr<ClientHandshake>> ClientHandshake::from_announce(
    wire::Bytes packet, const wire::Header& h, const wire::Announce& a, std::uint32_t client_id,
    std::span<const std::uint8_t> pinned_fingerprint, crypto::RandomSource random, std::string* why,
    std::shared_ptr<const crypto::PrivateKey> own_key,
    std::shared_ptr<const crypto::PrivateKey> ecdh_key) {
  using R = std::unique_ptr<ClientHandshake>;
  if (!a.enc_info) return refuse<R>(Errc::bad_value, why, "not an encrypted session");
  const auto& e = *a.enc_info;

  // First the signature, which covers every byte: until it verifies, anything wrong may be
  // damage on the way (auth_failed: wait for the next ANNOUNCE). After it, a refusal is final.
  const auto hashtype = crypto::hash_type_from_code(e.hashtype);
  if (crypto::hash_len(hashtype) < 32) {
    return refuse<R>(Errc::auth_failed, why, "hash must be SHA-256 or stronger");
  }
  auto server_key = crypto::PublicKey::from_blob(e.key_blob, why);
  if (!server_key) return Errc::auth_failed;
  std::vector<std::uint8_t> copy(packet.begin(), packet.end());
  const auto at = static_cast<std::size_t>(e.sig.data() - packet.data());
  if (e.sig.empty() || at + e.sig.size() > copy.size()) {
    return refuse<R>(Errc::auth_failed, why, "ANNOUNCE carries no signature");
  }
  std::fill_n(copy.begin() + static_cast<long>(at), e.sig.size(), 0);  // signed zeroed
  if (!server_key->verify(hashtype, copy, e.sig)) {
    return refuse<R>(Errc::auth_failed, why, "ANNOUNCE signature does not verify");
  }
  if (e.keyextype_sigtype != (h.version == wire::Version::v4 ? kEcdhEcdsaAuthenc : 0)) {
    return refuse<R>(Errc::bad_value, why,
                     "only ECDH key exchange with ECDSA signatures and an AEAD is supported");
  }
  const auto keytype = crypto::key_type_from_code(e.keytype);
  if (!crypto::is_aead(keytype)) {
    return refuse<R>(Errc::bad_value, why, "cipher must be AES-GCM or AES-CCM");
  }
  const bool client_auth = (e.flags & 0x01) != 0;
  if (client_auth && !own_key) {
    return refuse<R>(Errc::bad_value, why,
                     "the sender asks receivers to prove a key (uftp -c): start with --key FILE");
  }
  auto fp = crypto::fingerprint(e.key_blob);
  if (!fp) return fp.error();
  const std::string fp_text = crypto::format_fingerprint(fp->view());
  if (!pinned_fingerprint.empty() &&
      !std::equal(pinned_fingerprint.begin(), pinned_fingerprint.end(), fp->view().begin(),
                  fp->view().end())) {
    return refuse<R>(Errc::bad_value, why,
                     "server key fingerprint " + fp_text + " is not the one configured (" +
                         crypto::format_fingerprint(pinned_fingerprint) + ")");
  }
  auto server_dh = crypto::PublicKey::from_blob(e.dh_blob, why);
  if (!server_dh || server_dh->kind() != crypto::KeyKind::ec || !server_dh->curve()) {
    return refuse<R>(Errc::bad_value, why, "sender's ECDH key is not a supported EC key");
  }
  auto own = ecdh_key ? Result<crypto::PrivateKey>(*ecdh_key)
                      : crypto::PrivateKey::generate_ec(*server_dh->curve());
  if (!own) return own.error();
  auto secret = own->ecdh(*server_dh, why);
  if (!secret) return secret.error();
  const bool v4 = h.version == wire::Version::v4;
  auto premaster = v4 ? crypto::ecdh_premaster_v4(*secret) : crypto::ecdh_premaster_v5(*secret);
  crypto::secure_zero(*secret);
  if (!premaster) return premaster.error();

  R c(new ClientHandshake());
  c->version_ = h.version;
  c->server_key_ = std::move(*server_key);
  c->keytype_ = keytype;
  c->hashtype_ = hashtype;
  c->group_id_ = h.group_id;
  c->server_id_ = h.src_id;
  c->client_id_ = client_id;
  c->priv_addr_ = a.priv_addr;
  c->rand1_ = e.rand1;
  random(c->rand2_);
  if (v4) {  // as stock 4.x does: the first 4 bytes are the time, little-endian (unchecked)
    const auto t = static_cast<std::uint32_t>(std::time(nullptr));
    for (std::size_t i = 0; i < 4; ++i) c->rand2_[i] = static_cast<std::uint8_t>(t >> (8 * i));
  }
  c->premaster_.assign(premaster->view().begin(), premaster->view().end());
  c->own_blob_ = own->public_key().blob();
  c->server_fp_ = fp_text;
  if (client_auth) c->signing_blob_ = own_key->public_key().blob();
  if (v4) {
    auto keys = crypto::uftp4::client_keys(hashtype, keytype, c->premaster_, c->rand1_, c->rand2_);
    if (!keys) return keys.error();
    c->own_ = std::move(*keys);
    if (client_auth) {  // signed: Hash(group_id ‖ priv_addr ‖ rand1 ‖ rand2 ‖ premaster)
      std::vector<std::uint8_t> msg(4);
      wire::store_be32(msg.data(), h.group_id);
      msg.insert(msg.end(), a.priv_addr.bytes.begin(),
                 a.priv_addr.bytes.begin() + static_cast<long>(a.priv_addr.len()));
      msg.insert(msg.end(), c->rand1_.begin(), c->rand1_.end());
      msg.insert(msg.end(), c->rand2_.begin(), c->rand2_.end());
      msg.insert(msg.end(), c->premaster_.begin(), c->premaster_.end());
      auto sig = own_key->sign(hashtype, msg);
      if (!sig) return sig.error();
      c->ck_sig_ = std::move(*sig);
    }
    return c;
  }
  const auto ext = enc_info_bytes(packet.subspan(wire::kHeaderLen), e);
  if (ext.empty()) return refuse<R>(Errc::bad_value, why, "EXT_ENC_INFO not where expected");
  // Server_HS_Context holds the extension as signed: with its signature zeroed.
  std::vector<std::uint8_t> ext_zeroed(ext.begin(), ext.end());
  const auto sig_off = static_cast<std::size_t>(e.sig.data() - ext.data());
  if (sig_off + e.sig.size() > ext_zeroed.size()) return Errc::bad_value;
  std::fill_n(ext_zeroed.begin() + static_cast<long>(sig_off), e.sig.size(), 0);
  c->server_ctx_ = crypto::uftp5::server_context(h.group_id, h.group_inst, h.src_id, ext_zeroed);
  c->ctx1_ = crypto::uftp5::client_context(c->server_ctx_, client_id, c->own_blob_, c->rand2_);
  c->ctx2_ = c->ctx1_;
  auto hs = crypto::uftp5::handshake_keys(hashtype, keytype, c->premaster_, c->ctx1_);
  if (!hs) return hs.error();
  c->s_hs_ = std::move(hs->server);
  if (client_auth) {
    // Signed: "UFTP 5, CLIENT_KEY" ‖ Ctx1. Ctx2 = Ctx1 ‖ the CLIENT_KEY body, signature zeroed.
    std::vector<std::uint8_t> msg;
    const auto label = crypto::text_bytes("UFTP 5, CLIENT_KEY");
    msg.assign(label.begin(), label.end());
    msg.insert(msg.end(), c->ctx1_.begin(), c->ctx1_.end());
    auto sig = own_key->sign(hashtype, msg);
    if (!sig) return sig.error();
    c->ck_sig_ = std::move(*sig);
    std::vector<std::uint8_t> zero(c->ck_sig_.size(), 0), body(1024);
    auto n = wire::encode_body(h.version,
                               wire::ClientKey{.key_blob = c->signing_blob_, .sig = zero}, body);
    if (!n) return n.error();
    c->ctx2_.insert(c->ctx2_.end(), body.begin(), body.begin() + static_cast<long>(*n));
    auto seal = hs->client.aead(keytype);
    if (!seal) return seal.error();
    c->c_hs_seal_ = std::move(*seal);
  }
  return c;
}

Result<std::optional<std::vector<std::uint8_t>>> ClientHandshake::on_keyinfo(
    wire::Bytes packet, const wire::Header& h, const wire::KeyInfo& k) {
  using R = std::optional<std::vector<std::uint8_t>>;
  if (h.src_id != server_id_ || h.version != version_) return Errc::bad_value;
  const bool v4 = version_ == wire::Version::v4;
  for (std::size_t off = 0; off + wire::kKeyInfoEntryLen <= k.entries.size();
       off += wire::kKeyInfoEntryLen) {
    if (wire::load_be32(k.entries.data() + off) != client_id_) continue;
    const auto wrapped = k.entries.subspan(off + 4, wire::kKeyInfoEntryLen - 4);
    std::vector<std::uint8_t> master;
    if (v4) {
      // KEYINFO has no integrity of its own in UFTP 4: a damaged record fails the padding
      // check (an error: wait for the next one) or unwraps to a wrong master, which the
      // sender's verify check exposes; it then repeats KEYINFO, and a master that differs
      // replaces ours.
      auto m = crypto::uftp4::unwrap_master(own_, server_id_, k.iv_ctr, wrapped);
      if (!m) return m.error();
      master.assign(m->begin(), m->end());
    } else {
      // v5: the sender signed the whole packet (signature zeroed), bound to its context.
      const auto at = static_cast<std::size_t>(k.sig.data() - packet.data());
      if (k.sig.empty() || at + k.sig.size() > packet.size()) return Errc::auth_failed;
      std::vector<std::uint8_t> copy(packet.begin(), packet.end());
      std::fill_n(copy.begin() + static_cast<long>(at), k.sig.size(), 0);
      if (!server_key_->verify(hashtype_, crypto::uftp5::keyinfo_signed_bytes(server_ctx_, copy),
                               k.sig)) {
        return Errc::auth_failed;
      }
      auto m = crypto::uftp5::unwrap_master(keytype_, s_hs_, k.iv_ctr, ctx2_, wrapped);
      if (!m) return m.error();
      master.assign(m->begin(), m->end());
    }
    if (verify_ && master == group_master_) return R{*verify_};  // a repeat: our ACK was lost
    group_master_ = std::move(master);
    std::unique_ptr<crypto::Aead> open, seal;
    std::vector<std::uint8_t> verify;
    if (v4) {
      auto g = crypto::uftp4::group_keys(hashtype_, keytype_, group_master_, rand1_);
      if (!g) return g.error();
      group_ = std::move(*g);
      auto v = crypto::uftp4::verify_data(hashtype_, group_id_,
                                          {priv_addr_.bytes.data(), priv_addr_.len()}, rand1_,
                                          rand2_, premaster_, signing_blob_, group_master_);
      if (!v) return v.error();
      verify.assign(v->begin(), v->end());
      auto o = make_open();
      auto s = crypto::make_aead(keytype_, group_.key, crypto::v4_base_iv(group_.salt, client_id_));
      if (!o || !s) return Errc::bad_value;
      open = std::move(*o);
      seal = std::move(*s);
    } else {
      auto sa = crypto::uftp5::server_app(hashtype_, keytype_, group_master_, server_ctx_);
      auto ca = crypto::uftp5::client_app(hashtype_, keytype_, group_master_, ctx2_);
      if (!sa || !ca) return Errc::bad_value;
      s_app_ = std::move(*sa);
      verify = std::move(ca->verify);
      auto o = make_open();
      auto s = ca->traffic.aead(keytype_);
      if (!o || !s) return Errc::bad_value;
      open = std::move(*o);
      seal = std::move(*s);
    }
    // Contexts already handed out (the dataplane may hold the old open one) stay alive.
    if (open_) retired_.push_back(std::move(open_));
    if (seal_) retired_.push_back(std::move(seal_));
    open_ = std::move(open);
    seal_ = std::move(seal);
    verify_ = verify;
    return R{std::move(verify)};
  }
  return R{};
}

std::optional<wire::ClientKey> ClientHandshake::client_key() const {
  if (ck_sig_.empty()) return std::nullopt;
  return wire::ClientKey{.key_blob = signing_blob_, .sig = ck_sig_};
}

Result<std::unique_ptr<crypto::Aead>> ClientHandshake::make_open() const {
  if (version_ == wire::Version::v4) {
    return crypto::make_aead(keytype_, group_.key, crypto::v4_base_iv(group_.salt, server_id_));
  }
  return s_app_.aead(keytype_);
}

}  // namespace volley::session
