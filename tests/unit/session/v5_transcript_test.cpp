// Golden transcript of a protocol 5 handshake (AES-256-GCM, SHA-256, P-256) with fixed keys and
// randoms: every byte that does not come from a randomized ECDSA signature must stay exactly as
// recorded — the REGISTER's key material, the KEYINFO record, the verify data, and the first
// packets under the server's and the receiver's application keys. No stock UFTP 5 peer exists on
// Debian 12, so these were recorded from this implementation of docs/crypto-handshake.md Part B
// (UFTP 5.0.1's source) and guard it against drift; the signatures are checked by verifying them.
#include <gtest/gtest.h>

#include "control/session/client_handshake.hpp"
#include "control/session/server_handshake.hpp"
#include "tests/unit/crypto/test_hex.hpp"

namespace volley::session {
namespace {

using crypto::test::unhex;

constexpr const char* kServerSigning = R"(-----BEGIN EC PRIVATE KEY-----
MHcCAQEEILAOMsEgV0fruvuWlYIS1/S3iVVf+zRbIRPBXqhjkn9woAoGCCqGSM49
AwEHoUQDQgAE5uINpE0jSxv4JnrAFJQTY8ETSBOrY8csvpDo612wIl2jEfRmje9v
L6s5C0/Bgv1u1ocwoIO+DzuBmavXxQ1XVg==
-----END EC PRIVATE KEY-----
)";
constexpr const char* kServerEcdh = R"(-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIPRUTI73ZwP2VsWvNnRJJQ8xez+wA5Z6F795JjS+TsTUoAoGCCqGSM49
AwEHoUQDQgAE9223hdVqzSr1+fuvO96Dt9UaedHARMLiMxzxkbHAxtfwO44r7klI
LsMcG/mkDuux31oaSrPMUAN46GgacbNssQ==
-----END EC PRIVATE KEY-----
)";
constexpr const char* kClientEcdh = R"(-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIGX1JjaweGhEZgUPqQ+uOyPTt+xGSKre+X4XXGR3RUbOoAoGCCqGSM49
AwEHoUQDQgAEXb55j8cuCJfnGk7hW0B5kx+UfsjVeEqQJUTMu4i3R7dfje5PTJXk
FagEueegcyC8Ed8+8i9CgdiadVGLlCqlTA==
-----END EC PRIVATE KEY-----
)";
constexpr std::uint32_t kServer = 0x0a630001, kGroup = 0x5a5a0001, kClient = 0x0a630102;

std::shared_ptr<const crypto::PrivateKey> pem(const char* text) {
  auto k = crypto::PrivateKey::from_pem(text);
  EXPECT_TRUE(k);
  return std::make_shared<crypto::PrivateKey>(std::move(*k));
}

void fixed_rand2(crypto::MutBytes out) noexcept {
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<std::uint8_t>(0xa0 + i);
}

std::string hex(wire::Bytes b) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (auto x : b) {
    s += d[x >> 4];
    s += d[x & 15];
  }
  return s;
}

