// UFTP message codecs (see messages.hpp). Layouts were checked against the UFTP 5.0.1 and 4.8
// sources (uftp.h and the send_* / handle_* functions), not only against the reference notes.
//
// Decoding rules shared by every body except ENCRYPTED:
// - body[0] must be the expected func byte (else bad_type);
// - hlen*4 must cover the message's fixed part (else bad_length) and fit in the body (else
//   truncated);
// - variable fields counted inside hlen (key blobs, signatures, FILEINFO name/link) must fit
//   inside hlen*4 (else bad_length); any padding after them up to hlen*4 is ignored;
// - for messages with a fixed header, the bytes between the fixed part and hlen*4 are header
//   extensions (type u8, len u8 in 32-bit words): len 0 or an extension running past hlen*4 is
//   bad_length, a known extension shorter than its layout is bad_length, extensions unknown to
//   the message are skipped, and of repeated known extensions the first wins;
// - the tail after hlen*4 is the ID list (must be a multiple of 4 bytes, else bad_length), the
//   KEYINFO records (multiple of 52), the CONG_CTRL items (multiple of 8), the NAK bitmap or the
//   file data (any length).
// Bytes after hlen*4 in messages that carry no tail (CLIENT_KEY, KEYINFO_ACK, HB_*, KEY_REQ,
// PROXY_KEY, ABORT, CC_ACK) are ignored, as stock UFTP does.
#include "dataplane/wire/messages.hpp"

#include <cstring>

