// Tests for the UFTP message codecs (dataplane/wire/messages.hpp).
//
// Golden vectors are written by hand from the layouts in UFTP 5.0.1 / 4.8 uftp.h (the body
// starts at the func byte; ENCRYPTED at the 12-byte encrypted header). Timestamps use
// T = 1600000000.123456 s: v5 0x0005af3107a5e240 µs; v4 sec 0x5f5e1000, usec 0x0001e240.
#include "dataplane/wire/messages.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

// The tables below use designated initializers and rely on the structs' default member
// initializers for the fields they leave out; that is intended, so silence GCC's warning.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace volley::wire {
namespace {

using Buf = std::vector<std::uint8_t>;

constexpr std::uint64_t kT = 1600000000123456;
constexpr const char* kT5 = "0005af31 07a5e240";
constexpr const char* kT4 = "5f5e1000 0001e240";

// ---- test data storage: decoded views must point at memory that outlives the tables ----
std::deque<Buf>& byte_arena() {
  static std::deque<Buf> arena;
  return arena;
}
std::deque<std::vector<std::uint32_t>>& id_arena() {
  static std::deque<std::vector<std::uint32_t>> arena;
  return arena;
}

// Hex to bytes; spaces, '|' and newlines are ignored.
Buf unhex(std::string_view hex) {
  Buf out;
  int hi = -1;
  for (char c : hex) {
    int v = -1;
    if (c >= '0' && c <= '9') v = c - '0';
    if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    if (v < 0) continue;
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<std::uint8_t>(hi * 16 + v));
      hi = -1;
    }
  }
  EXPECT_EQ(hi, -1) << "odd number of hex digits in " << hex;
  return out;
}
std::string cat(std::initializer_list<std::string_view> parts) {
  std::string s;
  for (auto p : parts) s += p;
  return s;
}
Bytes keep(Buf b) {
  return byte_arena().emplace_back(std::move(b));
}
Bytes hexb(std::string_view hex) {
  return keep(unhex(hex));
}
Bytes counting(std::uint8_t first, std::size_t n) {
  Buf b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(first + i);
  return keep(std::move(b));
}
Bytes text(std::string_view s) {
  return keep(Buf(s.begin(), s.end()));
}
std::string_view sv(Bytes b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
IdList ids(std::initializer_list<std::uint32_t> l) {
  return IdList::from_native(id_arena().emplace_back(l));
}
IdList ids_n(std::size_t n, std::uint32_t first) {
  std::vector<std::uint32_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = first + static_cast<std::uint32_t>(i) * 0x01010101u;
  return IdList::from_native(id_arena().emplace_back(std::move(v)));
}
IpAddr ip4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  IpAddr ip;
  ip.bytes = {a, b, c, d};
  return ip;
}
IpAddr ip6(std::string_view hex) {
  IpAddr ip;
  const Buf b = unhex(hex);
  EXPECT_EQ(b.size(), 16u);
  for (std::size_t i = 0; i < 16 && i < b.size(); ++i) ip.bytes[i] = b[i];
  ip.v6 = true;
  return ip;
}
std::array<std::uint8_t, kRandLen> rand_from(std::uint8_t first) {
  std::array<std::uint8_t, kRandLen> r{};
  for (std::size_t i = 0; i < kRandLen; ++i) r[i] = static_cast<std::uint8_t>(first + i);
  return r;
}

// ---- comparable views of every message ----
using V8 = std::vector<std::uint8_t>;
using V32 = std::vector<std::uint32_t>;
V8 vec(Bytes b) {
  return {b.begin(), b.end()};
}
V32 vec(const IdList& l) {
  V32 v;
  for (std::size_t i = 0; i < l.size(); ++i) v.push_back(l[i]);
  return v;
}
auto fields(const EncInfo& e) {
  return std::tuple(e.flags, e.keyextype_sigtype, e.keytype, e.hashtype, e.rand1, vec(e.key_blob),
                    vec(e.dh_blob), vec(e.sig));
}
auto fields(const TfmccDataInfo& t) {
  return std::tuple(t.send_rate, t.cc_seq, t.cc_rate);
}
auto fields(const TfmccAckInfo& t) {
  return std::tuple(t.flags, t.cc_seq, t.cc_rate, t.client_id, t.ts_echo_us);
}
auto fields(const FreespaceInfo& f) {
  return std::tuple(f.bytes);
}
template <typename T>
auto opt_fields(const std::optional<T>& o) {
  using R = decltype(fields(*o));
  return o ? std::optional<R>(fields(*o)) : std::optional<R>();
}
auto fields(const Announce& m) {
  return std::tuple(m.flags, m.robust, static_cast<int>(m.cc_type), m.blocksize, m.timestamp_us,
                    m.pub_addr.bytes, m.pub_addr.v6, m.priv_addr.bytes, m.priv_addr.v6,
                    opt_fields(m.enc_info), vec(m.ids));
}
auto fields(const Register& m) {
  return std::tuple(m.ts_echo_us, m.rand2, vec(m.keyinfo), vec(m.ids));
}
auto fields(const ClientKey& m) {
  return std::tuple(vec(m.key_blob), vec(m.sig));
}
auto fields(const RegConf& m) {
  return std::tuple(vec(m.ids));
}
auto fields(const KeyInfo& m) {
  return std::tuple(m.iv_ctr, vec(m.sig), vec(m.entries));
}
auto fields(const KeyInfoAck& m) {
  return std::tuple(vec(m.verify));
}
auto fields(const FileInfo& m) {
  return std::tuple(m.file_id, static_cast<int>(m.ftype), m.size, m.mtime_s, m.timestamp_us,
                    std::string(m.name), std::string(m.link), vec(m.ids));
}
auto fields(const FileInfoAck& m) {
  return std::tuple(m.file_id, m.flags, m.ts_echo_us, vec(m.ids));
}
auto fields(const FileSeg& m) {
  return std::tuple(m.file_id, m.section, m.sec_block, opt_fields(m.tfmcc), vec(m.data));
}
auto fields(const Done& m) {
  return std::tuple(m.file_id, m.section, vec(m.ids));
}
auto fields(const StatusMsg& m) {
  return std::tuple(m.file_id, m.section, opt_fields(m.tfmcc), vec(m.naks));
}
auto fields(const Complete& m) {
  return std::tuple(m.file_id, static_cast<int>(m.status), opt_fields(m.freespace), vec(m.ids));
}
auto fields(const DoneConf& m) {
  return std::tuple(vec(m.ids));
}
auto fields(const HbReq& m) {
  return std::tuple(m.nonce, vec(m.key_blob), vec(m.sig));
}
auto fields(const HbResp& m) {
  return std::tuple(m.auth, m.nonce);
}
auto fields(const KeyReq&) {
  return std::tuple(0);
}
auto fields(const ProxyKey& m) {
  return std::tuple(m.nonce, vec(m.key_blob), vec(m.dh_blob), vec(m.sig));
}
auto fields(const Encrypted& m) {
  return std::tuple(m.iv_ctr, vec(m.sig), vec(m.payload));
}
auto fields(const Abort& m) {
  return std::tuple(m.flags, m.host, std::string(m.text));
}
auto fields(const CongCtrl& m) {
  return std::tuple(m.cc_seq, m.cc_rate, m.timestamp_us, vec(m.items));
}
auto fields(const CcAck& m) {
  return fields(m.info);
}

