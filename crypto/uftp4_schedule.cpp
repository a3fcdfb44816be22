#include "crypto/uftp4_schedule.hpp"

#include "crypto/cbc.hpp"
#include "crypto/kdf.hpp"
#include "dataplane/wire/byte_io.hpp"

namespace volley::crypto::uftp4 {
namespace {

// key_block = hmac_key[hash_len] ‖ key[key_len] ‖ salt[4]
Result<KeySalt> split(HashType h, KeyType k, Bytes secret, std::string_view label, Bytes seed) {
  const std::size_t hl = hash_len(h), kl = key_len(k);
  if (hl == 0 || kl == 0) return Errc::bad_value;
  std::array<std::uint8_t, kMaxHashLen + 32 + 4> block{};
  const auto n = hl + kl + 4;
  if (auto st = prf_v4(h, secret, label, seed, {block.data(), n}); !st) return st.error();
  KeySalt ks;
  ks.key.assign(block.begin() + static_cast<long>(hl), block.begin() + static_cast<long>(hl + kl));
  std::copy_n(block.begin() + static_cast<long>(hl + kl), 4, ks.salt.begin());
  secure_zero(block);
  return ks;
}

CbcIv keyinfo_iv(const KeySalt& c, std::uint32_t server_id, std::uint64_t iv_ctr) {
  CbcIv iv{};
  std::copy(c.salt.begin(), c.salt.end(), iv.begin());
  wire::store_be32(iv.data() + 4, server_id);
  wire::store_be64(iv.data() + 8, iv_ctr);
  return iv;
}

}  // namespace

Result<KeySalt> client_keys(HashType h, KeyType k, Bytes premaster, Bytes rand1, Bytes rand2) {
  if (rand1.size() != kRandLen || rand2.size() != kRandLen) return Errc::bad_length;
  std::array<std::uint8_t, 2 * kRandLen> seed{};
  std::copy(rand1.begin(), rand1.end(), seed.begin());
  std::copy(rand2.begin(), rand2.end(), seed.begin() + kRandLen);
  std::array<std::uint8_t, kMasterLen> master{};
  if (auto st = prf_v4(h, premaster, "master secret", seed, master); !st) return st.error();
  auto ks = split(h, k, master, "key expansion", seed);
  secure_zero(master);
  return ks;
}

Result<KeySalt> group_keys(HashType h, KeyType k, Bytes group_master, Bytes rand1) {
  if (group_master.size() != kMasterLen || rand1.size() != kRandLen) return Errc::bad_length;
  return split(h, k, group_master, "key expansion", rand1);
}

Result<std::array<std::uint8_t, kWrappedLen>> wrap_master(const KeySalt& client,
                                                          std::uint32_t server_id,
                                                          std::uint64_t iv_ctr,
                                                          Bytes group_master) {
  if (group_master.size() != kMasterLen) return Errc::bad_length;
  auto c = cbc_encrypt(client.key, keyinfo_iv(client, server_id, iv_ctr), group_master.subspan(1));
  if (!c) return c.error();
  if (c->size() != kWrappedLen) return Errc::bad_length;
  std::array<std::uint8_t, kWrappedLen> out{};
  std::copy(c->begin(), c->end(), out.begin());
  return out;
}

Result<std::array<std::uint8_t, kMasterLen>> unwrap_master(const KeySalt& client,
                                                           std::uint32_t server_id,
                                                           std::uint64_t iv_ctr, Bytes wrapped) {
  if (wrapped.size() != kWrappedLen) return Errc::bad_length;
  auto p = cbc_decrypt(client.key, keyinfo_iv(client, server_id, iv_ctr), wrapped);
  if (!p) return p.error();
  if (p->size() != kMasterLen - 1) {  // stock: "Decrypt failed for group master"
    secure_zero(*p);
    return Errc::bad_value;
  }
  std::array<std::uint8_t, kMasterLen> m{};
  m[0] = kMasterVersion;
  std::copy(p->begin(), p->end(), m.begin() + 1);
  secure_zero(*p);
  return m;
}

Result<std::array<std::uint8_t, kVerifyLen>> verify_data(HashType h, std::uint32_t group_id,
                                                         Bytes priv_addr, Bytes rand1, Bytes rand2,
                                                         Bytes premaster, Bytes client_key_blob,
                                                         Bytes group_master) {
  std::array<std::uint8_t, 4> gid{};
  wire::store_be32(gid.data(), group_id);
  auto d = hash(h, Bytes(gid), priv_addr, rand1, rand2, premaster, client_key_blob, group_master);
  if (!d) return d.error();
  std::array<std::uint8_t, kVerifyLen> v{};
  if (auto st = prf_v4(h, group_master, "client finished", d->view(), v); !st) return st.error();
  return v;
}

}  // namespace volley::crypto::uftp4