namespace volley::wire {
namespace {

// Fixed part sizes in bytes, counted from the func byte.
constexpr std::size_t kAnnounceFixed = 16;  // plus two addresses, counted in hlen
constexpr std::size_t kEncInfoFixed = 44;
constexpr std::size_t kRegisterFixed = 44;
constexpr std::size_t kClientKeyFixed = 8;
constexpr std::size_t kRegConfFixed = 4;
constexpr std::size_t kKeyInfoFixed = 12;
constexpr std::size_t kKeyInfoAckFixed = 4;
constexpr std::size_t kVerify4Len = 12;
constexpr std::size_t kFileInfoFixed = 28;
constexpr std::size_t kFileInfoAckFixed = 16;
constexpr std::size_t kDoneFixed = 8;
constexpr std::size_t kStatusFixed = 8;
constexpr std::size_t kCompleteFixed = 8;
constexpr std::size_t kDoneConfFixed = 4;
constexpr std::size_t kHbReqFixed = 12;
constexpr std::size_t kHbRespFixed = 8;
constexpr std::size_t kKeyReqFixed = 4;
constexpr std::size_t kProxyKey4Fixed = 12;
constexpr std::size_t kProxyKey5Fixed = 8;
constexpr std::size_t kAbortFixed = 8 + kAbortTextLen;  // 308
constexpr std::size_t kCongCtrlFixed = 16;
constexpr std::size_t kCcAckFixed = 4;
constexpr std::size_t kTfmccDataInfoLen = 8;
constexpr std::size_t kTfmccAckInfoLen = 20;
constexpr std::size_t kFreespaceInfoLen = 12;
constexpr std::size_t kMaxHlenBytes = 255 * 4;
constexpr std::size_t kMaxU16 = 0xFFFF;
constexpr std::uint64_t kMax48 = (std::uint64_t{1} << 48) - 1;
constexpr std::uint64_t kUsecPerSec = 1'000'000;

[[nodiscard]] constexpr std::size_t pad4(std::size_t n) noexcept {
  return (n + 3) & ~std::size_t{3};
}
[[nodiscard]] constexpr std::uint8_t raw(MsgType t) noexcept {
  return static_cast<std::uint8_t>(t);
}
[[nodiscard]] constexpr std::uint8_t raw(ExtType t) noexcept {
  return static_cast<std::uint8_t>(t);
}
[[nodiscard]] constexpr bool valid_version(Version v) noexcept {
  return v == Version::v4 || v == Version::v5;
}
[[nodiscard]] inline Bytes as_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
// The bytes of a NUL-padded field up to the first NUL.
[[nodiscard]] inline std::string_view nul_trimmed(Bytes field) noexcept {
  if (field.empty()) return {};
  const void* nul = std::memchr(field.data(), 0, field.size());
  const std::size_t n =
      nul == nullptr
          ? field.size()
          : static_cast<std::size_t>(static_cast<const std::uint8_t*>(nul) - field.data());
  return {reinterpret_cast<const char*>(field.data()), n};
}

// ---- timestamps ----
void put_ts(Writer& w, Version v, std::uint64_t us) noexcept {
  if (v == Version::v4) {
    w.u32(static_cast<std::uint32_t>(us / kUsecPerSec));
    w.u32(static_cast<std::uint32_t>(us % kUsecPerSec));
  } else {
    w.u64(us);
  }
}
[[nodiscard]] std::uint64_t get_ts(Reader& r, Version v) noexcept {
  if (v == Version::v4) {
    const std::uint64_t sec = r.u32();
    const std::uint64_t usec = r.u32();
    return sec * kUsecPerSec + usec;
  }
  return r.u64();
}

// ---- encode helpers ----
[[nodiscard]] Result<std::size_t> finish(const Writer& w) noexcept {
  if (!w.ok()) return Errc::no_space;
  return w.pos();
}
void put_ids(Writer& w, const IdList& ids) noexcept {
  std::uint8_t* p = w.claim(ids.size() * 4);
  if (p == nullptr) return;
  for (std::size_t i = 0; i < ids.size(); ++i) store_be32(p + 4 * i, ids[i]);
}
// Writes the common func/hlen pair; `hdr_bytes` must be a multiple of 4 and <= kMaxHlenBytes.
void put_func_hlen(Writer& w, MsgType t, std::size_t hdr_bytes) noexcept {
  w.u8(raw(t));
  w.u8(static_cast<std::uint8_t>(hdr_bytes / 4));
}
void put_ack_info(Writer& w, Version v, const TfmccAckInfo& a) noexcept {
  w.u8(raw(ExtType::tfmcc_ack_info));
  w.u8(static_cast<std::uint8_t>(kTfmccAckInfoLen / 4));
  w.u8(a.flags);
  w.u8(0);
  w.u16(a.cc_seq);
  w.u16(a.cc_rate);
  w.u32(a.client_id);
  put_ts(w, v, a.ts_echo_us);
}

// ---- decode helpers ----
// Checks the func byte and hlen of a non-ENCRYPTED body; returns hlen in bytes.
[[nodiscard]] Result<std::size_t> open_body(Bytes body, MsgType t, std::size_t fixed) noexcept {
  if (body.size() < 2) return Errc::truncated;
  if (body[0] != raw(t)) return Errc::bad_type;
  const std::size_t hl = std::size_t{body[1]} * 4;
  if (hl < fixed) return Errc::bad_length;
  if (hl > body.size()) return Errc::truncated;
  return hl;
}

// Walks the header extensions in body[from, to), calling on_ext(type, ext_bytes) for each.
template <typename F>
[[nodiscard]] Errc walk_exts(Bytes body, std::size_t from, std::size_t to, F&& on_ext) noexcept {
  while (from < to) {
    if (to - from < 2) return Errc::bad_length;
    const std::size_t len = std::size_t{body[from + 1]} * 4;
    if (len == 0 || len > to - from) return Errc::bad_length;
    const Errc e = on_ext(body[from], body.subspan(from, len));
    if (e != Errc::ok) return e;
    from += len;
  }
  return Errc::ok;
}
[[nodiscard]] Errc skip_exts(Bytes body, std::size_t from, std::size_t to) noexcept {
  return walk_exts(body, from, to, [](std::uint8_t, Bytes) noexcept { return Errc::ok; });
}

[[nodiscard]] Errc ids_from(Bytes tail, IdList& out) noexcept {
  if (tail.size() % 4 != 0) return Errc::bad_length;
  out = IdList::from_wire(tail);
  return Errc::ok;
}

[[nodiscard]] Errc get_ack_info(Version v, Bytes e, TfmccAckInfo& a) noexcept {
  if (e.size() < kTfmccAckInfoLen) return Errc::bad_length;
  Reader r(e);
  r.skip(2);
  a.flags = r.u8();
  r.skip(1);
  a.cc_seq = r.u16();
  a.cc_rate = r.u16();
  a.client_id = r.u32();
  a.ts_echo_us = get_ts(r, v);
  return Errc::ok;
}

[[nodiscard]] Errc get_enc_info(Bytes e, EncInfo& m) noexcept {
  if (e.size() < kEncInfoFixed) return Errc::bad_length;
  Reader r(e);
  r.skip(2);
  m.flags = r.u8();
  m.keyextype_sigtype = r.u8();
  m.keytype = r.u8();
  m.hashtype = r.u8();
  const std::size_t k = r.u16();
  const std::size_t d = r.u16();
  const std::size_t s = r.u16();
  r.copy(m.rand1.data(), kRandLen);
  if (kEncInfoFixed + k + d + s > e.size()) return Errc::bad_length;
  m.key_blob = r.bytes(k);
  m.dh_blob = r.bytes(d);
  m.sig = r.bytes(s);
  return Errc::ok;
}

template <typename M>
[[nodiscard]] Result<Message> wrap(Result<M> r) noexcept {
  if (!r) return r.error();
  return Message{std::in_place_type<M>, std::move(*r)};
}

// ---- per-message decoders ----
[[nodiscard]] Result<Announce> dec_announce(Version v, Bytes body) noexcept {
  auto hl = open_body(body, MsgType::announce, kAnnounceFixed);
  if (!hl) return hl.error();
  Announce m;
  Reader r(body);
  r.skip(2);
  m.flags = r.u8();
  m.robust = r.u8();
  m.cc_type = static_cast<CcType>(r.u8());
  r.skip(1);
  m.blocksize = r.u16();
  m.timestamp_us = get_ts(r, v);
  const bool v6 = (m.flags & kAnnounceIpv6) != 0;
  const std::size_t iplen = v6 ? 16 : 4;
  const std::size_t fixed = kAnnounceFixed + 2 * iplen;
  if (*hl < fixed) return Errc::bad_length;
  m.pub_addr.v6 = v6;
  m.priv_addr.v6 = v6;
  r.copy(m.pub_addr.bytes.data(), iplen);
  r.copy(m.priv_addr.bytes.data(), iplen);
  const Errc e = walk_exts(body, fixed, *hl, [&](std::uint8_t type, Bytes ext) noexcept {
    if (type != raw(ExtType::enc_info) || m.enc_info) return Errc::ok;
    EncInfo ei;
    const Errc ee = get_enc_info(ext, ei);
    if (ee == Errc::ok) m.enc_info = ei;
    return ee;
  });
  if (e != Errc::ok) return e;
  if (const Errc ie = ids_from(body.subspan(*hl), m.ids); ie != Errc::ok) return ie;
  return m;
}

[[nodiscard]] Result<Register> dec_register(Version v, Bytes body) noexcept {
  auto hl = open_body(body, MsgType::register_, kRegisterFixed);
  if (!hl) return hl.error();
  Register m;
  Reader r(body);
  r.skip(2);
  const std::size_t klen = r.u16();
  m.ts_echo_us = get_ts(r, v);
  r.copy(m.rand2.data(), kRandLen);
  if (kRegisterFixed + klen > *hl) return Errc::bad_length;
  m.keyinfo = r.bytes(klen);
  if (const Errc ie = ids_from(body.subspan(*hl), m.ids); ie != Errc::ok) return ie;
  return m;
}

[[nodiscard]] Result<ClientKey> dec_client_key(Bytes body) noexcept {
  auto hl = open_body(body, MsgType::client_key, kClientKeyFixed);
  if (!hl) return hl.error();
  ClientKey m;
  Reader r(body);
  r.skip(4);
  const std::size_t bl = r.u16();
  const std::size_t sl = r.u16();
  if (kClientKeyFixed + bl + sl > *hl) return Errc::bad_length;
  m.key_blob = r.bytes(bl);
  m.sig = r.bytes(sl);
  return m;
}

// Messages that are a fixed header, optional unknown extensions and an ID list.
template <typename M>
[[nodiscard]] Result<M> dec_id_only(Bytes body, std::size_t fixed) noexcept {
  auto hl = open_body(body, M::kType, fixed);
  if (!hl) return hl.error();
  M m;
  if (const Errc e = skip_exts(body, fixed, *hl); e != Errc::ok) return e;
  if (const Errc ie = ids_from(body.subspan(*hl), m.ids); ie != Errc::ok) return ie;
  return m;
}

[[nodiscard]] Result<KeyInfo> dec_keyinfo(Version v, Bytes body) noexcept {
  auto hl = open_body(body, MsgType::keyinfo, kKeyInfoFixed);
  if (!hl) return hl.error();
  KeyInfo m;
  Reader r(body);
  r.skip(2);
  const std::size_t sl = r.u16();  // v4: reserved
  m.iv_ctr = r.u64();
  if (v == Version::v5) {
    if (kKeyInfoFixed + sl > *hl) return Errc::bad_length;
    m.sig = r.bytes(sl);
  }
  m.entries = body.subspan(*hl);
  if (m.entries.size() % kKeyInfoEntryLen != 0) return Errc::bad_length;
  return m;
}

[[nodiscard]] Result<KeyInfoAck> dec_keyinfo_ack(Version v, Bytes body) noexcept {
  const std::size_t fixed = v == Version::v4 ? kKeyInfoAckFixed + kVerify4Len : kKeyInfoAckFixed;
  auto hl = open_body(body, MsgType::keyinfo_ack, fixed);
  if (!hl) return hl.error();
  KeyInfoAck m;
  Reader r(body);
  r.skip(2);
  // v4: reserved; the verify data is always 12 bytes. v5: the verify length, but stock 5.0.x
  // leaves it 0 and the data fills the rest of hlen (docs/crypto-handshake.md).
  const std::size_t len_field = r.u16();
  const std::size_t vl = v == Version::v4 ? kVerify4Len
                         : len_field != 0 ? len_field
                                          : *hl - kKeyInfoAckFixed;
  if (kKeyInfoAckFixed + vl > *hl) return Errc::bad_length;
  m.verify = r.bytes(vl);
  return m;
}

[[nodiscard]] Result<FileInfo> dec_fileinfo(Version v, Bytes body) noexcept {
  auto hl = open_body(body, MsgType::fileinfo, kFileInfoFixed);
  if (!hl) return hl.error();
  FileInfo m;
  Reader r(body);
  r.skip(2);
  m.file_id = r.u16();
  m.ftype = static_cast<FileType>(r.u8());
  r.skip(1);
  const std::uint64_t mtime_hi = r.u16();  // v4: reserved
  const std::size_t name_len = std::size_t{r.u8()} * 4;
  const std::size_t link_len = std::size_t{r.u8()} * 4;
  const std::uint64_t size_hi = r.u16();
  const std::uint64_t size_lo = r.u32();
  const std::uint64_t mtime_lo = r.u32();
  m.timestamp_us = get_ts(r, v);
  m.size = (size_hi << 32) | size_lo;
  m.mtime_s = v == Version::v5 ? ((mtime_hi << 32) | mtime_lo) : mtime_lo;
  if (kFileInfoFixed + name_len + link_len > *hl) return Errc::bad_length;
  m.name = nul_trimmed(r.bytes(name_len));
  m.link = nul_trimmed(r.bytes(link_len));
  if (const Errc ie = ids_from(body.subspan(*hl), m.ids); ie != Errc::ok) return ie;
  return m;
}

[[nodiscard]] Result<FileInfoAck> dec_fileinfo_ack(Version v, Bytes body) noexcept {
  auto hl = open_body(body, MsgType::fileinfo_ack, kFileInfoAckFixed);
  if (!hl) return hl.error();
  FileInfoAck m;
  Reader r(body);
  r.skip(2);
  m.file_id = r.u16();
  m.flags = r.u8();
  r.skip(3);
  m.ts_echo_us = get_ts(r, v);
  if (const Errc e = skip_exts(body, kFileInfoAckFixed, *hl); e != Errc::ok) return e;
  if (const Errc ie = ids_from(body.subspan(*hl), m.ids); ie != Errc::ok) return ie;
  return m;
}

[[nodiscard]] Result<Done> dec_done(Bytes body) noexcept {
  auto hl = open_body(body, MsgType::done, kDoneFixed);
  if (!hl) return hl.error();
  Done m;
  m.file_id = load_be16(&body[2]);
  m.section = load_be16(&body[4]);
  if (const Errc e = skip_exts(body, kDoneFixed, *hl); e != Errc::ok) return e;
  if (const Errc ie = ids_from(body.subspan(*hl), m.ids); ie != Errc::ok) return ie;
  return m;
}

[[nodiscard]] Result<StatusMsg> dec_status(Version v, Bytes body) noexcept {
  auto hl = open_body(body, MsgType::status, kStatusFixed);
  if (!hl) return hl.error();
  StatusMsg m;
  m.file_id = load_be16(&body[2]);
  m.section = load_be16(&body[4]);
  const Errc e = walk_exts(body, kStatusFixed, *hl, [&](std::uint8_t type, Bytes ext) noexcept {
    if (type != raw(ExtType::tfmcc_ack_info) || m.tfmcc) return Errc::ok;
    TfmccAckInfo a;
    const Errc ae = get_ack_info(v, ext, a);
    if (ae == Errc::ok) m.tfmcc = a;
    return ae;
  });
  if (e != Errc::ok) return e;
  m.naks = body.subspan(*hl);
  return m;
}

[[nodiscard]] Result<Complete> dec_complete(Bytes body) noexcept {
  auto hl = open_body(body, MsgType::complete, kCompleteFixed);
  if (!hl) return hl.error();
  Complete m;
  m.file_id = load_be16(&body[2]);
  m.status = static_cast<CompStatus>(body[4]);
  const Errc e = walk_exts(body, kCompleteFixed, *hl, [&](std::uint8_t type, Bytes ext) noexcept {
    if (type != raw(ExtType::freespace_info) || m.freespace) return Errc::ok;
    if (ext.size() < kFreespaceInfoLen) return Errc::bad_length;
    m.freespace = FreespaceInfo{load_be64(&ext[4])};
    return Errc::ok;
  });
  if (e != Errc::ok) return e;
  if (const Errc ie = ids_from(body.subspan(*hl), m.ids); ie != Errc::ok) return ie;
  return m;
}

[[nodiscard]] Result<HbReq> dec_hb_req(Bytes body) noexcept {
  auto hl = open_body(body, MsgType::hb_req, kHbReqFixed);
  if (!hl) return hl.error();
  HbReq m;
  Reader r(body);
  r.skip(4);
  const std::size_t bl = r.u16();
  const std::size_t sl = r.u16();
  m.nonce = r.u32();
  if (kHbReqFixed + bl + sl > *hl) return Errc::bad_length;
  m.key_blob = r.bytes(bl);
  m.sig = r.bytes(sl);
  return m;
}

[[nodiscard]] Result<HbResp> dec_hb_resp(Bytes body) noexcept {
  auto hl = open_body(body, MsgType::hb_resp, kHbRespFixed);
  if (!hl) return hl.error();
  HbResp m;
  m.auth = body[2];
  m.nonce = load_be32(&body[4]);
  if (const Errc e = skip_exts(body, kHbRespFixed, *hl); e != Errc::ok) return e;
  return m;
}

[[nodiscard]] Result<KeyReq> dec_key_req(Bytes body) noexcept {
  auto hl = open_body(body, MsgType::key_req, kKeyReqFixed);
  if (!hl) return hl.error();
  if (const Errc e = skip_exts(body, kKeyReqFixed, *hl); e != Errc::ok) return e;
  return KeyReq{};
}

[[nodiscard]] Result<ProxyKey> dec_proxy_key(Version v, Bytes body) noexcept {
  const std::size_t fixed = v == Version::v4 ? kProxyKey4Fixed : kProxyKey5Fixed;
  auto hl = open_body(body, MsgType::proxy_key, fixed);
  if (!hl) return hl.error();
  ProxyKey m;
  Reader r(body);
  r.skip(2);
  const std::size_t bl = r.u16();
  const std::size_t dl = r.u16();
  const std::size_t sl = r.u16();
  if (v == Version::v4) m.nonce = r.u32();
  if (fixed + bl + dl + sl > *hl) return Errc::bad_length;
  m.key_blob = r.bytes(bl);
  m.dh_blob = r.bytes(dl);
  m.sig = r.bytes(sl);
  return m;
}

[[nodiscard]] Result<Encrypted> dec_encrypted(Version v, Bytes body) noexcept {
  if (body.size() < kEncryptedHeaderLen) return Errc::truncated;
  Encrypted m;
  Reader r(body);
  m.iv_ctr = r.u64();
  const std::size_t sl = r.u16();
  const std::size_t pl = r.u16();
  // v5 has no signature here; stock 5.x writes 0 and places the payload at offset 12.
  if (v == Version::v5 && sl != 0) return Errc::bad_value;
  const std::size_t need = kEncryptedHeaderLen + sl + pl;
  if (body.size() < need) return Errc::truncated;
  if (body.size() > need) return Errc::bad_length;
  m.sig = r.bytes(sl);
  m.payload = r.bytes(pl);
  return m;
}

[[nodiscard]] Result<Abort> dec_abort(Bytes body) noexcept {
  auto hl = open_body(body, MsgType::abort, kAbortFixed);
  if (!hl) return hl.error();
  Abort m;
  m.flags = body[2];
  m.host = load_be32(&body[4]);
  m.text = nul_trimmed(body.subspan(8, kAbortTextLen));
  if (const Errc e = skip_exts(body, kAbortFixed, *hl); e != Errc::ok) return e;
  return m;
}

[[nodiscard]] Result<CongCtrl> dec_cong_ctrl(Version v, Bytes body) noexcept {
  auto hl = open_body(body, MsgType::cong_ctrl, kCongCtrlFixed);
  if (!hl) return hl.error();
  CongCtrl m;
  Reader r(body);
  r.skip(4);
  m.cc_seq = r.u16();
  m.cc_rate = r.u16();
  m.timestamp_us = get_ts(r, v);
  if (const Errc e = skip_exts(body, kCongCtrlFixed, *hl); e != Errc::ok) return e;
  m.items = body.subspan(*hl);
  if (m.items.size() % kCcItemLen != 0) return Errc::bad_length;
  return m;
}

[[nodiscard]] Result<CcAck> dec_cc_ack(Version v, Bytes body) noexcept {
  auto hl = open_body(body, MsgType::cc_ack, kCcAckFixed);
  if (!hl) return hl.error();
  CcAck m;
  bool found = false;
  const Errc e = walk_exts(body, kCcAckFixed, *hl, [&](std::uint8_t type, Bytes ext) noexcept {
    if (type != raw(ExtType::tfmcc_ack_info) || found) return Errc::ok;
    found = true;
    return get_ack_info(v, ext, m.info);
  });
  if (e != Errc::ok) return e;
  if (!found) return Errc::bad_value;  // CC_ACK without its TFMCC_ACK_INFO carries nothing
  return m;
}

}  // namespace

// ---- names ----
std::string_view msg_name(MsgType t) noexcept {
  switch (t) {
    case MsgType::announce:
      return "ANNOUNCE";
    case MsgType::register_:
      return "REGISTER";
    case MsgType::client_key:
      return "CLIENT_KEY";
    case MsgType::reg_conf:
      return "REG_CONF";
    case MsgType::keyinfo:
      return "KEYINFO";
    case MsgType::keyinfo_ack:
      return "KEYINFO_ACK";
    case MsgType::fileinfo:
      return "FILEINFO";
    case MsgType::fileinfo_ack:
      return "FILEINFO_ACK";
    case MsgType::fileseg:
      return "FILESEG";
    case MsgType::done:
      return "DONE";
    case MsgType::status:
      return "STATUS";
    case MsgType::complete:
      return "COMPLETE";
    case MsgType::done_conf:
      return "DONE_CONF";
    case MsgType::hb_req:
      return "HB_REQ";
    case MsgType::hb_resp:
      return "HB_RESP";
    case MsgType::key_req:
      return "KEY_REQ";
    case MsgType::proxy_key:
      return "PROXY_KEY";
    case MsgType::encrypted:
      return "ENCRYPTED";
    case MsgType::abort:
      return "ABORT";
    case MsgType::cong_ctrl:
      return "CONG_CTRL";
    case MsgType::cc_ack:
      return "CC_ACK";
  }
  return "UNKNOWN";
}

// ---- common header ----
Result<Header> decode_header(Bytes packet) noexcept {
  if (packet.size() < kHeaderLen) return Errc::truncated;
  Header h;
  Reader r(packet);
  const std::uint8_t ver = r.u8();
  if (ver != static_cast<std::uint8_t>(Version::v4) &&
      ver != static_cast<std::uint8_t>(Version::v5)) {
    return Errc::bad_version;
  }
  h.version = static_cast<Version>(ver);
  const std::uint8_t func = r.u8();
  if (func < raw(MsgType::announce) || func > raw(MsgType::cc_ack)) return Errc::bad_type;
  h.func = static_cast<MsgType>(func);
  h.seq = r.u16();
  h.src_id = r.u32();
  h.group_id = r.u32();
  h.group_inst = r.u8();
  h.grtt = r.u8();
  h.gsize = r.u8();
  return h;
}

void encode_header(Writer& w, const Header& h) noexcept {
  w.u8(static_cast<std::uint8_t>(h.version));
  w.u8(raw(h.func));
  w.u16(h.seq);
  w.u32(h.src_id);
  w.u32(h.group_id);
  w.u8(h.group_inst);
  w.u8(h.grtt);
  w.u8(h.gsize);
  w.u8(0);
}

Result<MsgType> peek_type(Bytes body) noexcept {
  if (body.empty()) return Errc::truncated;
  if (body[0] < raw(MsgType::announce) || body[0] > raw(MsgType::cc_ack)) return Errc::bad_type;
  return static_cast<MsgType>(body[0]);
}

// ---- decoding ----
Result<FileSeg> decode_fileseg(Version v, Bytes body) noexcept {
  if (!valid_version(v)) return Errc::bad_version;
  auto hl_r = open_body(body, MsgType::fileseg, kFileSegFixed);
  if (!hl_r) return hl_r.error();
  const std::size_t hl = *hl_r;
  FileSeg m;
  m.file_id = load_be16(&body[2]);
  m.section = load_be16(&body[4]);
  m.sec_block = load_be16(&body[6]);
  if (hl > kFileSegFixed) {
    const Errc e = walk_exts(body, kFileSegFixed, hl, [&](std::uint8_t type, Bytes ext) noexcept {
      if (type != raw(ExtType::tfmcc_data_info) || m.tfmcc) return Errc::ok;
      if (ext.size() < kTfmccDataInfoLen) return Errc::bad_length;
      m.tfmcc = TfmccDataInfo{load_be16(&ext[2]), load_be16(&ext[4]), load_be16(&ext[6])};
      return Errc::ok;
    });
    if (e != Errc::ok) return e;
  }
  m.data = body.subspan(hl);
  return m;
}

Result<Message> decode_body(Version v, MsgType type, Bytes body) noexcept {
  if (!valid_version(v)) return Errc::bad_version;
  switch (type) {
    case MsgType::announce:
      return wrap(dec_announce(v, body));
    case MsgType::register_:
      return wrap(dec_register(v, body));
    case MsgType::client_key:
      return wrap(dec_client_key(body));
    case MsgType::reg_conf:
      return wrap(dec_id_only<RegConf>(body, kRegConfFixed));
    case MsgType::keyinfo:
      return wrap(dec_keyinfo(v, body));
    case MsgType::keyinfo_ack:
      return wrap(dec_keyinfo_ack(v, body));
    case MsgType::fileinfo:
      return wrap(dec_fileinfo(v, body));
    case MsgType::fileinfo_ack:
      return wrap(dec_fileinfo_ack(v, body));
    case MsgType::fileseg:
      return wrap(decode_fileseg(v, body));
    case MsgType::done:
      return wrap(dec_done(body));
    case MsgType::status:
      return wrap(dec_status(v, body));
    case MsgType::complete:
      return wrap(dec_complete(body));
    case MsgType::done_conf:
      return wrap(dec_id_only<DoneConf>(body, kDoneConfFixed));
    case MsgType::hb_req:
      return wrap(dec_hb_req(body));
    case MsgType::hb_resp:
      return wrap(dec_hb_resp(body));
    case MsgType::key_req:
      return wrap(dec_key_req(body));
    case MsgType::proxy_key:
      return wrap(dec_proxy_key(v, body));
    case MsgType::encrypted:
      return wrap(dec_encrypted(v, body));
    case MsgType::abort:
      return wrap(dec_abort(body));
    case MsgType::cong_ctrl:
      return wrap(dec_cong_ctrl(v, body));
    case MsgType::cc_ack:
      return wrap(dec_cc_ack(v, body));
  }
  return Errc::bad_type;
}

Result<Packet> decode_packet(Bytes packet) noexcept {
  auto h = decode_header(packet);
  if (!h) return h.error();
  const Bytes body = packet.subspan(kHeaderLen);
  if (h->func != MsgType::encrypted) {
    auto t = peek_type(body);
    if (!t) return t.error();
    if (*t != h->func) return Errc::bad_type;
  }
  auto m = decode_body(h->version, h->func, body);
  if (!m) return m.error();
  return Packet{*h, std::move(*m)};
}

// ---- encoding ----
Result<std::size_t> encode_body(Version v, const Announce& m, MutBytes out) noexcept {
  if (!valid_version(v)) return Errc::bad_version;
  const bool v6 = (m.flags & kAnnounceIpv6) != 0;
  if (m.pub_addr.v6 != v6 || m.priv_addr.v6 != v6) return Errc::bad_value;
  const std::size_t iplen = v6 ? 16 : 4;
  std::size_t blobs = 0;
  if (m.enc_info) {
    const EncInfo& e = *m.enc_info;
    if (e.key_blob.size() > kMaxU16 || e.dh_blob.size() > kMaxU16 || e.sig.size() > kMaxU16) {
      return Errc::bad_length;
    }
    blobs = e.key_blob.size() + e.dh_blob.size() + e.sig.size();
  }
  const std::size_t ext_len = m.enc_info ? kEncInfoFixed + pad4(blobs) : 0;
  const std::size_t hdr = kAnnounceFixed + 2 * iplen + ext_len;
  if (hdr > kMaxHlenBytes) return Errc::bad_length;
  Writer w(out);
  put_func_hlen(w, MsgType::announce, hdr);
  w.u8(m.flags);
  w.u8(m.robust);
  w.u8(static_cast<std::uint8_t>(m.cc_type));
  w.u8(0);
  w.u16(m.blocksize);
  put_ts(w, v, m.timestamp_us);
  w.bytes(Bytes(m.pub_addr.bytes).first(iplen));
  w.bytes(Bytes(m.priv_addr.bytes).first(iplen));
  if (m.enc_info) {
    const EncInfo& e = *m.enc_info;
    w.u8(raw(ExtType::enc_info));
    w.u8(static_cast<std::uint8_t>(ext_len / 4));
    w.u8(e.flags);
    w.u8(e.keyextype_sigtype);
    w.u8(e.keytype);
    w.u8(e.hashtype);
    w.u16(static_cast<std::uint16_t>(e.key_blob.size()));
    w.u16(static_cast<std::uint16_t>(e.dh_blob.size()));
    w.u16(static_cast<std::uint16_t>(e.sig.size()));
    w.bytes(e.rand1);
    w.bytes(e.key_blob);
    w.bytes(e.dh_blob);
    w.bytes(e.sig);
    w.zeros(pad4(blobs) - blobs);
  }
  put_ids(w, m.ids);
  return finish(w);
}

Result<std::size_t> encode_body(Version v, const Register& m, MutBytes out) noexcept {
  if (!valid_version(v)) return Errc::bad_version;
  const std::size_t klen = m.keyinfo.size();
  const std::size_t hdr = kRegisterFixed + pad4(klen);
  if (hdr > kMaxHlenBytes) return Errc::bad_length;
  Writer w(out);
  put_func_hlen(w, MsgType::register_, hdr);
  w.u16(static_cast<std::uint16_t>(klen));
  put_ts(w, v, m.ts_echo_us);
  w.bytes(m.rand2);
  w.bytes(m.keyinfo);
  w.zeros(pad4(klen) - klen);
  put_ids(w, m.ids);
  return finish(w);
}

Result<std::size_t> encode_body(Version v, const ClientKey& m, MutBytes out) noexcept {
  if (!valid_version(v)) return Errc::bad_version;
  const std::size_t blobs = m.key_blob.size() + m.sig.size();
  const std::size_t hdr = kClientKeyFixed + pad4(blobs);
  if (hdr > kMaxHlenBytes) return Errc::bad_length;
  Writer w(out);
  put_func_hlen(w, MsgType::client_key, hdr);
  w.u16(0);
  w.u16(static_cast<std::uint16_t>(m.key_blob.size()));
  w.u16(static_cast<std::uint16_t>(m.sig.size()));
  w.bytes(m.key_blob);
  w.bytes(m.sig);
  w.zeros(pad4(blobs) - blobs);
  return finish(w);
}

Result<std::size_t> encode_body(Version v, const RegConf& m, MutBytes out) noexcept {
  if (!valid_version(v)) return Errc::bad_version;
  Writer w(out);
  put_func_hlen(w, MsgType::reg_conf, kRegConfFixed);
  w.u16(0);
  put_ids(w, m.ids);
  return finish(w);
}

Result<std::size_t> encode_body(Version v, const KeyInfo& m, MutBytes out) noexcept {
  if (!valid_version(v)) return Errc::bad_version;
  if (m.entries.size() % kKeyInfoEntryLen != 0) return Errc::bad_length;
  if (v == Version::v4 && !m.sig.empty()) return Errc::bad_value;
  const std::size_t sl = m.sig.size();
  const std::size_t hdr = kKeyInfoFixed + pad4(sl);
  if (hdr > kMaxHlenBytes) return Errc::bad_length;
  Writer w(out);
  put_func_hlen(w, MsgType::keyinfo, hdr);
  w.u16(static_cast<std::uint16_t>(sl));  // v4: reserved, 0
  w.u64(m.iv_ctr);
  w.bytes(m.sig);
  w.zeros(pad4(sl) - sl);
  w.bytes(m.entries);
  return finish(w);
}

Result<std::size_t> encode_body(Version v, const KeyInfoAck& m, MutBytes out) noexcept {
  if (!valid_version(v)) return Errc::bad_version;
  const std::size_t vl = m.verify.size();
  if (v == Version::v4 && vl != kVerify4Len) return Errc::bad_value;
  const std::size_t hdr = kKeyInfoAckFixed + pad4(vl);
  if (hdr > kMaxHlenBytes) return Errc::bad_length;
  Writer w(out);
  put_func_hlen(w, MsgType::keyinfo_ack, hdr);
  w.u16(v == Version::v4 ? std::uint16_t{0} : static_cast<std::uint16_t>(vl));
  w.bytes(m.verify);
  w.zeros(pad4(vl) - vl);
  return finish(w);
}

Result<std::size_t> encode_body(Version v, const FileInfo& m, MutBytes out) noexcept {
  if (!valid_version(v)) return Errc::bad_version;
  if (m.size > kMax48) return Errc::bad_value;
  if (m.mtime_s > (v == Version::v4 ? std::uint64_t{0xFFFFFFFF} : kMax48)) return Errc::bad_value;
  if (m.name.find('\0') != std::string_view::npos || m.link.find('\0') != std::string_view::npos) {
    return Errc::bad_value;
  }
  const std::size_t name_field = pad4(m.name.size());
  const std::size_t link_field = pad4(m.link.size());
  const std::size_t hdr = kFileInfoFixed + name_field + link_field;
  if (hdr > kMaxHlenBytes) return Errc::bad_length;
  Writer w(out);
  put_func_hlen(w, MsgType::fileinfo, hdr);
  w.u16(m.file_id);
  w.u8(static_cast<std::uint8_t>(m.ftype));
  w.u8(0);
  w.u16(v == Version::v5 ? static_cast<std::uint16_t>(m.mtime_s >> 32) : std::uint16_t{0});
  w.u8(static_cast<std::uint8_t>(name_field / 4));
  w.u8(static_cast<std::uint8_t>(link_field / 4));
  w.u16(static_cast<std::uint16_t>(m.size >> 32));
  w.u32(static_cast<std::uint32_t>(m.size));
  w.u32(static_cast<std::uint32_t>(m.mtime_s));
  put_ts(w, v, m.timestamp_us);
  w.bytes(as_bytes(m.name));
  w.zeros(name_field - m.name.size());
  w.bytes(as_bytes(m.link));
  w.zeros(link_field - m.link.size());
  put_ids(w, m.ids);
  return finish(w);
}

Result<std::size_t> encode_body(Version v, const FileInfoAck& m, MutBytes out) noexcept {
  if (!valid_version(v)) return Errc::bad_version;
  Writer w(out);
  put_func_hlen(w, MsgType::fileinfo_ack, kFileInfoAckFixed);
  w.u16(m.file_id);
  w.u8(m.flags);
  w.u8(0);
  w.u16(0);
  put_ts(w, v, m.ts_echo_us);
  put_ids(w, m.ids);
  return finish(w);
}

Result<std::size_t> encode_body(Version v, const FileSeg& m, MutBytes out) noexcept {
  if (!valid_version(v)) return Errc::bad_version;
  const std::size_t hdr = kFileSegFixed + (m.tfmcc ? kTfmccDataInfoLen : 0);
  const std::size_t total = hdr + m.data.size();
  if (out.size() < total) return Errc::no_space;
  std::uint8_t* p = out.data();
  p[0] = raw(MsgType::fileseg);
  p[1] = static_cast<std::uint8_t>(hdr / 4);
  store_be16(p + 2, m.file_id);
  store_be16(p + 4, m.section);
  store_be16(p + 6, m.sec_block);
  if (m.tfmcc) {
    p[8] = raw(ExtType::tfmcc_data_info);
    p[9] = static_cast<std::uint8_t>(kTfmccDataInfoLen / 4);
    store_be16(p + 10, m.tfmcc->send_rate);
    store_be16(p + 12, m.tfmcc->cc_seq);
    store_be16(p + 14, m.tfmcc->cc_rate);
  }
  // A sender may have read the block straight into place (zero-copy): then nothing moves.
  if (!m.data.empty() && m.data.data() != p + hdr)
    std::memcpy(p + hdr, m.data.data(), m.data.size());
  return total;
}

Result<std::size_t> encode_body(Version v, const Done& m, MutBytes out) noexcept {
  if (!valid_version(v)) return Errc::bad_version;
  Writer w(out);
  put_func_hlen(w, MsgType::done, kDoneFixed);
  w.u16(m.file_id);
  w.u16(m.section);
  w.u16(0);
  put_ids(w, m.ids);
  return finish(w);
}

Result<std::size_t> encode_body(Version v, const StatusMsg& m, MutBytes out) noexcept {
  if (!valid_version(v)) return Errc::bad_version;
  Writer w(out);
  put_func_hlen(w, MsgType::status, kStatusFixed + (m.tfmcc ? kTfmccAckInfoLen : 0));
  w.u16(m.file_id);
  w.u16(m.section);
  w.u16(0);
  if (m.tfmcc) put_ack_info(w, v, *m.tfmcc);
  w.bytes(m.naks);
  return finish(w);
}

Result<std::size_t> encode_body(Version v, const Complete& m, MutBytes out) noexcept {
  if (!valid_version(v)) return Errc::bad_version;
  Writer w(out);
  put_func_hlen(w, MsgType::complete, kCompleteFixed + (m.freespace ? kFreespaceInfoLen : 0));
  w.u16(m.file_id);
  w.u8(static_cast<std::uint8_t>(m.status));
  w.u8(0);
  w.u16(0);
  if (m.freespace) {
    w.u8(raw(ExtType::freespace_info));
    w.u8(static_cast<std::uint8_t>(kFreespaceInfoLen / 4));
    w.u16(0);
    w.u64(m.freespace->bytes);
  }
  put_ids(w, m.ids);
  return finish(w);
}

Result<std::size_t> encode_body(Version v, const DoneConf& m, MutBytes out) noexcept {
  if (!valid_version(v)) return Errc::bad_version;
  Writer w(out);
  put_func_hlen(w, MsgType::done_conf, kDoneConfFixed);
  w.u16(0);
  put_ids(w, m.ids);
  return finish(w);
}

Result<std::size_t> encode_body(Version v, const HbReq& m, MutBytes out) noexcept {
  if (!valid_version(v)) return Errc::bad_version;
  const std::size_t blobs = m.key_blob.size() + m.sig.size();
  const std::size_t hdr = kHbReqFixed + pad4(blobs);
  if (hdr > kMaxHlenBytes) return Errc::bad_length;
  Writer w(out);
  put_func_hlen(w, MsgType::hb_req, hdr);
  w.u16(0);
  w.u16(static_cast<std::uint16_t>(m.key_blob.size()));
  w.u16(static_cast<std::uint16_t>(m.sig.size()));
  w.u32(m.nonce);
  w.bytes(m.key_blob);
  w.bytes(m.sig);
  w.zeros(pad4(blobs) - blobs);
  return finish(w);
}

Result<std::size_t> encode_body(Version v, const HbResp& m, MutBytes out) noexcept {
  if (!valid_version(v)) return Errc::bad_version;
  Writer w(out);
  put_func_hlen(w, MsgType::hb_resp, kHbRespFixed);
  w.u8(m.auth);
  w.u8(0);
  w.u32(m.nonce);
  return finish(w);
}

Result<std::size_t> encode_body(Version v, const KeyReq&, MutBytes out) noexcept {
  if (!valid_version(v)) return Errc::bad_version;
  Writer w(out);
  put_func_hlen(w, MsgType::key_req, kKeyReqFixed);
  w.u16(0);
  return finish(w);
}

Result<std::size_t> encode_body(Version v, const ProxyKey& m, MutBytes out) noexcept {
  if (!valid_version(v)) return Errc::bad_version;
  const std::size_t fixed = v == Version::v4 ? kProxyKey4Fixed : kProxyKey5Fixed;
  const std::size_t blobs = m.key_blob.size() + m.dh_blob.size() + m.sig.size();
  const std::size_t hdr = fixed + pad4(blobs);
  if (hdr > kMaxHlenBytes) return Errc::bad_length;
  Writer w(out);
  put_func_hlen(w, MsgType::proxy_key, hdr);
  w.u16(static_cast<std::uint16_t>(m.key_blob.size()));
  w.u16(static_cast<std::uint16_t>(m.dh_blob.size()));
  w.u16(static_cast<std::uint16_t>(m.sig.size()));
  if (v == Version::v4) w.u32(m.nonce);
  w.bytes(m.key_blob);
  w.bytes(m.dh_blob);
  w.bytes(m.sig);
  w.zeros(pad4(blobs) - blobs);
  return finish(w);
}

Result<std::size_t> encode_body(Version v, const Encrypted& m, MutBytes out) noexcept {
  if (!valid_version(v)) return Errc::bad_version;
  if (v == Version::v5 && !m.sig.empty()) return Errc::bad_value;
  if (m.sig.size() > kMaxU16 || m.payload.size() > kMaxU16) return Errc::bad_length;
  Writer w(out);
  w.u64(m.iv_ctr);
  w.u16(static_cast<std::uint16_t>(m.sig.size()));
  w.u16(static_cast<std::uint16_t>(m.payload.size()));
  w.bytes(m.sig);
  w.bytes(m.payload);
  return finish(w);
}

Result<std::size_t> encode_body(Version v, const Abort& m, MutBytes out) noexcept {
  if (!valid_version(v)) return Errc::bad_version;
  if (m.text.size() >= kAbortTextLen) return Errc::bad_length;  // room for the NUL
  Writer w(out);
  put_func_hlen(w, MsgType::abort, kAbortFixed);
  w.u8(m.flags);
  w.u8(0);
  w.u32(m.host);
  w.bytes(as_bytes(m.text));
  w.zeros(kAbortTextLen - m.text.size());
  return finish(w);
}

Result<std::size_t> encode_body(Version v, const CongCtrl& m, MutBytes out) noexcept {
  if (!valid_version(v)) return Errc::bad_version;
  if (m.items.size() % kCcItemLen != 0) return Errc::bad_length;
  Writer w(out);
  put_func_hlen(w, MsgType::cong_ctrl, kCongCtrlFixed);
  w.u16(0);
  w.u16(m.cc_seq);
  w.u16(m.cc_rate);
  put_ts(w, v, m.timestamp_us);
  w.bytes(m.items);
  return finish(w);
}

Result<std::size_t> encode_body(Version v, const CcAck& m, MutBytes out) noexcept {
  if (!valid_version(v)) return Errc::bad_version;
  Writer w(out);
  put_func_hlen(w, MsgType::cc_ack, kCcAckFixed + kTfmccAckInfoLen);
  w.u16(0);
  put_ack_info(w, v, m.info);
  return finish(w);
}

}  // namespace volley::wire