MsgType type_of(const Message& m) {
  return std::visit([](const auto& x) { return std::decay_t<decltype(x)>::kType; }, m);
}
void expect_same(const Message& want, const Message& got) {
  ASSERT_EQ(want.index(), got.index())
      << msg_name(type_of(want)) << " vs " << msg_name(type_of(got));
  std::visit(
      [&](const auto& w) {
        using M = std::decay_t<decltype(w)>;
        EXPECT_EQ(fields(w), fields(std::get<M>(got))) << msg_name(M::kType);
      },
      want);
}
Result<std::size_t> encode_any(Version v, const Message& m, MutBytes out) {
  return std::visit([&](const auto& x) { return encode_body(v, x, out); }, m);
}
Buf encode_ok(Version v, const Message& m) {
  Buf out(10000);
  auto n = encode_any(v, m, out);
  EXPECT_TRUE(n.ok()) << msg_name(type_of(m)) << ": " << error_name(n.error());
  out.resize(n.ok() ? *n : 0);
  return out;
}
// Bytes after hlen*4 that the decoded message accounts for.
struct TailLen {
  std::size_t operator()(const Announce& x) const { return 4 * x.ids.size(); }
  std::size_t operator()(const Register& x) const { return 4 * x.ids.size(); }
  std::size_t operator()(const RegConf& x) const { return 4 * x.ids.size(); }
  std::size_t operator()(const KeyInfo& x) const { return x.entries.size(); }
  std::size_t operator()(const FileInfo& x) const { return 4 * x.ids.size(); }
  std::size_t operator()(const FileInfoAck& x) const { return 4 * x.ids.size(); }
  std::size_t operator()(const FileSeg& x) const { return x.data.size(); }
  std::size_t operator()(const Done& x) const { return 4 * x.ids.size(); }
  std::size_t operator()(const StatusMsg& x) const { return x.naks.size(); }
  std::size_t operator()(const Complete& x) const { return 4 * x.ids.size(); }
  std::size_t operator()(const DoneConf& x) const { return 4 * x.ids.size(); }
  std::size_t operator()(const CongCtrl& x) const { return x.items.size(); }
  std::size_t operator()(const auto&) const { return 0; }
};
std::size_t tail_len(const Message& m) {
  return std::visit(TailLen{}, m);
}

// ---- golden table ----
struct Golden {
  std::string name;
  Version v;
  Message msg;
  Buf bytes;
};
void PrintTo(const Golden& g, std::ostream* os) {
  *os << g.name;
}

std::string hex_rand(std::uint8_t first, std::size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    const auto b = static_cast<std::uint8_t>(first + i);
    s += d[b >> 4];
    s += d[b & 15];
  }
  return s;
}

