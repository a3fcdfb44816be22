#include "crypto/uftp5_schedule.hpp"

#include "crypto/kdf.hpp"
#include "dataplane/wire/byte_io.hpp"

namespace volley::crypto::uftp5 {
namespace {

void append(std::vector<std::uint8_t>& v, Bytes b) {
  v.insert(v.end(), b.begin(), b.end());
}
void append_u32(std::vector<std::uint8_t>& v, std::uint32_t x) {
  std::uint8_t b[4];
  wire::store_be32(b, x);
  v.insert(v.end(), b, b + 4);
}

// secret → key (key_len) and iv (12) of one direction.
Result<Traffic> traffic(HashType h, KeyType k, Bytes secret) {
  Traffic t;
  t.key.resize(key_len(k));
  if (t.key.empty()) return Errc::bad_value;
  if (auto st = hkdf_expand_label_uftp5(h, secret, "key", {}, t.key); !st) return st.error();
  if (auto st = hkdf_expand_label_uftp5(h, secret, "iv", {}, t.iv); !st) return st.error();
  return t;
}

// ExpandLabel(secret, label, Hash(ctx), hash_len)
Result<Digest> derive(HashType h, Bytes secret, std::string_view label, Bytes ctx) {
  auto c = hash(h, ctx);
  if (!c) return c.error();
  Digest d;
  d.len = hash_len(h);
  if (auto st = hkdf_expand_label_uftp5(h, secret, label, c->view(), {d.bytes.data(), d.len});
      !st) {
    return st.error();
  }
  return d;
}

std::vector<std::uint8_t> master_aad(Bytes client_ctx2) {
  std::vector<std::uint8_t> aad;
  append(aad, text_bytes("UFTP 5, group master"));
  append(aad, client_ctx2);
  return aad;
}

}  // namespace

std::vector<std::uint8_t> server_context(std::uint32_t group_id, std::uint8_t group_inst,
                                         std::uint32_t server_id, Bytes enc_info) {
  std::vector<std::uint8_t> c;
  append_u32(c, group_id);
  c.push_back(group_inst);
  append_u32(c, server_id);
  append(c, enc_info);
  return c;
}

std::vector<std::uint8_t> client_context(Bytes server_ctx, std::uint32_t client_id, Bytes ecdh_blob,
                                         Bytes rand2) {
  std::vector<std::uint8_t> c(server_ctx.begin(), server_ctx.end());
  append_u32(c, client_id);
  append(c, ecdh_blob);
  append(c, rand2);
  return c;
}

Result<Handshake> handshake_keys(HashType h, KeyType k, Bytes premaster, Bytes client_ctx1) {
  auto hs = hkdf_extract(h, {}, premaster);
  if (!hs) return hs.error();
  auto s = derive(h, hs->view(), "s hs traffic", client_ctx1);
  auto c = derive(h, hs->view(), "c hs traffic", client_ctx1);
  if (!s || !c) return Errc::bad_value;
  auto st = traffic(h, k, s->view());
  auto ct = traffic(h, k, c->view());
  if (!st || !ct) return Errc::bad_value;
  return Handshake{std::move(*st), std::move(*ct)};
}

Result<Traffic> server_app(HashType h, KeyType k, Bytes group_master, Bytes server_ctx) {
  auto app = hkdf_extract(h, {}, group_master);
  if (!app) return app.error();
  auto s = derive(h, app->view(), "s app traffic", server_ctx);
  if (!s) return s.error();
  return traffic(h, k, s->view());
}

Result<ClientApp> client_app(HashType h, KeyType k, Bytes group_master, Bytes client_ctx2) {
  auto app = hkdf_extract(h, {}, group_master);
  if (!app) return app.error();
  auto c = derive(h, app->view(), "c app traffic", client_ctx2);
  if (!c) return c.error();
  auto t = traffic(h, k, c->view());
  if (!t) return t.error();
  Digest fk;
  fk.len = hash_len(h);
  if (auto st = hkdf_expand_label_uftp5(h, c->view(), "finished", {}, {fk.bytes.data(), fk.len});
      !st) {
    return st.error();
  }
  auto v = hmac(h, fk.view(), client_ctx2, group_master);
  if (!v) return v.error();
  return ClientApp{std::move(*t), std::vector<std::uint8_t>(v->view().begin(), v->view().end())};
}

Result<std::array<std::uint8_t, kWrappedLen>> wrap_master(KeyType k, const Traffic& s_hs,
                                                          std::uint64_t iv_ctr, Bytes client_ctx2,
                                                          Bytes group_master) {
  if (group_master.size() != kMasterLen) return Errc::bad_length;
  auto a = s_hs.aead(k);
  if (!a) return a.error();
  std::array<std::uint8_t, kWrappedLen> out{};
  std::copy(group_master.begin(), group_master.end(), out.begin());
  const auto aad = master_aad(client_ctx2);
  if (!(*a)->seal(iv_ctr, aad, {out.data(), kMasterLen}, {out.data() + kMasterLen, kAeadTagLen})) {
    return Errc::bad_value;
  }
  return out;
}

Result<std::array<std::uint8_t, kMasterLen>> unwrap_master(KeyType k, const Traffic& s_hs,
                                                           std::uint64_t iv_ctr, Bytes client_ctx2,
                                                           Bytes wrapped) {
  if (wrapped.size() != kWrappedLen) return Errc::bad_length;
  auto a = s_hs.aead(k);
  if (!a) return a.error();
  std::array<std::uint8_t, kWrappedLen> buf{};
  std::copy(wrapped.begin(), wrapped.end(), buf.begin());
  const auto aad = master_aad(client_ctx2);
  if (!(*a)->open(iv_ctr, aad, {buf.data(), kMasterLen}, {buf.data() + kMasterLen, kAeadTagLen})) {
    return Errc::auth_failed;
  }
  std::array<std::uint8_t, kMasterLen> m{};
  std::copy_n(buf.begin(), kMasterLen, m.begin());
  secure_zero(buf);
  return m;
}

std::vector<std::uint8_t> keyinfo_signed_bytes(Bytes server_ctx, Bytes packet) {
  std::vector<std::uint8_t> v;
  append(v, text_bytes("UFTP 5, KEYINFO"));
  append(v, server_ctx);
  append(v, packet);
  return v;
}

}  // namespace volley::crypto::uftp5
