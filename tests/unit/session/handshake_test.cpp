// The two halves of the key exchange against each other, packet by packet, for protocol 4 and
// 5: signed ANNOUNCE → REGISTER keys → KEYINFO → verify data, then traffic sealed by one side
// opens on the other. And what must be refused: a tampered ANNOUNCE, a KEYINFO signed by the
// wrong key (v5), a KEYINFO record for someone else.
#include <gtest/gtest.h>

#include <vector>

#include "control/session/client_handshake.hpp"
#include "control/session/server_handshake.hpp"
#include "crypto/random.hpp"

namespace volley::session {
namespace {

constexpr std::uint32_t kServer = 0x0a630001, kGroup = 0x12345678, kClient = 0x0a630102;

std::shared_ptr<const crypto::PrivateKey> ec_key() {
  auto k = crypto::PrivateKey::generate_ec(crypto::Curve::secp256r1);
  EXPECT_TRUE(k);
  return std::make_shared<crypto::PrivateKey>(std::move(*k));
}

struct Pair {
  explicit Pair(wire::Version v) : version(v) {
    ServerKeyexConfig kx;
    kx.version = v;
    kx.signing_key = signing;
    kx.ecdh_key = ec_key();
    crypto::random_bytes(kx.rand1);
    crypto::random_bytes(kx.group_master);
    if (v == wire::Version::v4) kx.group_master[0] = crypto::uftp4::kMasterVersion;
    priv.bytes = {230, 5, 5, 1};
    auto s = ServerHandshake::create(kx, kServer, kGroup, 0, priv);
    EXPECT_TRUE(s);
    server = std::move(*s);
  }
  wire::Header header(wire::MsgType t) const {
    wire::Header h;
    h.version = version;
    h.func = t;
    h.src_id = kServer;
    h.group_id = kGroup;
    return h;
  }
  // A signed ANNOUNCE as it goes on the wire.
  std::vector<std::uint8_t> announce() const {
    wire::Announce a;
    a.priv_addr = priv;
    a.enc_info = server->enc_info();
    std::vector<std::uint8_t> zero(server->sig_len(), 0);
    a.enc_info->sig = zero;
    std::vector<std::uint8_t> pkt(2048);
    auto n = wire::encode_packet(header(wire::MsgType::announce), a, pkt);
    EXPECT_TRUE(n);
    pkt.resize(*n);
    auto d = wire::decode_body(version, wire::MsgType::announce,
                               wire::Bytes(pkt).subspan(wire::kHeaderLen));
    const auto& sig = std::get<wire::Announce>(*d).enc_info->sig;
    EXPECT_TRUE(server->sign_announce(pkt, static_cast<std::size_t>(sig.data() - pkt.data())));
    return pkt;
  }
  Result<std::unique_ptr<ClientHandshake>> client_from(std::vector<std::uint8_t>& pkt) const {
    auto d = wire::decode_body(version, wire::MsgType::announce,
                               wire::Bytes(pkt).subspan(wire::kHeaderLen));
    if (!d) return d.error();
    std::string why;
    return ClientHandshake::from_announce(pkt, header(wire::MsgType::announce),
                                          std::get<wire::Announce>(*d), kClient, {},
                                          crypto::random_bytes, &why);
  }
  // KEYINFO with our record, signed by the server (v5).
  std::vector<std::uint8_t> keyinfo(std::uint64_t ctr) const {
    auto e = server->keyinfo_entry(kClient, ctr);
    EXPECT_TRUE(e);
    std::vector<std::uint8_t> zero(version == wire::Version::v5 ? server->sig_len() : 0, 0);
    std::vector<std::uint8_t> pkt(2048);
    auto n = wire::encode_packet(header(wire::MsgType::keyinfo),
                                 wire::KeyInfo{.iv_ctr = ctr, .sig = zero, .entries = *e}, pkt);
    EXPECT_TRUE(n);
    pkt.resize(*n);
    if (version == wire::Version::v5) {
      auto d = wire::decode_body(version, wire::MsgType::keyinfo,
                                 wire::Bytes(pkt).subspan(wire::kHeaderLen));
      const auto& sig = std::get<wire::KeyInfo>(*d).sig;
      EXPECT_TRUE(server->sign_keyinfo(pkt, static_cast<std::size_t>(sig.data() - pkt.data())));
    }
    return pkt;
  }
  Result<std::optional<std::vector<std::uint8_t>>> deliver_keyinfo(
      ClientHandshake& c, const std::vector<std::uint8_t>& pkt) const {
    auto d = wire::decode_body(version, wire::MsgType::keyinfo,
                               wire::Bytes(pkt).subspan(wire::kHeaderLen));
    if (!d) return d.error();
    return c.on_keyinfo(pkt, header(wire::MsgType::keyinfo), std::get<wire::KeyInfo>(*d));
  }