std::vector<Golden> make_goldens() {
  std::vector<Golden> g;
  auto one = [&](std::string name, Version v, Message m, const std::string& hex) {
    g.push_back(
        {std::move(name) + (v == Version::v4 ? "_v4" : "_v5"), v, std::move(m), unhex(hex)});
  };
  auto both = [&](const std::string& name, const Message& m, const std::string& hex) {
    one(name, Version::v4, m, hex);
    one(name, Version::v5, m, hex);
  };
  // Per-version timestamp: the same message, hex differs only in the ts fields.
  auto ts_pair = [&](const std::string& name, const Message& m, const std::string& pre,
                     const std::string& post) {
    one(name, Version::v4, m, pre + kT4 + post);
    one(name, Version::v5, m, pre + kT5 + post);
  };

  // ANNOUNCE, IPv4, closed group; hlen = (16 + 4 + 4) / 4 = 6 (addresses are inside hlen).
  ts_pair("announce_ipv4",
          Announce{.flags = kAnnounceSync,
                   .robust = 20,
                   .cc_type = CcType::tfmcc,
                   .blocksize = 1300,
                   .timestamp_us = kT,
                   .pub_addr = ip4(230, 1, 2, 3),
                   .priv_addr = ip4(230, 4, 5, 6),
                   .enc_info = std::nullopt,
                   .ids = ids({0x01020304, 0x0a0b0c0d})},
          "01 06 01 14 02 00 0514 |", "| e6010203 e6040506 | 01020304 0a0b0c0d");

  // ANNOUNCE, IPv6, EXT_ENC_INFO: ext = 44 + 8 + 4 + 4 = 60 (15 words);
  // hlen = (16 + 32 + 60) / 4 = 27.
  for (Version v : {Version::v4, Version::v5}) {
    EncInfo ei{.flags = kEncInfoClientAuth,
               .keyextype_sigtype = static_cast<std::uint8_t>(v == Version::v4 ? 0x33 : 0),
               .keytype = 6,
               .hashtype = 3,
               .rand1 = rand_from(0),
               .key_blob = hexb("0217 0004 a1a2a3a4"),
               .dh_blob = hexb("b1b2b3b4"),
               .sig = hexb("c1c2c3c4")};
    one("announce_ipv6_enc", v,
        Announce{.flags = kAnnounceIpv6,
                 .robust = 5,
                 .cc_type = CcType::none,
                 .blocksize = 8800,
                 .timestamp_us = kT,
                 .pub_addr = ip6("ff02 0000 0000 0000 0000 0000 0001 0002"),
                 .priv_addr = ip6("ff02 0000 0000 0000 0000 0000 0000 0003"),
                 .enc_info = ei,
                 .ids = ids({7})},
        cat({"01 1b 04 05 00 00 2260 |", v == Version::v4 ? kT4 : kT5,
             "| ff020000000000000000000000010002 | ff020000000000000000000000000003", "| 01 0f 01",
             v == Version::v4 ? "33" : "00", "06 03 0008 0004 0004 |", hex_rand(0, 32),
             "| 02170004a1a2a3a4 | b1b2b3b4 | c1c2c3c4 | 00000007"}));
  }

  // REGISTER: hlen = (44 + 8) / 4 = 13; proxy-appended ID after hlen.
  ts_pair("register",
          Register{.ts_echo_us = kT,
                   .rand2 = rand_from(0x20),
                   .keyinfo = hexb("0217 0004 d1d2d3d4"),
                   .ids = ids({0x11})},
          "02 0d 0008 |", cat({"|", hex_rand(0x20, 32), "| 02170004d1d2d3d4 | 00000011"}));

  // CLIENT_KEY: 8 + 5 + 2 = 15 bytes, zero-padded to 16 -> hlen 4.
  both("client_key", ClientKey{.key_blob = hexb("0217 0001 aa"), .sig = hexb("bbcc")},
       "03 04 0000 0005 0002 | 02170001aa | bbcc | 00");

  both("reg_conf", RegConf{.ids = ids({1, 2})}, "04 01 0000 | 00000001 00000002");

  // KEYINFO: v4 u16 reserved, hlen 3; v5 u16 siglen + signature inside hlen.
  {
    const std::string entry = "11223344" + hex_rand(0x80, 48);
    one("keyinfo", Version::v4,
        KeyInfo{.iv_ctr = 0x0102030405060708, .sig = {}, .entries = counting(0, 0)},
        "05 03 0000 0102030405060708");
    Bytes entries = hexb(entry);
    one("keyinfo_entry", Version::v4,
        KeyInfo{.iv_ctr = 0x0102030405060708, .sig = {}, .entries = entries},
        "05 03 0000 0102030405060708 |" + entry);
    one("keyinfo_entry", Version::v5,
        KeyInfo{.iv_ctr = 0x0102030405060708, .sig = hexb("deadbeef"), .entries = entries},
        "05 04 0004 0102030405060708 | deadbeef |" + entry);
  }

  // KEYINFO_ACK: v4 reserved + 12-byte verify (hlen 4); v5 verify_len + data.
  one("keyinfo_ack", Version::v4, KeyInfoAck{.verify = counting(0xc0, 12)},
      "06 04 0000 | c0c1c2c3c4c5c6c7c8c9cacb");
  one("keyinfo_ack", Version::v5, KeyInfoAck{.verify = counting(0x40, 32)},
      "06 09 0020 |" + hex_rand(0x40, 32));

  // FILEINFO: name 12 bytes (3 words, no NUL), link "target" (2 words, NUL-padded);
  // hlen = 7 + 3 + 2 = 12. v5 puts mtime bits 32..47 at offset 6; v4 keeps it reserved.
  {
    FileInfo fi{.file_id = 7,
                .ftype = FileType::link,
                .size = 0x123456789abc,
                .mtime_s = 0x000160000000,
                .timestamp_us = kT,
                .name = "dir/file.txt",
                .link = "target",
                .ids = ids({0xabcd})};
    const std::string names = "| 6469722f66696c652e747874 | 746172676574 0000 | 0000abcd";
    one("fileinfo", Version::v5, fi,
        cat({"07 0c 0007 02 00 0001 03 02 1234 56789abc 60000000 |", kT5, names}));
    fi.mtime_s = 0x60000000;
    one("fileinfo", Version::v4, fi,
        cat({"07 0c 0007 02 00 0000 03 02 1234 56789abc 60000000 |", kT4, names}));
  }

  ts_pair(
      "fileinfo_ack",
      FileInfoAck{.file_id = 7, .flags = kFileInfoAckPartial, .ts_echo_us = kT, .ids = ids({5})},
      "08 04 0007 01 00 0000 |", "| 00000005");

  both("fileseg",
       FileSeg{.file_id = 7, .section = 3, .sec_block = 0x0102, .tfmcc = {}, .data = text("hello")},
       "09 02 0007 0003 0102 | 68656c6c6f");
  both("fileseg_tfmcc",
       FileSeg{.file_id = 7,
               .section = 3,
               .sec_block = 0x0102,
               .tfmcc = TfmccDataInfo{0x1234, 5, 0x4321},
               .data = text("hello")},
       "09 04 0007 0003 0102 | 02 02 1234 0005 4321 | 68656c6c6f");

  both("done", Done{.file_id = 7, .section = 2, .ids = ids({1, 2})},
       "0a 02 0007 0002 0000 | 00000001 00000002");

  both("status", StatusMsg{.file_id = 7, .section = 1, .tfmcc = {}, .naks = hexb("ff01")},
       "0b 02 0007 0001 0000 | ff01");
  ts_pair("status_tfmcc",
          StatusMsg{.file_id = 7,
                    .section = 1,
                    .tfmcc = TfmccAckInfo{kCcRtt | kCcStart, 5, 0x4321, 0x01020304, kT},
                    .naks = hexb("ff01")},
          "0b 07 0007 0001 0000 | 03 05 06 00 0005 4321 01020304", "| ff01");

  both("complete",
       Complete{.file_id = 7, .status = CompStatus::overwrite, .freespace = {}, .ids = ids({9})},
       "0c 02 0007 02 00 0000 | 00000009");
  both("complete_freespace",
       Complete{.file_id = 7,
                .status = CompStatus::normal,
                .freespace = FreespaceInfo{0x00000123456789ab},
                .ids = {}},
       "0c 05 0007 00 00 0000 | 07 03 0000 00000123 456789ab");

  both("done_conf", DoneConf{.ids = ids({3})}, "0d 01 0000 | 00000003");

  both("hb_req", HbReq{.nonce = 0xcafebabe, .key_blob = hexb("02170000"), .sig = hexb("01020304")},
       "0e 05 0000 0004 0004 cafebabe | 02170000 | 01020304");
  both("hb_req_noauth", HbReq{.nonce = 0xcafebabe, .key_blob = {}, .sig = {}},
       "0e 03 0000 0000 0000 cafebabe");
  both("hb_resp", HbResp{.auth = 2, .nonce = 0xcafebabe}, "0f 02 02 00 cafebabe");
  both("key_req", KeyReq{}, "10 01 0000");

  // PROXY_KEY: v4 carries a nonce (fixed 12), v5 does not (fixed 8).
  one("proxy_key", Version::v4,
      ProxyKey{.nonce = 0x01020304,
               .key_blob = hexb("a0a1a2a3"),
               .dh_blob = hexb("b0b1b2b3"),
               .sig = hexb("c0c1c2c3")},
      "11 06 0004 0004 0004 01020304 | a0a1a2a3 | b0b1b2b3 | c0c1c2c3");
  one("proxy_key", Version::v5,
      ProxyKey{.nonce = 0,
               .key_blob = hexb("a0a1a2a3"),
               .dh_blob = hexb("b0b1b2b3"),
               .sig = hexb("c0c1c2c3")},
      "11 05 0004 0004 0004 | a0a1a2a3 | b0b1b2b3 | c0c1c2c3");

  // ENCRYPTED: v4 signature sits between the 12-byte header and the payload; v5 sig_len = 0.
  one("encrypted", Version::v4,
      Encrypted{
          .iv_ctr = 0x0000000100000002, .sig = hexb("5a5a5a5a"), .payload = hexb("010203040506")},
      "00000001 00000002 0004 0006 | 5a5a5a5a | 010203040506");
  one("encrypted", Version::v5,
      Encrypted{.iv_ctr = 0x0000000100000002, .sig = {}, .payload = hexb("010203040506")},
      "00000001 00000002 0000 0006 | 010203040506");

  // ABORT: hlen 77 (308 bytes), text in a fixed NUL-padded 300-byte field.
  both("abort", Abort{.flags = kAbortCurrentFile, .host = 0x01020304, .text = "disk full"},
       "13 4d 01 00 01020304 | 6469736b2066756c6c" + std::string(291 * 2, '0'));

  ts_pair("cong_ctrl",
          CongCtrl{.cc_seq = 5,
                   .cc_rate = 0x4321,
                   .timestamp_us = kT,
                   .items = hexb("01020304 03 80 0000 0a0b0c0d 02 40 0000")},
          "14 04 0000 0005 4321 |", "| 01020304 03 80 0000 | 0a0b0c0d 02 40 0000");

  ts_pair("cc_ack", CcAck{.info = TfmccAckInfo{kCcRtt | kCcStart, 5, 0x4321, 0x01020304, kT}},
          "15 06 0000 | 03 05 06 00 0005 4321 01020304 |", "");
  return g;
}
const std::vector<Golden>& goldens() {
  static const std::vector<Golden> g = make_goldens();
  return g;
}

