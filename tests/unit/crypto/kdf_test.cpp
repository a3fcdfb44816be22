// Tests for hashes, HMAC and the key-derivation functions (crypto/hash.hpp, crypto/kdf.hpp).
//
// Known answers: FIPS 180 "abc" digests; RFC 4231 HMAC-SHA-256 cases 1-2; RFC 5869 HKDF-SHA-256
// cases 1-3; the TLS 1.2 PRF-SHA-256 vector posted to the IETF TLS list (secret 9bbe43..., label
// "test label"), which `openssl kdf TLS1-PRF` reproduces; UFTP5 Expand-Label outputs computed with
// `openssl kdf -kdfopt mode:EXPAND_ONLY ... -kdfopt hexinfo:<"UFTP5 " label context> HKDF`.
#include "crypto/kdf.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "crypto/hash.hpp"
#include "tests/unit/crypto/test_hex.hpp"

namespace volley::crypto {
namespace {

using test::hex;
using test::unhex;
using Buf = std::vector<std::uint8_t>;

std::string hex_of(const Result<Digest>& d) {
  return d.ok() ? hex(d->view()) : "error";
}

TEST(Hash, FipsAbc) {
  const Bytes abc = text_bytes("abc");
  EXPECT_EQ(hex_of(hash(HashType::sha1, abc)), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(hex_of(hash(HashType::sha256, abc)),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex_of(hash(HashType::sha384, abc)),
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
            "8086072ba1e7cc2358baeca134c825a7");
  EXPECT_EQ(hex_of(hash(HashType::sha512, abc)),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
            "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
}

TEST(Hash, PartsConcatenate) {
  EXPECT_EQ(hex_of(hash(HashType::sha256, text_bytes("a"), Bytes{}, text_bytes("bc"))),
            hex_of(hash(HashType::sha256, text_bytes("abc"))));
}

TEST(Hash, LengthsCodesAndErrors) {
  EXPECT_EQ(hash_len(HashType::sha1), 20u);
  EXPECT_EQ(hash_len(HashType::sha256), 32u);
  EXPECT_EQ(hash_len(HashType::sha384), 48u);
  EXPECT_EQ(hash_len(HashType::sha512), 64u);
  EXPECT_EQ(hash_len(HashType::none), 0u);
  EXPECT_EQ(hash_type_from_code(3), HashType::sha256);
  EXPECT_EQ(hash_type_from_code(6), HashType::none);
  EXPECT_EQ(hash(HashType::none, text_bytes("x")).error(), Errc::bad_value);
  EXPECT_EQ(hmac(HashType::none, text_bytes("k"), text_bytes("x")).error(), Errc::bad_value);
}

TEST(Hmac, Rfc4231) {
  const Buf k1(20, 0x0b);
  EXPECT_EQ(hex_of(hmac(HashType::sha256, k1, text_bytes("Hi There"))),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(hex_of(hmac(HashType::sha256, text_bytes("Jefe"), text_bytes("what do ya want "),
                        text_bytes("for nothing?"))),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Hmac, EmptyKey) {
  // Python: hmac.new(b"", b"abc", sha256)
  EXPECT_EQ(hex_of(hmac(HashType::sha256, Bytes{}, text_bytes("abc"))),
            "fd7adb152c05ef80dccf50a1fa4c05d5a3ec6da95575fc312ae7c5d091836351");
}

// ---- HKDF, RFC 5869 appendix A ----

struct HkdfCase {
  const char* name;
  Buf ikm, salt, info;
  const char* prk;
  const char* okm;
};

TEST(Hkdf, Rfc5869Sha256Cases) {
  const HkdfCase cases[] = {
      {"1", Buf(22, 0x0b), unhex("000102030405060708090a0b0c"), unhex("f0f1f2f3f4f5f6f7f8f9"),
       "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
       "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"},
      {"2", test::pattern(80, 1, 0x00), test::pattern(80, 1, 0x60), test::pattern(80, 1, 0xb0),
       "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
       "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
       "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
       "cc30c58179ec3e87c14c01d5c1f3434f1d87"},
      {"3", Buf(22, 0x0b), Buf{}, Buf{},
       "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
       "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"},
  };
  for (const auto& c : cases) {
    auto prk = hkdf_extract(HashType::sha256, c.salt, c.ikm);
    ASSERT_TRUE(prk.ok()) << c.name;
    EXPECT_EQ(hex(prk->view()), c.prk) << c.name;
    Buf okm(std::string_view(c.okm).size() / 2);
    ASSERT_TRUE(hkdf_expand(HashType::sha256, prk->view(), c.info, okm).ok()) << c.name;
    EXPECT_EQ(hex(okm), c.okm) << c.name;
  }
}

TEST(Hkdf, LimitsAndTypes) {
  const Buf prk(32, 1);
  Buf out(255 * 32 + 1);
  EXPECT_EQ(hkdf_expand(HashType::sha256, prk, {}, out).error(), Errc::bad_length);
  out.resize(255 * 32);
  EXPECT_TRUE(hkdf_expand(HashType::sha256, prk, {}, out).ok());
  Buf small(16);
  EXPECT_EQ(hkdf_expand(HashType::md5, prk, {}, small).error(), Errc::bad_value);
  EXPECT_EQ(hkdf_extract(HashType::none, {}, prk).error(), Errc::bad_value);
}

// ---- UFTP 5 Expand-Label ----

TEST(HkdfLabel, InfoIsUftp5SpaceLabelContextWithNoLengths) {
  const Buf secret = test::pattern(32, 1, 0);
  const Buf ctx = unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Buf a(32), b(32);
  ASSERT_TRUE(hkdf_expand_label_uftp5(HashType::sha256, secret, "s hs traffic", ctx, a).ok());
  Buf info;
  for (char c : std::string("UFTP5 s hs traffic")) info.push_back(static_cast<std::uint8_t>(c));
  info.insert(info.end(), ctx.begin(), ctx.end());
  ASSERT_TRUE(hkdf_expand(HashType::sha256, secret, info, b).ok());
  EXPECT_EQ(a, b);
  // Golden values from `openssl kdf ... mode:EXPAND_ONLY` (independent HKDF).
  EXPECT_EQ(hex(a), "2dbaaaf7794027be4ee97db452ffdddf0f38fe731324f8ef08c7b55a813f9459");
  Buf iv(12);
  ASSERT_TRUE(hkdf_expand_label_uftp5(HashType::sha256, secret, "iv", {}, iv).ok());
  EXPECT_EQ(hex(iv), "de0aeeec06ca1d0bfe568ac9");
  Buf key384(48);
  ASSERT_TRUE(
      hkdf_expand_label_uftp5(HashType::sha384, test::pattern(48, 1, 0), "key", {}, key384).ok());
  EXPECT_EQ(hex(key384),
            "12760c1f303fe73faf664f77e0d14e84a4104e16b53b1add7c134cf1121e0dd0"
            "fa72bd69527f7e63583066dd2e053528");
}

// ---- v4 PRF ----

const Buf kPrfSecret = unhex("9bbe436ba940f017b17652849a71db35");
const Buf kPrfSeed = unhex("a0ba9f936cda311827a6f796ffd5198c");
// RFC 5246 P_SHA256 for the vector above (100 bytes).
constexpr const char* kTls12Sha256 =
    "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a"
    "6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab"
    "4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff701"
    "87347b66";
// RFC 4346 (TLS 1.1) MD5/SHA-1 PRF for the same inputs (`openssl kdf` digest MD5-SHA1), 48 bytes.
constexpr const char* kTls11 =
    "661740e6f98bc901efd2738502a71c03f76dd2f86298549b1148eff06714cf0f"
    "6b7c532cd8c69f1530e0bb680eec34c4";

// An independent P_hash written from the reference's description (uftp-protocol.md §3.8):
// "UFTP's P_hash feeds A(i)||seed instead of A(i) into the next iteration". Kept deliberately
// literal (a separate A chain and output HMACs) so it shares no structure with kdf.cpp, which
// computes the same function as out_i = HMAC(S, out_(i-1) || ls).
Buf to_buf(const Result<Digest>& d) {
  return Buf(d->view().begin(), d->view().end());
}

Buf reference_quirky_p_hash(HashType t, const Buf& secret, const Buf& ls, std::size_t n) {
  Buf out;
  Buf a = to_buf(hmac(t, secret, ls));  // A(1) = HMAC(S, label||seed), as in RFC 5246
  while (out.size() < n) {
    Buf a_ls = a;
    a_ls.insert(a_ls.end(), ls.begin(), ls.end());
    const Buf block = to_buf(hmac(t, secret, a_ls));  // out_i = HMAC(S, A(i)||label||seed)
    out.insert(out.end(), block.begin(), block.end());
    a = to_buf(hmac(t, secret, a_ls));  // the quirk: A(i+1) = HMAC(S, A(i)||label||seed)
  }
  out.resize(n);
  return out;
}

Buf label_seed(std::string_view label, const Buf& seed) {
  Buf ls(text_bytes(label).begin(), text_bytes(label).end());
  ls.insert(ls.end(), seed.begin(), seed.end());
  return ls;
}

Buf reference_prf_v4(HashType t, const Buf& secret, std::string_view label, const Buf& seed,
                     std::size_t n) {
  const Buf ls = label_seed(label, seed);
  if (t != HashType::sha1) return reference_quirky_p_hash(t, secret, ls, n);
  const std::size_t half = (secret.size() + 1) / 2;
  const Buf s1(secret.begin(), secret.begin() + static_cast<std::ptrdiff_t>(half));
  const Buf s2(secret.end() - static_cast<std::ptrdiff_t>(half), secret.end());
  Buf md5 = reference_quirky_p_hash(HashType::md5, s1, ls, n);
  const Buf sha = reference_quirky_p_hash(HashType::sha1, s2, ls, n);
  for (std::size_t i = 0; i < n; ++i) md5[i] ^= sha[i];
  return md5;
}

TEST(PrfV4, Sha256FirstBlockIsTls12AndTheRestIsUftpsQuirk) {
  Buf out(100);
  ASSERT_TRUE(prf_v4(HashType::sha256, kPrfSecret, "test label", kPrfSeed, out).ok());
  const std::string rfc = kTls12Sha256;
  EXPECT_EQ(hex(out).substr(0, 64), rfc.substr(0, 64));    // block 1 = RFC 5246
  EXPECT_NE(hex(out).substr(64, 64), rfc.substr(64, 64));  // block 2 onwards differs
  EXPECT_EQ(out, reference_prf_v4(HashType::sha256, kPrfSecret, "test label", kPrfSeed, 100));
  // Frozen value (also reproduced by a Python transcription of the reference description).
  EXPECT_EQ(hex(out),
            "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a"
            "4d5a6ee4573d45a31772f955454b8dfad870657a7d4eef1de8ad08ea61099108"
            "e7829e18769a4975d4f8acdfdd33746be041683eb32a8776bd110a44c34c3013"
            "b8d53b44");
}

TEST(PrfV4, Sha1IsTheTls11Md5Sha1PrfWithTheQuirkInBothHalves) {
  Buf out(100);
  ASSERT_TRUE(prf_v4(HashType::sha1, kPrfSecret, "test label", kPrfSeed, out).ok());
  const std::string rfc = kTls11;
  // The first MD5 block is 16 bytes: only those equal RFC 4346's output.
  EXPECT_EQ(hex(out).substr(0, 32), rfc.substr(0, 32));
  EXPECT_NE(hex(out).substr(32, 64), rfc.substr(32, 64));
  EXPECT_EQ(out, reference_prf_v4(HashType::sha1, kPrfSecret, "test label", kPrfSeed, 100));
  EXPECT_EQ(hex(out),
            "661740e6f98bc901efd2738502a71c03ab36164610e2d2bdea0a8bf2d4616bfa"
            "f8d5413b3747e1b142a0ff285b9ae3770b1772927eefc3b8dca62b64dcbcf579"
            "f53fa4575cdac37ef2becf1d93f238415c1ecd4f25c8fc7f276af3d2309598da"
            "3896dc92");
}

TEST(PrfV4, Sha1OddSecretSharesTheMiddleByte) {
  Buf secret = kPrfSecret;
  secret.push_back(0xaa);  // 17 bytes: halves are [0,9) and [8,17)
  Buf out(48);
  ASSERT_TRUE(prf_v4(HashType::sha1, secret, "test label", kPrfSeed, out).ok());
  EXPECT_EQ(out, reference_prf_v4(HashType::sha1, secret, "test label", kPrfSeed, 48));
  EXPECT_EQ(hex(out),
            "d15d261f27f994096fbb4709ff20d2310823b6dce0531f42bf01ef81d1acac73"
            "03905ce8f983f38e3b21a6f835d8c898");
}

TEST(PrfV4, Sha384AndSha512) {
  for (HashType t : {HashType::sha384, HashType::sha512}) {
    Buf out(100);
    ASSERT_TRUE(prf_v4(t, kPrfSecret, "test label", kPrfSeed, out).ok());
    EXPECT_EQ(out, reference_prf_v4(t, kPrfSecret, "test label", kPrfSeed, 100));
  }
  Buf out(100);
  ASSERT_TRUE(prf_v4(HashType::sha384, kPrfSecret, "test label", kPrfSeed, out).ok());
  EXPECT_EQ(hex(out).substr(0, 32), "dd88775cd827187b67a3f7652b5c13f7");
  ASSERT_TRUE(prf_v4(HashType::sha512, kPrfSecret, "test label", kPrfSeed, out).ok());
  EXPECT_EQ(hex(out).substr(0, 32), "e7611080ff43fae90e81ad9a998a4296");
}

TEST(PrfV4, PrefixStableAcrossLengthsAndBadTypes) {
  Buf long_out(104), short_out(13);
  ASSERT_TRUE(prf_v4(HashType::sha256, kPrfSecret, "key expansion", kPrfSeed, long_out).ok());
  ASSERT_TRUE(prf_v4(HashType::sha256, kPrfSecret, "key expansion", kPrfSeed, short_out).ok());
  EXPECT_TRUE(std::equal(short_out.begin(), short_out.end(), long_out.begin()));
  EXPECT_EQ(prf_v4(HashType::md5, kPrfSecret, "x", kPrfSeed, short_out).error(), Errc::bad_value);
  EXPECT_EQ(prf_v4(HashType::none, kPrfSecret, "x", kPrfSeed, short_out).error(), Errc::bad_value);
}

}  // namespace
}  // namespace volley::crypto