TEST(V5Transcript, EveryDeterministicByteAsRecorded) {
  ServerKeyexConfig kx;
  kx.version = wire::Version::v5;
  kx.signing_key = pem(kServerSigning);
  kx.ecdh_key = pem(kServerEcdh);
  for (std::size_t i = 0; i < kx.rand1.size(); ++i) kx.rand1[i] = static_cast<std::uint8_t>(i + 1);
  for (std::size_t i = 0; i < kx.group_master.size(); ++i) {
    kx.group_master[i] = static_cast<std::uint8_t>(0x40 + i);
  }
  wire::IpAddr priv;
  priv.bytes = {230, 5, 5, 1};
  auto server = ServerHandshake::create(kx, kServer, kGroup, 0, priv);
  ASSERT_TRUE(server);

  // ANNOUNCE: all but the signature is fixed; the signature verifies (checked by the client).
  wire::Header h;
  h.version = wire::Version::v5;
  h.func = wire::MsgType::announce;
  h.src_id = kServer;
  h.group_id = kGroup;
  wire::Announce a;
  a.timestamp_us = 1'700'000'000'000'000;
  a.priv_addr = priv;
  a.pub_addr.bytes = {230, 4, 4, 1};
  a.enc_info = (*server)->enc_info();
  std::vector<std::uint8_t> zero((*server)->sig_len(), 0);
  a.enc_info->sig = zero;
  std::vector<std::uint8_t> ann(2048);
  auto n = wire::encode_packet(h, a, ann);
  ASSERT_TRUE(n);
  ann.resize(*n);
  const std::size_t sig_at = ann.size() - zero.size();
  EXPECT_EQ(hex(wire::Bytes(ann).first(sig_at)),
            "500100000a6300015a5a000100000000014400140000051400060a24181e4000"
            "e6040401e6050501013e000006030044004400440102030405060708090a0b0c"
            "0d0e0f101112131415161718191a1b1c1d1e1f2002170040e6e20da44d234b1b"
            "f8267ac014941363c1134813ab63c72cbe90e8eb5db0225da311f4668def6f2f"
            "ab390b4fc182fd6ed68730a083be0f3b8199abd7c50d575602170040f76db785"
            "d56acd2af5f9fbaf3bde83b7d51a79d1c044c2e2331cf191b1c0c6d7f03b8e2b"
            "ee49482ec31c1bf9a40eebb1df5a1a4ab3cc500378e8681a71b36cb1");
  ASSERT_TRUE((*server)->sign_announce(ann, sig_at));
  auto dec = wire::decode_body(h.version, wire::MsgType::announce,
                               wire::Bytes(ann).subspan(wire::kHeaderLen));
  ASSERT_TRUE(dec);
  std::string why;
  auto client = ClientHandshake::from_announce(ann, h, std::get<wire::Announce>(*dec), kClient, {},
                                               fixed_rand2, &why, nullptr, pem(kClientEcdh));
  ASSERT_TRUE(client) << why;
  EXPECT_EQ(hex((*client)->ecdh_blob()),
            "021700405dbe798fc72e0897e71a4ee15b4079931f947ec8d5784a902544ccbb"
            "88b747b75f8dee4f4c95e415a804b9e7a07320bc11df3ef22f4281d89a75518b"
            "942aa54c");
  EXPECT_EQ(hex((*client)->rand2()),
            "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf");

  ASSERT_TRUE((*server)->add_client(kClient, (*client)->ecdh_blob(), (*client)->rand2()));
  auto entry = (*server)->keyinfo_entry(kClient, 1);
  ASSERT_TRUE(entry);
  EXPECT_EQ(hex(*entry),
            "0a630102779eba468622f61ead074fe631b08998fb16f0ff2ddde4e3bef1ad0e"
            "68232bb013c2ae795864435b616841f0baa87355");

  // KEYINFO, signed; the receiver verifies, unwraps, and derives the same keys.
  h.func = wire::MsgType::keyinfo;
  std::vector<std::uint8_t> ki(2048);
  n = wire::encode_packet(h, wire::KeyInfo{.iv_ctr = 1, .sig = zero, .entries = *entry}, ki);
  ASSERT_TRUE(n);
  ki.resize(*n);
  auto kd = wire::decode_body(h.version, wire::MsgType::keyinfo,
                              wire::Bytes(ki).subspan(wire::kHeaderLen));
  const auto& ks = std::get<wire::KeyInfo>(*kd).sig;
  ASSERT_TRUE((*server)->sign_keyinfo(ki, static_cast<std::size_t>(ks.data() - ki.data())));
  kd = wire::decode_body(h.version, wire::MsgType::keyinfo,
                         wire::Bytes(ki).subspan(wire::kHeaderLen));
  auto v = (*client)->on_keyinfo(ki, h, std::get<wire::KeyInfo>(*kd));
  ASSERT_TRUE(v && *v);
  EXPECT_EQ(hex(**v), "f2774d0b5053b5b6e0ff4f0311c9c6cad05e84c257ad85f247c44efb50bf1906");
  EXPECT_TRUE((*server)->verify_ok(kClient, **v));

  // First packets under the application keys: server → group, then receiver → server.
  const std::vector<std::uint8_t> aad(28, 0x11);
  std::vector<std::uint8_t> msg = unhex("0102030405060708090a0b0c0d0e0f10"), tag(16);
  auto seal = (*server)->make_group_aead(kServer);
  ASSERT_TRUE(seal);
  ASSERT_TRUE((*seal)->seal(1, aad, msg, tag));
  EXPECT_EQ(hex(msg) + hex(tag),
            "c46273e14653897d48c2b220dd5f3abecbf7143c9db0071fe0f83847f68336cd");
  msg = unhex("0102030405060708090a0b0c0d0e0f10");
  ASSERT_TRUE((*client)->seal()->seal(1, aad, msg, tag));
  EXPECT_EQ(hex(msg) + hex(tag),
            "77c47e076c19c150ff9cfe8ce67660464f3bf810ea2f17e6be5d8b3ec299652f");
}

}  // namespace
}  // namespace volley::session