class GoldenTest : public ::testing::TestWithParam<Golden> {};

TEST_P(GoldenTest, EncodeMatchesGolden) {
  const Golden& g = GetParam();
  EXPECT_EQ(encode_ok(g.v, g.msg), g.bytes);
}

TEST_P(GoldenTest, DecodeGivesFields) {
  const Golden& g = GetParam();
  auto r = decode_body(g.v, type_of(g.msg), g.bytes);
  ASSERT_TRUE(r.ok()) << error_name(r.error());
  expect_same(g.msg, *r);
}

TEST_P(GoldenTest, EveryPrefixFailsOrKeepsAShorterTail) {
  const Golden& g = GetParam();
  const MsgType t = type_of(g.msg);
  const std::size_t n = g.bytes.size();
  // Up to hlen*4 (ENCRYPTED: the whole packet) every prefix must be rejected as truncated.
  // Past it, a prefix is either a valid message with a shorter tail (fewer IDs, less data) or
  // a tail of the wrong granularity (bad_length).
  const std::size_t hdr = t == MsgType::encrypted ? n : std::size_t{g.bytes[1]} * 4;
  for (std::size_t p = 0; p < n; ++p) {
    const Buf prefix(g.bytes.data(), g.bytes.data() + p);  // exact-size copy: overreads trap
    auto r = decode_body(g.v, t, prefix);
    if (p < hdr) {
      ASSERT_FALSE(r.ok()) << "prefix " << p;
      EXPECT_EQ(r.error(), Errc::truncated) << "prefix " << p;
    } else if (r.ok()) {
      EXPECT_EQ(tail_len(*r), p - hdr) << "prefix " << p;
    } else {
      EXPECT_EQ(r.error(), Errc::bad_length) << "prefix " << p;
    }
  }
}

TEST_P(GoldenTest, HlenTooSmallIsBadLength) {
  const Golden& g = GetParam();
  Buf b = g.bytes;
  if (type_of(g.msg) == MsgType::encrypted) {
    b[11] = static_cast<std::uint8_t>(b[11] - 1);  // payload_len one short of the packet
  } else {
    b[1] = static_cast<std::uint8_t>(b[1] - 1);  // cuts into the fixed part or a variable field
  }
  auto r = decode_body(g.v, type_of(g.msg), b);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), Errc::bad_length);
  if (type_of(g.msg) != MsgType::encrypted) {
    b[1] = 0;
    auto z = decode_body(g.v, type_of(g.msg), b);
    ASSERT_FALSE(z.ok());
    EXPECT_EQ(z.error(), Errc::bad_length);
  }
}

TEST_P(GoldenTest, HlenPastTheBodyIsTruncated) {
  const Golden& g = GetParam();
  Buf b = g.bytes;
  if (type_of(g.msg) == MsgType::encrypted) {
    b[10] = 0xff;
    b[11] = 0xff;
  } else {
    b[1] = 0xff;  // 1020 bytes: longer than every golden
  }
  auto r = decode_body(g.v, type_of(g.msg), b);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), Errc::truncated);
}

TEST_P(GoldenTest, EncodeReportsNoSpaceAtEverySize) {
  const Golden& g = GetParam();
  const std::size_t n = g.bytes.size();
  for (std::size_t cap = 0; cap < n; ++cap) {
    Buf buf(cap + 16, 0xa5);
    auto r = encode_any(g.v, g.msg, MutBytes(buf).first(cap));
    ASSERT_FALSE(r.ok()) << "capacity " << cap;
    EXPECT_EQ(r.error(), Errc::no_space) << "capacity " << cap;
    for (std::size_t i = cap; i < buf.size(); ++i) ASSERT_EQ(buf[i], 0xa5) << "wrote past " << cap;
  }
  Buf exact(n);
  auto r = encode_any(g.v, g.msg, exact);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, n);
}

TEST_P(GoldenTest, WholePacketRoundTrip) {
  const Golden& g = GetParam();
  const Header h{.version = g.v,
                 .func = MsgType::announce,  // encode_packet sets it
                 .seq = 0x1234,
                 .src_id = 0x01020304,
                 .group_id = 0xdeadbeef,
                 .group_inst = 1,
                 .grtt = 0x80,
                 .gsize = 0x21};
  Buf buf(kHeaderLen + g.bytes.size());
  auto n = std::visit([&](const auto& m) { return encode_packet(h, m, buf); }, g.msg);
  ASSERT_TRUE(n.ok()) << error_name(n.error());
  ASSERT_EQ(*n, buf.size());
  EXPECT_EQ(Buf(buf.data() + kHeaderLen, buf.data() + buf.size()), g.bytes);
  auto p = decode_packet(buf);
  ASSERT_TRUE(p.ok()) << error_name(p.error());
  EXPECT_EQ(p->header.version, g.v);
  EXPECT_EQ(p->header.func, type_of(g.msg));
  EXPECT_EQ(p->header.seq, 0x1234);
  EXPECT_EQ(p->header.src_id, 0x01020304u);
  EXPECT_EQ(p->header.group_id, 0xdeadbeefu);
  EXPECT_EQ(p->header.grtt, 0x80);
  expect_same(g.msg, p->msg);
}

INSTANTIATE_TEST_SUITE_P(Wire, GoldenTest, ::testing::ValuesIn(goldens()),
                         [](const ::testing::TestParamInfo<Golden>& i) { return i.param.name; });

