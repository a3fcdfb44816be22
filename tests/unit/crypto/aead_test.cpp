// Tests for the OpenSSL AEADs (crypto/openssl_aead.hpp) and the nonce construction.
//
// GCM known answers: McGrew & Viega, "The Galois/Counter Mode of Operation", test cases 2-4
// (AES-128) and 13-16 (AES-256), all with 12-byte IVs; 4 and 16 carry AAD.
// CCM known answers (12-byte nonce, 16-byte tag, 28-byte AAD like an ENCRYPTED header): no
// published vector uses exactly these parameters, so they were computed with an independent CCM
// written from RFC 3610 / SP 800-38C on the bare AES block function (ccm_vector.py, which first
// reproduces SP 800-38C Example 3), and cross-checked with pyca/cryptography's AESCCM.
#include "crypto/openssl_aead.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/unit/crypto/test_hex.hpp"

namespace volley::crypto {
namespace {

using test::hex;
using test::pattern;
using test::unhex;
using Buf = std::vector<std::uint8_t>;

Nonce nonce_of(const Buf& b) {
  Nonce n{};
  std::copy(b.begin(), b.end(), n.begin());
  return n;
}

std::unique_ptr<Aead> make(KeyType t, const Buf& key, const Nonce& base = {}) {
  auto r = make_aead(t, key, base);
  EXPECT_TRUE(r.ok()) << error_name(r.error());
  return r.ok() ? std::move(r).value() : nullptr;
}

struct Kat {
  const char* name;
  KeyType type;
  const char* key;
  const char* iv;
  const char* aad;
  const char* pt;
  const char* ct;
  const char* tag;
};

constexpr const char* kMvK = "feffe9928665731c6d6a8f9467308308";
constexpr const char* kMvK256 = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
constexpr const char* kMvIv = "cafebabefacedbaddecaf888";
constexpr const char* kMvAad = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
constexpr const char* kMvP64 =
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255";
constexpr const char* kMvP60 =
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
constexpr const char* kCcmN = "101112131415161718191a1b";
constexpr const char* kCcmA = "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babb";
constexpr const char* kCcmP =
    "030a11181f262d343b424950575e656c737a81888f969da4abb2b9c0c7ced5dce3eaf1f8ff060d141b22293037";

const Kat kKats[] = {
    {"gcm128_tc2", KeyType::aes128_gcm, "00000000000000000000000000000000",
     "000000000000000000000000", "", "00000000000000000000000000000000",
     "0388dace60b6a392f328c2b971b2fe78", "ab6e47d42cec13bdf53a67b21257bddf"},
    {"gcm128_tc3", KeyType::aes128_gcm, kMvK, kMvIv, "", kMvP64,
     "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
     "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
     "4d5c2af327cd64a62cf35abd2ba6fab4"},
    {"gcm128_tc4_aad", KeyType::aes128_gcm, kMvK, kMvIv, kMvAad, kMvP60,
     "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
     "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
     "5bc94fbc3221a5db94fae95ae7121a47"},
    {"gcm256_tc13", KeyType::aes256_gcm,
     "0000000000000000000000000000000000000000000000000000000000000000", "000000000000000000000000",
     "", "", "", "530f8afbc74536b9a963b4f1c4cb738b"},
    {"gcm256_tc14", KeyType::aes256_gcm,
     "0000000000000000000000000000000000000000000000000000000000000000", "000000000000000000000000",
     "", "00000000000000000000000000000000", "cea7403d4d606b6e074ec5d3baf39d18",
     "d0d1c8a799996bf0265b98b5d48ab919"},
    {"gcm256_tc15", KeyType::aes256_gcm, kMvK256, kMvIv, "", kMvP64,
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
     "b094dac5d93471bdec1a502270e3cc6c"},
    {"gcm256_tc16_aad", KeyType::aes256_gcm, kMvK256, kMvIv, kMvAad, kMvP60,
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
    {"ccm128_uftp_shape", KeyType::aes128_ccm, "404142434445464748494a4b4c4d4e4f", kCcmN, kCcmA,
     kCcmP,
     "c0993292ceb4116988778997b6e4ac48223d19621fe12136c790522fed09e7004f9c1c9bd52133fd17384b3970",
     "9ee163ece185f230a9986186e89ed5e3"},
    {"ccm256_uftp_shape", KeyType::aes256_ccm,
     "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f", kCcmN, kCcmA, kCcmP,
     "27d3b09588be0c23f99e68cda53ce962637f575fa0adde76e47d3cdfd9331d31c50eeeb7661c370f5eeedfc7b6",
     "49e09bc4a0a0215c63fc81a42e4f6f85"},
};

class AeadKat : public ::testing::TestWithParam<Kat> {};

TEST_P(AeadKat, SealMatchesAndOpenRestores) {
  const Kat& k = GetParam();
  const Buf key = unhex(k.key), aad = unhex(k.aad), pt = unhex(k.pt);
  // counter 0: the nonce is the base IV itself.
  auto aead = make(k.type, key, nonce_of(unhex(k.iv)));
  ASSERT_TRUE(aead);
  Buf data = pt;
  std::array<std::uint8_t, 16> tag{};
  ASSERT_TRUE(aead->seal(0, aad, data, tag));
  EXPECT_EQ(hex(data), k.ct);
  EXPECT_EQ(hex(tag), k.tag);
  ASSERT_TRUE(aead->open(0, aad, data, tag));
  EXPECT_EQ(data, pt);
}

TEST_P(AeadKat, CounterIsXoredIntoTheBaseIv) {
  // base = IV ^ ctr, counter = ctr gives the same nonce, hence the same vector.
  const Kat& k = GetParam();
  const std::uint64_t ctr = 0x0123456789abcdefULL;
  Nonce base = nonce_of(unhex(k.iv));
  base = make_nonce(base, ctr);  // XOR is its own inverse
  auto aead = make(k.type, unhex(k.key), base);
  ASSERT_TRUE(aead);
  Buf data = unhex(k.pt);
  std::array<std::uint8_t, 16> tag{};
  ASSERT_TRUE(aead->seal(ctr, unhex(k.aad), data, tag));
  EXPECT_EQ(hex(data), k.ct);
  EXPECT_EQ(hex(tag), k.tag);
}

INSTANTIATE_TEST_SUITE_P(Vectors, AeadKat, ::testing::ValuesIn(kKats),
                         [](const auto& p) { return std::string(p.param.name); });

TEST(Nonce, MakeNonceXorsBigEndianCounterIntoLastEightBytes) {
  Nonce base{};
  for (std::size_t i = 0; i < base.size(); ++i) base[i] = static_cast<std::uint8_t>(0xa0 + i);
  const Nonce n = make_nonce(base, 0x0102030405060708ULL);
  EXPECT_EQ(hex(n),
            "a0a1a2a3" + hex(std::array<std::uint8_t, 8>{0xa4 ^ 1, 0xa5 ^ 2, 0xa6 ^ 3, 0xa7 ^ 4,
                                                         0xa8 ^ 5, 0xa9 ^ 6, 0xaa ^ 7, 0xab ^ 8}));
  EXPECT_EQ(make_nonce(base, 0), base);
}

TEST(Nonce, V4BaseIvReproducesBuildIv4) {
  // UFTP 4 build_iv4, 12-byte IV: (salt XOR src_id) || ctr, all big-endian.
  const std::array<std::uint8_t, 4> salt{0x11, 0x22, 0x33, 0x44};
  const Nonce base = v4_base_iv(salt, 0x01020304u);
  EXPECT_EQ(hex(base), "102030400000000000000000");
  EXPECT_EQ(hex(make_nonce(base, 0x0102030405060708ULL)), "102030400102030405060708");
  EXPECT_EQ(hex(make_nonce(base, 1)), "102030400000000000000001");
}

TEST(MakeAead, RejectsNonAeadTypesAndWrongKeySizes) {
  const Buf k16(16, 1), k32(32, 1), k24(24, 1);
  EXPECT_EQ(make_aead(KeyType::none, k16, {}).error(), Errc::bad_value);
  EXPECT_EQ(make_aead(KeyType::aes128_cbc, k16, {}).error(), Errc::bad_value);
  EXPECT_EQ(make_aead(KeyType::aes256_cbc, k32, {}).error(), Errc::bad_value);
  EXPECT_EQ(make_aead(KeyType::aes128_gcm, k32, {}).error(), Errc::bad_length);
  EXPECT_EQ(make_aead(KeyType::aes256_ccm, k16, {}).error(), Errc::bad_length);
  EXPECT_EQ(AesGcm::create(k24, {}).error(), Errc::bad_length);
  EXPECT_EQ(AesCcm::create(Buf{}, {}).error(), Errc::bad_length);
  EXPECT_EQ(key_len(KeyType::aes128_ccm), 16u);
  EXPECT_EQ(key_len(KeyType::aes256_gcm), 32u);
  EXPECT_EQ(key_type_from_code(6), KeyType::aes256_gcm);
  EXPECT_EQ(key_type_from_code(2), KeyType::none);
  EXPECT_EQ(key_type_from_code(9), KeyType::none);
}

// ---- behaviour of every AEAD type ----

class AeadAll : public ::testing::TestWithParam<KeyType> {
 protected:
  std::unique_ptr<Aead> fresh(std::uint8_t key_byte = 0x42) {
    const Buf key(key_len(GetParam()), key_byte);
    Nonce base{};
    for (std::size_t i = 0; i < base.size(); ++i) base[i] = static_cast<std::uint8_t>(i * 17);
    return make(GetParam(), key, base);
  }
};

TEST_P(AeadAll, RoundTripAtPacketSizesWithAad) {
  auto aead = fresh();
  ASSERT_TRUE(aead);
  EXPECT_EQ(aead->tag_len(), 16u);
  const Buf aad = pattern(28, 3, 1);  // UFTP header + ENCRYPTED header
  for (std::size_t n : {std::size_t{1300}, std::size_t{8800}, std::size_t{1}, std::size_t{17}}) {
    const Buf pt = pattern(n);
    Buf data = pt;
    std::array<std::uint8_t, 16> tag{};
    ASSERT_TRUE(aead->seal(1000 + n, aad, data, tag)) << n;
    EXPECT_NE(data, pt) << n;
    ASSERT_TRUE(aead->open(1000 + n, aad, data, tag)) << n;
    EXPECT_EQ(data, pt) << n;
  }
}

TEST_P(AeadAll, EmptyPayloadAndEmptyAad) {
  auto aead = fresh();
  ASSERT_TRUE(aead);
  const Buf aad = pattern(28);
  std::array<std::uint8_t, 16> tag{}, tag2{};
  Buf empty;
  ASSERT_TRUE(aead->seal(5, aad, empty, tag));
  EXPECT_TRUE(aead->open(5, aad, empty, tag));
  Buf aad_bad = aad;
  aad_bad[0] ^= 1;
  EXPECT_FALSE(aead->open(5, aad_bad, empty, tag));
  Buf data = pattern(100);
  const Buf pt = data;
  ASSERT_TRUE(aead->seal(6, {}, data, tag2));
  ASSERT_TRUE(aead->open(6, {}, data, tag2));
  EXPECT_EQ(data, pt);
}

TEST_P(AeadAll, EveryFlippedBitIsRejected) {
  auto aead = fresh();
  ASSERT_TRUE(aead);
  const Buf aad = pattern(28, 5, 9);
  const Buf pt = pattern(1300);
  Buf ct = pt;
  std::array<std::uint8_t, 16> tag{};
  ASSERT_TRUE(aead->seal(77, aad, ct, tag));

  auto opens = [&](const Buf& a, const Buf& c, const std::array<std::uint8_t, 16>& t) {
    Buf work = c;
    return aead->open(77, a, work, t);
  };
  ASSERT_TRUE(opens(aad, ct, tag));
  for (std::size_t bit = 0; bit < 128; ++bit) {  // every tag bit
    auto t = tag;
    t[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    EXPECT_FALSE(opens(aad, ct, t)) << "tag bit " << bit;
  }
  for (std::size_t bit = 0; bit < aad.size() * 8; ++bit) {  // every AAD bit
    Buf a = aad;
    a[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    EXPECT_FALSE(opens(a, ct, tag)) << "aad bit " << bit;
  }
  // Ciphertext: a spread of positions (every 61st bit) plus the first and last bits.
  std::vector<std::size_t> bits{0, ct.size() * 8 - 1};
  for (std::size_t b = 1; b < ct.size() * 8; b += 61) bits.push_back(b);
  for (std::size_t bit : bits) {
    Buf c = ct;
    c[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    EXPECT_FALSE(opens(aad, c, tag)) << "ciphertext bit " << bit;
  }
  // Truncation / extension of the ciphertext and of the AAD.
  EXPECT_FALSE(opens(aad, Buf(ct.begin(), ct.end() - 1), tag));
  Buf longer = ct;
  longer.push_back(0);
  EXPECT_FALSE(opens(aad, longer, tag));
  EXPECT_FALSE(opens(Buf(aad.begin(), aad.end() - 1), ct, tag));
  // The instance still works after all those failures.
  EXPECT_TRUE(opens(aad, ct, tag));
}

TEST_P(AeadAll, WrongCounterOrKeyIsRejected) {
  auto a = fresh(0x42);
  auto b = fresh(0x43);
  ASSERT_TRUE(a && b);
  const Buf aad = pattern(28);
  Buf ct = pattern(1300);
  std::array<std::uint8_t, 16> tag{};
  ASSERT_TRUE(a->seal(10, aad, ct, tag));
  Buf w = ct;
  EXPECT_FALSE(a->open(11, aad, w, tag));
  w = ct;
  EXPECT_FALSE(b->open(10, aad, w, tag));
  w = ct;
  EXPECT_TRUE(a->open(10, aad, w, tag));
}

TEST_P(AeadAll, DifferentCountersGiveDifferentCiphertexts) {
  auto aead = fresh();
  ASSERT_TRUE(aead);
  Buf x = pattern(64), y = pattern(64);
  std::array<std::uint8_t, 16> tx{}, ty{};
  ASSERT_TRUE(aead->seal(1, {}, x, tx));
  ASSERT_TRUE(aead->seal(2, {}, y, ty));
  EXPECT_NE(x, y);
  EXPECT_NE(tx, ty);
}

TEST_P(AeadAll, SealAndOpenInterleaveOnOneInstance) {
  // One instance, two contexts: opens between seals must not disturb the seal side.
  auto tx = fresh();
  auto rx = fresh();
  ASSERT_TRUE(tx && rx);
  const Buf aad = pattern(28);
  for (std::uint64_t ctr = 0; ctr < 50; ++ctr) {
    const Buf pt = pattern(200 + ctr, 7, static_cast<unsigned>(ctr));
    Buf mine = pt, theirs = pt;
    std::array<std::uint8_t, 16> tm{}, tt{};
    ASSERT_TRUE(tx->seal(ctr, aad, mine, tm));
    ASSERT_TRUE(rx->seal(ctr, aad, theirs, tt));
    EXPECT_EQ(mine, theirs);
    EXPECT_EQ(tm, tt);
    ASSERT_TRUE(tx->open(ctr, aad, theirs, tt));  // tx opens what rx sealed
    EXPECT_EQ(theirs, pt);
  }
}

TEST_P(AeadAll, BadTagZeroesTheOutput) {
  auto aead = fresh();
  ASSERT_TRUE(aead);
  Buf data = pattern(64);
  std::array<std::uint8_t, 16> tag{};
  ASSERT_TRUE(aead->seal(3, {}, data, tag));
  tag[0] ^= 1;
  EXPECT_FALSE(aead->open(3, {}, data, tag));
  EXPECT_EQ(data, Buf(64, 0));
}

TEST_P(AeadAll, MisuseReturnsFalse) {
  auto aead = fresh();
  ASSERT_TRUE(aead);
  Buf data = pattern(32);
  std::array<std::uint8_t, 15> short_tag{};
  std::array<std::uint8_t, 17> long_tag{};
  EXPECT_FALSE(aead->seal(1, {}, data, short_tag));
  EXPECT_FALSE(aead->seal(1, {}, data, long_tag));
  EXPECT_FALSE(aead->open(1, {}, data, short_tag));
}

INSTANTIATE_TEST_SUITE_P(Types, AeadAll,
                         ::testing::Values(KeyType::aes128_gcm, KeyType::aes256_gcm,
                                           KeyType::aes128_ccm, KeyType::aes256_ccm),
                         [](const auto& p) {
                           switch (p.param) {
                             case KeyType::aes128_gcm:
                               return std::string("aes128_gcm");
                             case KeyType::aes256_gcm:
                               return std::string("aes256_gcm");
                             case KeyType::aes128_ccm:
                               return std::string("aes128_ccm");
                             default:
                               return std::string("aes256_ccm");
                           }
                         });

}  // namespace
}  // namespace volley::crypto