  wire::Version version;
  std::shared_ptr<const crypto::PrivateKey> signing = ec_key();
  wire::IpAddr priv;
  std::unique_ptr<ServerHandshake> server;
};

class Handshake : public ::testing::TestWithParam<wire::Version> {};
INSTANTIATE_TEST_SUITE_P(Protocols, Handshake,
                         ::testing::Values(wire::Version::v4, wire::Version::v5),
                         [](const auto& param) {
                           return param.param == wire::Version::v4 ? "v4" : "v5";
                         });

TEST_P(Handshake, BothEndsAgreeOnEveryKey) {
  Pair p(GetParam());
  auto ann = p.announce();
  auto c = p.client_from(ann);
  ASSERT_TRUE(c);
  EXPECT_EQ((*c)->server_fingerprint(), p.signing->public_key().fingerprint());
  ASSERT_TRUE(p.server->add_client(kClient, (*c)->ecdh_blob(), (*c)->rand2()));
  auto v = p.deliver_keyinfo(**c, p.keyinfo(7));
  ASSERT_TRUE(v);
  ASSERT_TRUE(*v);
  EXPECT_EQ((*v)->size(), GetParam() == wire::Version::v4 ? 12u : 32u);
  EXPECT_TRUE(p.server->verify_ok(kClient, **v));
  // Sender → group and receiver → sender traffic opens on the other side.
  auto seal = p.server->make_group_aead(kServer);
  ASSERT_TRUE(seal);
  std::vector<std::uint8_t> msg(100, 0x42), tag(16), aad(28, 1);
  ASSERT_TRUE((*seal)->seal(99, aad, msg, tag));
  ASSERT_TRUE((*c)->open()->open(99, aad, msg, tag));
  EXPECT_EQ(msg, std::vector<std::uint8_t>(100, 0x42));
  ASSERT_TRUE((*c)->seal()->seal(5, aad, msg, tag));
  ASSERT_TRUE(p.server->client_aead(kClient)->open(5, aad, msg, tag));
  EXPECT_EQ(msg, std::vector<std::uint8_t>(100, 0x42));
  // A repeated KEYINFO changes nothing: the same verify data, the same keys.
  crypto::Aead* before = (*c)->open();
  auto again = p.deliver_keyinfo(**c, p.keyinfo(8));
  ASSERT_TRUE(again && *again);
  EXPECT_EQ(**again, **v);
  EXPECT_EQ((*c)->open(), before);
}

TEST_P(Handshake, TamperedAnnounceIsRefused) {
  Pair p(GetParam());
  auto ann = p.announce();
  for (std::size_t at : {std::size_t{20}, std::size_t{60}, ann.size() - 1}) {
    auto bad = ann;
    bad[at] ^= 0x10;
    auto c = p.client_from(bad);
    EXPECT_FALSE(c) << "byte " << at;
  }
}

// Protocol 5 signs KEYINFO (protocol 4 has no signature on it to check).
TEST(HandshakeV5, KeyInfoSignedByAnotherKeyIsIgnored) {
  const auto GetParam = [] { return wire::Version::v5; };
  Pair p(GetParam());
  auto ann = p.announce();
  auto c = p.client_from(ann);
  ASSERT_TRUE(c);
  ASSERT_TRUE(p.server->add_client(kClient, (*c)->ecdh_blob(), (*c)->rand2()));
  auto ki = p.keyinfo(3);
  // Re-sign the same packet, over the same context, with someone else's key.
  Pair impostor(GetParam());
  auto d = wire::decode_body(GetParam(), wire::MsgType::keyinfo,
                             wire::Bytes(ki).subspan(wire::kHeaderLen));
  const auto& sig = std::get<wire::KeyInfo>(*d).sig;
  const auto at = static_cast<std::size_t>(sig.data() - ki.data());
  std::fill_n(ki.begin() + static_cast<long>(at), sig.size(), 0);
  const auto ext = enc_info_bytes(
      wire::Bytes(ann).subspan(wire::kHeaderLen),
      *std::get<wire::Announce>(*wire::decode_body(GetParam(), wire::MsgType::announce,
                                                   wire::Bytes(ann).subspan(wire::kHeaderLen)))
           .enc_info);
  std::vector<std::uint8_t> ext0(ext.begin(), ext.end());
  std::fill(ext0.end() - static_cast<long>(p.server->sig_len()), ext0.end(), 0);
  const auto ctx = crypto::uftp5::server_context(kGroup, 0, kServer, ext0);
  auto forged = impostor.signing->sign(crypto::HashType::sha256,
                                       crypto::uftp5::keyinfo_signed_bytes(ctx, ki));
  ASSERT_TRUE(forged);
  std::copy(forged->begin(), forged->end(), ki.begin() + static_cast<long>(at));
  auto v = p.deliver_keyinfo(**c, ki);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error(), Errc::auth_failed);
  EXPECT_FALSE((*c)->keyed());
  // The genuine one still works afterwards.
  auto ok = p.deliver_keyinfo(**c, p.keyinfo(4));
  ASSERT_TRUE(ok && *ok);
  EXPECT_TRUE((*c)->keyed());
}

TEST_P(Handshake, RecordForSomeoneElseIsNoKey) {
  Pair p(GetParam());
  auto ann = p.announce();
  auto c = p.client_from(ann);
  ASSERT_TRUE(c);
  // The server registers the receiver under another ID: the record is not ours.
  ASSERT_TRUE(p.server->add_client(kClient + 1, (*c)->ecdh_blob(), (*c)->rand2()));
  ASSERT_TRUE(p.server->add_client(kClient, (*c)->ecdh_blob(), (*c)->rand2()));
  auto e = p.server->keyinfo_entry(kClient + 1, 1);
  ASSERT_TRUE(e);
  std::vector<std::uint8_t> zero(GetParam() == wire::Version::v5 ? p.server->sig_len() : 0, 0);
  std::vector<std::uint8_t> pkt(2048);
  auto n = wire::encode_packet(p.header(wire::MsgType::keyinfo),
                               wire::KeyInfo{.iv_ctr = 1, .sig = zero, .entries = *e}, pkt);
  ASSERT_TRUE(n);
  pkt.resize(*n);
  auto v = p.deliver_keyinfo(**c, pkt);
  ASSERT_TRUE(v);
  EXPECT_FALSE(*v);  // not ours: ignored
  EXPECT_FALSE((*c)->keyed());
}

}  // namespace
}  // namespace volley::session