TEST(GoldenTable, CoversEveryMessageTypeInBothVersions) {
  for (Version v : {Version::v4, Version::v5}) {
    for (int t = 1; t <= 21; ++t) {
      bool found = false;
      for (const Golden& g : goldens()) found |= g.v == v && static_cast<int>(type_of(g.msg)) == t;
      EXPECT_TRUE(found) << "no golden for type " << t;
    }
  }
}

// ---- round trips with richer content ----
struct RoundTrip {
  std::string name;
  std::vector<Version> versions;
  Message msg;
};
void PrintTo(const RoundTrip& r, std::ostream* os) {
  *os << r.name;
}

std::vector<RoundTrip> make_round_trips() {
  const std::vector<Version> all{Version::v4, Version::v5};
  std::vector<RoundTrip> r;
  r.push_back({"announce_unicast", all, Announce{.timestamp_us = kT}});
  r.push_back({"announce_ipv6_enc_100_ids", all,
               Announce{.flags = kAnnounceIpv6 | kAnnounceSync | kAnnounceSyncPreview,
                        .robust = 50,
                        .cc_type = CcType::tfmcc,
                        .blocksize = 1300,
                        .timestamp_us = kT + 999999,
                        .pub_addr = ip6("ff0e 0000 0000 0000 0000 0000 0000 0101"),
                        .priv_addr = ip6("ff0e 0000 0000 0000 0000 0000 0000 0202"),
                        .enc_info = EncInfo{.flags = 0,
                                            .keyextype_sigtype = 0x23,
                                            .keytype = 5,
                                            .hashtype = 4,
                                            .rand1 = rand_from(0x77),
                                            .key_blob = counting(1, 5),  // unaligned: padded
                                            .dh_blob = counting(2, 3),
                                            .sig = counting(3, 7)},
                        .ids = ids_n(100, 0x100)}});
  r.push_back(
      {"announce_325_ids", all,
       Announce{
           .pub_addr = ip4(239, 1, 1, 1), .priv_addr = ip4(239, 2, 2, 2), .ids = ids_n(325, 1)}});
  r.push_back({"register_proxy_ids", all,
               Register{.ts_echo_us = 42,
                        .rand2 = rand_from(9),
                        .keyinfo = counting(5, 133),
                        .ids = ids({1, 2, 3})}});
  r.push_back({"client_key_rsa3072", all,
               ClientKey{.key_blob = counting(0, 392), .sig = counting(1, 384)}});
  r.push_back({"reg_conf_empty", all, RegConf{}});
  r.push_back({"reg_conf_325", all, RegConf{.ids = ids_n(325, 7)}});
  r.push_back({"keyinfo_v4_3_entries",
               {Version::v4},
               KeyInfo{.iv_ctr = ~0ull, .entries = counting(0, 3 * kKeyInfoEntryLen)}});
  r.push_back({"keyinfo_v5_sig_25_entries",
               {Version::v5},
               KeyInfo{.iv_ctr = 9,
                       .sig = counting(0x10, 70),  // unaligned: padded inside hlen
                       .entries = counting(0, 25 * kKeyInfoEntryLen)}});
  r.push_back({"keyinfo_ack_v5_sha512", {Version::v5}, KeyInfoAck{.verify = counting(0, 64)}});
  r.push_back({"fileinfo_long_name", all,
               FileInfo{.file_id = 0xffff,
                        .ftype = FileType::regular,
                        .size = (1ull << 48) - 1,
                        .mtime_s = 0xffffffff,
                        .timestamp_us = kT,
                        .name = sv(keep(Buf(400, 'n'))),  // over MAXPATHNAME: receiver's call
                        .ids = ids_n(10, 3)}});
  r.push_back(
      {"fileinfo_v5_48bit_mtime",
       {Version::v5},
       FileInfo{
           .file_id = 1, .ftype = FileType::dir, .mtime_s = (1ull << 48) - 1, .name = "abcd"}});
  r.push_back({"fileinfo_link", all,
               FileInfo{.ftype = FileType::link, .name = "a", .link = "some/where/else"}});
  r.push_back({"fileinfo_ack_no_ids", all, FileInfoAck{.file_id = 3, .ts_echo_us = kT}});
  r.push_back({"fileinfo_ack_ids", all,
               FileInfoAck{.file_id = 3, .flags = 1, .ts_echo_us = 5, .ids = ids_n(40, 9)}});
  r.push_back({"fileseg_8800_tfmcc", all,
               FileSeg{.file_id = 2,
                       .section = 65535,
                       .sec_block = 10399,
                       .tfmcc = TfmccDataInfo{1, 2, 3},
                       .data = counting(0, 8800)}});
  r.push_back({"fileseg_empty", all, FileSeg{.file_id = 2}});
  r.push_back({"done_end_of_session", all, Done{.file_id = 0, .ids = ids_n(5, 1)}});
  r.push_back({"status_1301_tfmcc", all,
               StatusMsg{.file_id = 1,
                         .section = 7,
                         .tfmcc = TfmccAckInfo{kCcLeave, 1, 2, 3, kT},
                         .naks = counting(0, 1301)}});
  r.push_back({"complete_freespace_ids", all,
               Complete{.file_id = 1,
                        .status = CompStatus::rejected,
                        .freespace = FreespaceInfo{~0ull},
                        .ids = ids({4, 5})}});
  r.push_back({"done_conf", all, DoneConf{.ids = ids_n(2, 8)}});
  r.push_back({"hb_req_unaligned", all,
               HbReq{.nonce = 1, .key_blob = counting(0, 9), .sig = counting(0, 2)}});
  r.push_back({"hb_resp", all, HbResp{.auth = 1, .nonce = 77}});
  r.push_back({"key_req", all, KeyReq{}});
  r.push_back({"proxy_key_v4",
               {Version::v4},
               ProxyKey{.nonce = 5,
                        .key_blob = counting(0, 9),
                        .dh_blob = counting(1, 69),
                        .sig = counting(2, 72)}});
  r.push_back(
      {"proxy_key_v5",
       {Version::v5},
       ProxyKey{.key_blob = counting(0, 9), .dh_blob = counting(1, 69), .sig = counting(2, 72)}});
  r.push_back({"encrypted_v4_hmac",
               {Version::v4},
               Encrypted{.iv_ctr = 1, .sig = counting(0, 32), .payload = counting(0, 1400)}});
  r.push_back(
      {"encrypted_v5", {Version::v5}, Encrypted{.iv_ctr = ~0ull, .payload = counting(0, 1400)}});
  r.push_back({"abort_max_text", all, Abort{.text = sv(keep(Buf(299, 'x')))}});
  r.push_back({"abort_empty", all, Abort{.flags = 0, .host = 0}});
  r.push_back(
      {"cong_ctrl_162_items", all,
       CongCtrl{
           .cc_seq = 1, .cc_rate = 2, .timestamp_us = kT, .items = counting(0, 162 * kCcItemLen)}});
  r.push_back({"cc_ack", all, CcAck{.info = TfmccAckInfo{kCcClr, 9, 8, 7, 6}}});
  return r;
}
const std::vector<RoundTrip>& round_trips() {
  static const std::vector<RoundTrip> r = make_round_trips();
  return r;
}

class RoundTripTest : public ::testing::TestWithParam<RoundTrip> {};

TEST_P(RoundTripTest, EncodeDecodeEncode) {
  const RoundTrip& rt = GetParam();
  for (Version v : rt.versions) {
    const Buf first = encode_ok(v, rt.msg);
    ASSERT_FALSE(first.empty());
    auto d = decode_body(v, type_of(rt.msg), first);
    ASSERT_TRUE(d.ok()) << error_name(d.error());
    expect_same(rt.msg, *d);
    EXPECT_EQ(encode_ok(v, *d), first);
  }
}

INSTANTIATE_TEST_SUITE_P(Wire, RoundTripTest, ::testing::ValuesIn(round_trips()),
                         [](const ::testing::TestParamInfo<RoundTrip>& i) { return i.param.name; });

// ---- common header, peek_type, names, packets ----
TEST(Header, GoldenEncodeDecode) {
  const Buf golden = unhex("50 09 1234 01020304 deadbeef 01 80 21 00");
  const Header h{.version = Version::v5,
                 .func = MsgType::fileseg,
                 .seq = 0x1234,
                 .src_id = 0x01020304,
                 .group_id = 0xdeadbeef,
                 .group_inst = 1,
                 .grtt = 0x80,
                 .gsize = 0x21};
  Buf out(kHeaderLen);
  Writer w(out);
  encode_header(w, h);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(out, golden);
  auto d = decode_header(golden);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->version, Version::v5);
  EXPECT_EQ(d->func, MsgType::fileseg);
  EXPECT_EQ(d->seq, 0x1234);
  EXPECT_EQ(d->src_id, 0x01020304u);
  EXPECT_EQ(d->group_id, 0xdeadbeefu);
  EXPECT_EQ(d->group_inst, 1);
  EXPECT_EQ(d->grtt, 0x80);
  EXPECT_EQ(d->gsize, 0x21);
}

TEST(Header, Rejects) {
  const Buf good = unhex("40 01 0000 00000001 00000002 00 00 00 00");
  ASSERT_TRUE(decode_header(good).ok());
  for (std::size_t p = 0; p < kHeaderLen; ++p) {
    auto r = decode_header(Bytes(good).first(p));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), Errc::truncated);
  }
  for (int ver : {0x00, 0x30, 0x31, 0x41, 0x51, 0xff}) {
    std::array<std::uint8_t, kHeaderLen> b{};
    std::copy(good.begin(), good.end(), b.begin());
    b[0] = static_cast<std::uint8_t>(ver);
    auto r = decode_header(b);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), Errc::bad_version);
  }
  for (int func : {0, 22, 255}) {
    std::array<std::uint8_t, kHeaderLen> b{};
    std::copy(good.begin(), good.end(), b.begin());
    b[1] = static_cast<std::uint8_t>(func);
    auto r = decode_header(b);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), Errc::bad_type);
  }
}

TEST(PeekType, ValidatesRange) {
  EXPECT_EQ(peek_type({}).error(), Errc::truncated);
  const Buf zero{0}, high{22}, seg{9, 2};
  EXPECT_EQ(peek_type(zero).error(), Errc::bad_type);
  EXPECT_EQ(peek_type(high).error(), Errc::bad_type);
  ASSERT_TRUE(peek_type(seg).ok());
  EXPECT_EQ(*peek_type(seg), MsgType::fileseg);
}

TEST(MsgName, AllDistinctAndKnown) {
  std::vector<std::string_view> seen;
  for (int t = 1; t <= 21; ++t) {
    const auto n = msg_name(static_cast<MsgType>(t));
    EXPECT_NE(n, "UNKNOWN");
    for (auto s : seen) EXPECT_NE(s, n);
    seen.push_back(n);
  }
  EXPECT_EQ(msg_name(MsgType::status), "STATUS");
  EXPECT_EQ(msg_name(static_cast<MsgType>(0)), "UNKNOWN");
}

TEST(DecodePacket, HeaderAndBodyFuncMustAgree) {
  Buf b = unhex("50 0a 0001 00000001 00000002 00 00 00 00 | 09 02 0007 0003 0102 | 68656c6c6f");
  auto r = decode_packet(b);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), Errc::bad_type);
  b[1] = 9;
  ASSERT_TRUE(decode_packet(b).ok());
  b[1] = 18;  // claims ENCRYPTED: the body is then read as the 12-byte encrypted header
  auto e = decode_packet(b);
  ASSERT_FALSE(e.ok());
}

TEST(DecodeBody, BodyFuncMustMatchRequestedType) {
  const Buf b = unhex("09 02 0007 0003 0102");
  auto r = decode_body(Version::v5, MsgType::done, b);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), Errc::bad_type);
  auto f = decode_fileseg(Version::v5, hexb("0a 02 0007 0003 0000"));
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error(), Errc::bad_type);
}

TEST(DecodeBody, RejectsUnknownVersion) {
  const Buf b = unhex("09 02 0007 0003 0102");
  EXPECT_EQ(decode_body(static_cast<Version>(0x30), MsgType::fileseg, b).error(),
            Errc::bad_version);
  EXPECT_EQ(decode_fileseg(static_cast<Version>(0x30), b).error(), Errc::bad_version);
  Buf out(64);
  EXPECT_EQ(encode_body(static_cast<Version>(0x30), KeyReq{}, out).error(), Errc::bad_version);
}

// ---- header extensions ----
TEST(Extensions, UnknownTypesAreSkipped) {
  // FILESEG: unknown ext (type 0x63, 2 words) before and (type 0x05, 1 word) after TFMCC.
  auto r = decode_fileseg(Version::v5, hexb("09 07 0007 0003 0102 | 63 02 aaaa bbbb cccc |"
                                            "02 02 1234 0005 4321 | 05 01 0000 | 6869"));
  ASSERT_TRUE(r.ok()) << error_name(r.error());
  ASSERT_TRUE(r->tfmcc.has_value());
  EXPECT_EQ(r->tfmcc->send_rate, 0x1234);
  EXPECT_EQ(r->tfmcc->cc_rate, 0x4321);
  EXPECT_EQ(vec(r->data), V8({0x68, 0x69}));

  // STATUS with only an unknown ext: no TFMCC info, bitmap after hlen.
  auto s =
      decode_body(Version::v5, MsgType::status, hexb("0b 03 0007 0001 0000 | 63 01 ffff | 01"));
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(std::get<StatusMsg>(*s).tfmcc.has_value());
  EXPECT_EQ(vec(std::get<StatusMsg>(*s).naks), V8({0x01}));

  // A known extension in the wrong message is treated as unknown (FREESPACE_INFO in STATUS).
  auto w = decode_body(Version::v5, MsgType::status,
                       hexb("0b 05 0007 0001 0000 | 07 03 0000 00000000 00000001 | 01"));
  ASSERT_TRUE(w.ok());
  EXPECT_FALSE(std::get<StatusMsg>(*w).tfmcc.has_value());

  // COMPLETE: unknown ext then FREESPACE_INFO, then one ID.
  auto c = decode_body(Version::v4, MsgType::complete,
                       hexb("0c 06 0009 01 00 0000 | 04 01 0000 | 07 03 0000 00000001 00000002 |"
                            "0000000a"));
  ASSERT_TRUE(c.ok()) << error_name(c.error());
  const auto& cm = std::get<Complete>(*c);
  ASSERT_TRUE(cm.freespace.has_value());
  EXPECT_EQ(cm.freespace->bytes, 0x0000000100000002u);
  EXPECT_EQ(vec(cm.ids), V32({10}));

  // ANNOUNCE: unknown ext before EXT_ENC_INFO (ENC_INFO with no blobs: 11 words).
  auto a = decode_body(Version::v5, MsgType::announce,
                       hexb(cat({"01 12 00 14 00 00 0514", kT5, "e0000001 e0000002 | 06 01 0000 |",
                                 "01 0b 00 00 05 03 0000 0000 0000", hex_rand(0x10, 32)})));
  ASSERT_TRUE(a.ok()) << error_name(a.error());
  const auto& am = std::get<Announce>(*a);
  ASSERT_TRUE(am.enc_info.has_value());
  EXPECT_EQ(am.enc_info->keytype, 5);
  EXPECT_EQ(am.enc_info->rand1, rand_from(0x10));
  EXPECT_TRUE(am.ids.empty());

  // REG_CONF with an unknown ext inside hlen: IDs still start at hlen*4.
  auto rc = decode_body(Version::v5, MsgType::reg_conf, hexb("04 02 0000 | 09 01 1234 | 00000005"));
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(vec(std::get<RegConf>(*rc).ids), V32({5}));
}

TEST(Extensions, ZeroLengthIsMalformed) {
  struct Case {
    MsgType t;
    const char* hex;
  };
  for (const Case& c : {Case{MsgType::fileseg, "09 04 0007 0003 0102 | 02 00 1234 0005 4321"},
                        Case{MsgType::fileseg, "09 03 0007 0003 0102 | 63 00 0000"},
                        Case{MsgType::status, "0b 03 0007 0001 0000 | 00 00 0000 | ff"},
                        Case{MsgType::complete, "0c 03 0007 00 00 0000 | 07 00 0000"},
                        Case{MsgType::reg_conf, "04 02 0000 | 00 00 0000"},
                        Case{MsgType::cc_ack, "15 02 0000 | 03 00 0000"},
                        Case{MsgType::announce,
                             "01 07 00 00 00 00 0000 00000000 00000000 |"
                             "00000000 00000000 | 01 00 0000"}}) {
    auto r = decode_body(Version::v5, c.t, hexb(c.hex));
    ASSERT_FALSE(r.ok()) << c.hex;
    EXPECT_EQ(r.error(), Errc::bad_length) << c.hex;
  }
}

TEST(Extensions, LengthPastHlenOrTooShortIsBadLength) {
  const char* cases[] = {
      "09 04 0007 0003 0102 | 02 03 1234 0005 4321 | 00000000",  // runs 1 word past hlen
      "09 03 0007 0003 0102 | 02 01 1234",                       // TFMCC_DATA_INFO < 8 bytes
      "0b 04 0007 0001 0000 | 03 02 0000 00000000 | ff",         // TFMCC_ACK_INFO < 20 bytes
      "0c 04 0007 00 00 0000 | 07 02 0000 00000000",             // FREESPACE_INFO < 12 bytes
  };
  for (const char* hex : cases) {
    auto r = decode_body(Version::v5, static_cast<MsgType>(unhex(hex)[0]), unhex(hex));
    ASSERT_FALSE(r.ok()) << hex;
    EXPECT_EQ(r.error(), Errc::bad_length) << hex;
  }
}

TEST(Extensions, EncInfoBlobsMustFitTheExtension) {
  // ext says 11 words (44 bytes, no room) but keylen = 4.
  const std::string hex = cat({"01 11 00 14 00 00 0514", kT5, "e0000001 e0000002 |",
                               "01 0b 00 00 05 03 0004 0000 0000", hex_rand(0, 32)});
  auto r = decode_body(Version::v5, MsgType::announce, hexb(hex));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), Errc::bad_length);
}

TEST(Extensions, CcAckWithoutAckInfoIsBadValue) {
  auto r = decode_body(Version::v5, MsgType::cc_ack, hexb("15 02 0000 | 09 01 0000"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), Errc::bad_value);
}

// ---- lengths and strings ----
TEST(Lengths, IdListMustBeWholeWords) {
  for (const char* hex : {"04 01 0000 | 00000001 02", "0d 01 0000 | 0001",
                          "0a 02 0007 0002 0000 | 00000001 000000"}) {
    auto r = decode_body(Version::v5, static_cast<MsgType>(unhex(hex)[0]), unhex(hex));
    ASSERT_FALSE(r.ok()) << hex;
    EXPECT_EQ(r.error(), Errc::bad_length) << hex;
  }
  auto k = decode_body(Version::v4, MsgType::keyinfo, hexb("05 03 0000 0000000000000001 | 11"));
  EXPECT_EQ(k.error(), Errc::bad_length);
  auto c = decode_body(Version::v4, MsgType::cong_ctrl,
                       hexb(cat({"14 04 0000 0001 0002", kT4, "| 00000001 0200"})));
  EXPECT_EQ(c.error(), Errc::bad_length);
}

TEST(Lengths, BlobsMustFitInsideHlen) {
  const char* cases[] = {
      "03 03 0000 0004 0001 | 00000000",                    // CLIENT_KEY 8+4+1 > 12
      "0e 04 0000 0004 0004 00000001 | 00000000 00000000",  // HB_REQ 12+8 > 16
      "11 03 0008 0000 0000 | 00000000 00000000",           // PROXY_KEY v5 8+8 > 12
      "06 02 0008 | 00000000 00000000",                     // KEYINFO_ACK v5 4+8 > 8
      "05 03 0004 0000000000000001 | 00000000",             // KEYINFO v5 sig 12+4 > 12
  };
  for (const char* hex : cases) {
    auto r = decode_body(Version::v5, static_cast<MsgType>(unhex(hex)[0]), unhex(hex));
    ASSERT_FALSE(r.ok()) << hex;
    EXPECT_EQ(r.error(), Errc::bad_length) << hex;
  }
  // REGISTER: dhlen 8 but hlen only covers 44 + 4.
  const std::string reg = cat({"02 0c 0008", kT5, hex_rand(0, 32), "02170004 | 00000000"});
  EXPECT_EQ(decode_body(Version::v5, MsgType::register_, hexb(reg)).error(), Errc::bad_length);
  // KEYINFO v4: the u16 is reserved, so a non-zero value there is not a signature length.
  auto k4 = decode_body(Version::v4, MsgType::keyinfo, hexb("05 03 0004 0000000000000001"));
  ASSERT_TRUE(k4.ok());
  EXPECT_TRUE(std::get<KeyInfo>(*k4).sig.empty());
}

TEST(Strings, FileInfoNameAndLink) {
  const std::string pre = cat({"07 0a 0001 00 00 0000 02 01 0000 00000010 00000000", kT5});
  // name "ab\0c" + "d\0\0\0": bytes after the first NUL are ignored; link fills its word exactly.
  auto r =
      decode_body(Version::v5, MsgType::fileinfo, hexb(pre + "| 61620063 64000000 | 6c6e6b21"));
  ASSERT_TRUE(r.ok()) << error_name(r.error());
  const auto& fi = std::get<FileInfo>(*r);
  EXPECT_EQ(fi.name, "ab");
  EXPECT_EQ(fi.link, "lnk!");
  EXPECT_EQ(fi.size, 0x10u);
  // name + link words beyond hlen.
  Buf bad = unhex(pre + "| 61620063 64000000 | 6c6e6b21");
  bad[9] = 2;  // linklen 2 words: 28 + 8 + 8 > 40
  EXPECT_EQ(decode_body(Version::v5, MsgType::fileinfo, bad).error(), Errc::bad_length);
  // Extra padding inside hlen after name/link is tolerated.
  Buf padded = unhex(pre + "| 61620063 64000000 | 6c6e6b21 | 00000000");
  padded[1] = 0x0b;
  auto p = decode_body(Version::v5, MsgType::fileinfo, padded);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(std::get<FileInfo>(*p).ids.empty());
}

TEST(Strings, FileInfoV4IgnoresTheReservedMtimeHigh) {
  const std::string body =
      cat({"07 08 0001 00 00 ffff 01 00 0000 00000000 12345678", kT4, "| 61000000"});
  auto v4 = decode_body(Version::v4, MsgType::fileinfo, hexb(body));
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(std::get<FileInfo>(*v4).mtime_s, 0x12345678u);
  auto v5 = decode_body(Version::v5, MsgType::fileinfo, hexb(body));
  ASSERT_TRUE(v5.ok());
  EXPECT_EQ(std::get<FileInfo>(*v5).mtime_s, 0xffff12345678u);
}

TEST(Strings, KeyInfoAckV5WithoutLengthFieldTakesTheRestOfHlen) {
  // Stock UFTP 5.0.x never fills verify_len: the 32-byte HMAC fills hlen (9 words).
  auto m =
      decode_body(Version::v5, MsgType::keyinfo_ack, hexb("06 09 0000 |" + hex_rand(0x40, 32)));
  ASSERT_TRUE(m.ok());
  const auto& v = std::get<KeyInfoAck>(*m).verify;
  ASSERT_EQ(v.size(), 32u);
  EXPECT_EQ(v[0], 0x40);
  EXPECT_EQ(v[31], 0x5f);
}

TEST(Strings, AbortTextWithoutNulUsesTheWholeField) {
  Buf b = unhex("13 4d 00 00 00000000");
  b.resize(8 + kAbortTextLen, 'z');
  auto r = decode_body(Version::v5, MsgType::abort, b);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(std::get<Abort>(*r).text.size(), kAbortTextLen);
}

// ---- ENCRYPTED specifics ----
TEST(Encrypted, LengthMustMatchExactly) {
  Buf b = unhex("00000001 00000002 0004 0002 | 5a5a5a5a | 0102 | 03");  // one trailing byte
  EXPECT_EQ(decode_body(Version::v4, MsgType::encrypted, b).error(), Errc::bad_length);
  b.pop_back();
  ASSERT_TRUE(decode_body(Version::v4, MsgType::encrypted, b).ok());
}

TEST(Encrypted, V5SignatureLengthMustBeZero) {
  const Buf b = unhex("00000001 00000002 0004 0002 | 5a5a5a5a | 0102");
  auto r = decode_body(Version::v5, MsgType::encrypted, b);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), Errc::bad_value);
}

// ---- encoder value checks ----
TEST(EncodeErrors, ValuesOutsideTheWireDomain) {
  Buf out(4096);
  const auto err = [&](Version v, const auto& m) { return encode_body(v, m, out).error(); };
  EXPECT_EQ(err(Version::v5, FileInfo{.size = 1ull << 48, .name = "a"}), Errc::bad_value);
  EXPECT_EQ(err(Version::v4, FileInfo{.mtime_s = 1ull << 32, .name = "a"}), Errc::bad_value);
  EXPECT_EQ(err(Version::v5, FileInfo{.mtime_s = 1ull << 48, .name = "a"}), Errc::bad_value);
  EXPECT_EQ(err(Version::v5, FileInfo{.name = std::string_view("a\0b", 3)}), Errc::bad_value);
  EXPECT_EQ(err(Version::v5, FileInfo{.name = sv(keep(Buf(1000, 'n')))}), Errc::bad_length);
  EXPECT_EQ(err(Version::v4, KeyInfoAck{.verify = counting(0, 32)}), Errc::bad_value);
  EXPECT_EQ(err(Version::v4, KeyInfo{.sig = counting(0, 4)}), Errc::bad_value);
  EXPECT_EQ(err(Version::v5, KeyInfo{.entries = counting(0, 51)}), Errc::bad_length);
  EXPECT_EQ(err(Version::v5, CongCtrl{.items = counting(0, 9)}), Errc::bad_length);
  EXPECT_EQ(err(Version::v5, Encrypted{.sig = counting(0, 4)}), Errc::bad_value);
  EXPECT_EQ(err(Version::v5, Abort{.text = sv(keep(Buf(300, 'x')))}), Errc::bad_length);
  EXPECT_EQ(err(Version::v5, Announce{.flags = kAnnounceIpv6}), Errc::bad_value);
  EXPECT_EQ(err(Version::v5, Announce{.pub_addr = ip6("ff02 0000 0000 0000 0000 0000 0000 0001")}),
            Errc::bad_value);
  EXPECT_EQ(err(Version::v5, Announce{.enc_info = EncInfo{.key_blob = counting(0, 1000)}}),
            Errc::bad_length);
  EXPECT_EQ(err(Version::v5, ClientKey{.key_blob = counting(0, 1013)}), Errc::bad_length);
}

}  // namespace
}  // namespace volley::wire
