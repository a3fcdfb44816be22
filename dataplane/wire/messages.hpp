// UFTP message codecs, protocol versions 0x40 (UFTP 4) and 0x50 (UFTP 5).
//
// Layout rules (shared/reference/uftp-protocol.md §3.2–3.4):
// - Every packet starts with the 16-byte common Header.
// - Every body except ENCRYPTED starts with `func` (u8) and `hlen` (u8, header length *including*
//   extensions, in 32-bit words); what follows hlen*4 is the tail (ID list, NAK bitmap, data).
// - ENCRYPTED's body is the 12-byte encrypted header then ciphertext; the plaintext inside is
//   another body beginning with its own func byte.
//
// Decoding is zero-copy: Bytes / string_view / IdList members point into the input buffer, which
// must outlive the decoded struct. Decoders validate every length before reading and return
// Errc::truncated / bad_length / bad_value; unknown header extensions are skipped.
// Encoders write into a caller buffer and return the number of bytes written or Errc::no_space.
// All functions here are noexcept and allocation-free, so they are usable per packet.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <variant>

#include "dataplane/wire/byte_io.hpp"
#include "dataplane/wire/result.hpp"

namespace volley::wire {

enum class Version : std::uint8_t { v4 = 0x40, v5 = 0x50 };

enum class MsgType : std::uint8_t {
  announce = 1,
  register_ = 2,
  client_key = 3,
  reg_conf = 4,
  keyinfo = 5,
  keyinfo_ack = 6,
  fileinfo = 7,
  fileinfo_ack = 8,
  fileseg = 9,
  done = 10,
  status = 11,
  complete = 12,
  done_conf = 13,
  hb_req = 14,
  hb_resp = 15,
  key_req = 16,
  proxy_key = 17,
  encrypted = 18,
  abort = 19,
  cong_ctrl = 20,
  cc_ack = 21,
};
[[nodiscard]] std::string_view msg_name(MsgType t) noexcept;

enum class FileType : std::uint8_t { regular = 0, dir = 1, link = 2, del = 3, freespace = 4 };
enum class CompStatus : std::uint8_t { normal = 0, skipped = 1, overwrite = 2, rejected = 3 };
enum class CcType : std::uint8_t { none = 0, uftp3 = 1, tfmcc = 2, pgmcc = 3 };
enum class ExtType : std::uint8_t {
  enc_info = 1,
  tfmcc_data_info = 2,
  tfmcc_ack_info = 3,
  freespace_info = 7,
};

// Flag bits, by message.
inline constexpr std::uint8_t kAnnounceSync = 0x01;
inline constexpr std::uint8_t kAnnounceSyncPreview = 0x02;
inline constexpr std::uint8_t kAnnounceIpv6 = 0x04;
inline constexpr std::uint8_t kEncInfoClientAuth = 0x01;
inline constexpr std::uint8_t kFileInfoAckPartial = 0x01;
inline constexpr std::uint8_t kAbortCurrentFile = 0x01;
inline constexpr std::uint8_t kCcClr = 0x01;
inline constexpr std::uint8_t kCcRtt = 0x02;
inline constexpr std::uint8_t kCcStart = 0x04;
inline constexpr std::uint8_t kCcLeave = 0x08;

inline constexpr std::size_t kHeaderLen = 16;
inline constexpr std::size_t kEncryptedHeaderLen = 12;
inline constexpr std::size_t kRandLen = 32;
inline constexpr std::size_t kAbortTextLen = 300;
inline constexpr std::size_t kKeyInfoEntryLen = 52;  // u32 id + 48-byte wrapped master
inline constexpr std::size_t kCcItemLen = 8;         // u32 id, u8 flags, u8 rtt, u16 res
inline constexpr std::size_t kMaxPathLen = 300;      // UFTP MAXPATHNAME
inline constexpr std::uint32_t kMinBlockSize = 512;
inline constexpr std::uint32_t kMaxBlockSize = 8800;

// The 16-byte common header.
struct Header {
  Version version = Version::v5;
  MsgType func = MsgType::announce;
  std::uint16_t seq = 0;
  std::uint32_t src_id = 0;
  std::uint32_t group_id = 0;
  std::uint8_t group_inst = 0;
  std::uint8_t grtt = 0;   // quantised (quant.hpp)
  std::uint8_t gsize = 0;  // quantised (quant.hpp)
};
[[nodiscard]] Result<Header> decode_header(Bytes packet) noexcept;
void encode_header(Writer& w, const Header& h) noexcept;

// A list of 32-bit IDs: either a view of big-endian bytes (decoded) or of native integers
// (to encode). Indexing reads either form.
class IdList {
 public:
  IdList() = default;
  static IdList from_wire(Bytes be) noexcept { return IdList(be.data(), nullptr, be.size() / 4); }
  static IdList from_native(std::span<const std::uint32_t> ids) noexcept {
    return IdList(nullptr, ids.data(), ids.size());
  }
  [[nodiscard]] std::size_t size() const noexcept { return n_; }
  [[nodiscard]] bool empty() const noexcept { return n_ == 0; }
  [[nodiscard]] std::uint32_t operator[](std::size_t i) const noexcept {
    return native_ ? native_[i] : load_be32(be_ + 4 * i);
  }

 private:
  IdList(const std::uint8_t* be, const std::uint32_t* native, std::size_t n)
      : be_(be), native_(native), n_(n) {}
  const std::uint8_t* be_ = nullptr;
  const std::uint32_t* native_ = nullptr;
  std::size_t n_ = 0;
};

// IPv4 (4 bytes used) or IPv6 address as carried in ANNOUNCE.
struct IpAddr {
  std::array<std::uint8_t, 16> bytes{};
  bool v6 = false;
  [[nodiscard]] std::size_t len() const noexcept { return v6 ? 16 : 4; }
  friend bool operator==(const IpAddr&, const IpAddr&) = default;
};

// A UDP endpoint: address and port (host order), as sockets and sessions see a peer.
struct Endpoint {
  IpAddr ip;
  std::uint16_t port = 0;
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

// ---- header extensions ----
struct EncInfo {  // EXT_ENC_INFO (1)
  std::uint8_t flags = 0;
  std::uint8_t keyextype_sigtype = 0;  // v4: keyextype << 4 | sigtype; v5: 0
  std::uint8_t keytype = 0;
  std::uint8_t hashtype = 0;
  std::array<std::uint8_t, kRandLen> rand1{};
  Bytes key_blob;
  Bytes dh_blob;
  Bytes sig;
};
struct TfmccDataInfo {  // EXT_TFMCC_DATA_INFO (2)
  std::uint16_t send_rate = 0;
  std::uint16_t cc_seq = 0;
  std::uint16_t cc_rate = 0;
};
struct TfmccAckInfo {  // EXT_TFMCC_ACK_INFO (3)
  std::uint8_t flags = 0;
  std::uint16_t cc_seq = 0;
  std::uint16_t cc_rate = 0;
  std::uint32_t client_id = 0;
  std::uint64_t ts_echo_us = 0;
};
struct FreespaceInfo {  // EXT_FREESPACE_INFO (7)
  std::uint64_t bytes = 0;
};

// ---- messages ----
// Timestamps are microseconds since the Unix epoch; v4 carries them as u32 sec + u32 usec,
// v5 as a u64.
struct Announce {
  static constexpr MsgType kType = MsgType::announce;
  std::uint8_t flags = 0;  // kAnnounce*; kAnnounceIpv6 selects the address length
  std::uint8_t robust = 20;
  CcType cc_type = CcType::none;
  std::uint16_t blocksize = 1300;
  std::uint64_t timestamp_us = 0;
  IpAddr pub_addr;   // all-zero in unicast mode
  IpAddr priv_addr;  // all-zero in unicast mode
  std::optional<EncInfo> enc_info;
  IdList ids;  // closed group: clients that have not answered yet
};
struct Register {
  static constexpr MsgType kType = MsgType::register_;
  std::uint64_t ts_echo_us = 0;
  std::array<std::uint8_t, kRandLen> rand2{};
  Bytes keyinfo;  // ECDH blob (v4 RSA: encrypted premaster)
  IdList ids;     // appended by proxies
};
struct ClientKey {
  static constexpr MsgType kType = MsgType::client_key;
  Bytes key_blob;
  Bytes sig;
};
struct RegConf {
  static constexpr MsgType kType = MsgType::reg_conf;
  IdList ids;
};
struct KeyInfo {
  static constexpr MsgType kType = MsgType::keyinfo;
  std::uint64_t iv_ctr = 0;
  Bytes sig;      // v5 only (v4 encodes none)
  Bytes entries;  // n * kKeyInfoEntryLen raw records: u32 id, u8 enc_master[48]
};
struct KeyInfoAck {
  static constexpr MsgType kType = MsgType::keyinfo_ack;
  Bytes verify;  // v4: exactly 12 bytes; v5: hash length, with a length field
};
struct FileInfo {
  static constexpr MsgType kType = MsgType::fileinfo;
  std::uint16_t file_id = 0;
  FileType ftype = FileType::regular;
  std::uint64_t size = 0;     // 48 bits on the wire
  std::uint64_t mtime_s = 0;  // v4: 32 bits; v5: 48 bits
  std::uint64_t timestamp_us = 0;
  std::string_view name;  // decoded: without the NUL padding
  std::string_view link;  // symlink target
  IdList ids;
};
struct FileInfoAck {
  static constexpr MsgType kType = MsgType::fileinfo_ack;
  std::uint16_t file_id = 0;
  std::uint8_t flags = 0;  // kFileInfoAckPartial
  std::uint64_t ts_echo_us = 0;
  IdList ids;
};
// FILESEG's fixed part before the block (no TFMCC extension): a sender that reads each block
// straight to this offset past the (ENCRYPTED) header encodes it without a copy.
inline constexpr std::size_t kFileSegFixed = 8;
struct FileSeg {
  static constexpr MsgType kType = MsgType::fileseg;
  std::uint16_t file_id = 0;
  std::uint16_t section = 0;
  std::uint16_t sec_block = 0;
  std::optional<TfmccDataInfo> tfmcc;
  Bytes data;
};
struct Done {
  static constexpr MsgType kType = MsgType::done;
  std::uint16_t file_id = 0;  // 0 = end of session
  std::uint16_t section = 0;
  IdList ids;  // who must answer
};
struct StatusMsg {
  static constexpr MsgType kType = MsgType::status;
  std::uint16_t file_id = 0;
  std::uint16_t section = 0;
  std::optional<TfmccAckInfo> tfmcc;
  Bytes naks;  // LSB-first bitmap, bit set = block missing
};
struct Complete {
  static constexpr MsgType kType = MsgType::complete;
  std::uint16_t file_id = 0;
  CompStatus status = CompStatus::normal;
  std::optional<FreespaceInfo> freespace;
  IdList ids;  // appended by proxies
};
struct DoneConf {
  static constexpr MsgType kType = MsgType::done_conf;
  IdList ids;
};
struct HbReq {
  static constexpr MsgType kType = MsgType::hb_req;
  std::uint32_t nonce = 0;
  Bytes key_blob;
  Bytes sig;
};
struct HbResp {
  static constexpr MsgType kType = MsgType::hb_resp;
  std::uint8_t auth = 0;  // 0 failed, 1 ok, 2 challenge
  std::uint32_t nonce = 0;
};
struct KeyReq {
  static constexpr MsgType kType = MsgType::key_req;
};
struct ProxyKey {
  static constexpr MsgType kType = MsgType::proxy_key;
  std::uint32_t nonce = 0;  // v4 only
  Bytes key_blob;
  Bytes dh_blob;
  Bytes sig;
};
struct Encrypted {
  static constexpr MsgType kType = MsgType::encrypted;
  std::uint64_t iv_ctr = 0;
  Bytes sig;      // v4 HMAC/KEYEX signatures only; empty in v5
  Bytes payload;  // ciphertext including the AEAD tag
};
struct Abort {
  static constexpr MsgType kType = MsgType::abort;
  std::uint8_t flags = 0;  // kAbortCurrentFile
  std::uint32_t host = 0;  // 0 = everyone
  std::string_view text;   // at most 299 bytes (NUL-terminated in a 300-byte field)
};
struct CongCtrl {
  static constexpr MsgType kType = MsgType::cong_ctrl;
  std::uint16_t cc_seq = 0;
  std::uint16_t cc_rate = 0;
  std::uint64_t timestamp_us = 0;
  Bytes items;  // n * kCcItemLen raw records: u32 id, u8 flags, u8 rtt, u16 res
};
struct CcAck {
  static constexpr MsgType kType = MsgType::cc_ack;
  TfmccAckInfo info;
};

using Message = std::variant<Announce, Register, ClientKey, RegConf, KeyInfo, KeyInfoAck, FileInfo,
                             FileInfoAck, FileSeg, Done, StatusMsg, Complete, DoneConf, HbReq,
                             HbResp, KeyReq, ProxyKey, Encrypted, Abort, CongCtrl, CcAck>;

// Body codecs. `body` starts at the func byte (or, for ENCRYPTED, right after the common header).
// For ENCRYPTED the caller passes the type explicitly since the body has no func byte.
[[nodiscard]] Result<Message> decode_body(Version v, MsgType type, Bytes body) noexcept;
// Fast path for the dataplane: decode one FILESEG body.
[[nodiscard]] Result<FileSeg> decode_fileseg(Version v, Bytes body) noexcept;
// Peek the func byte of a non-ENCRYPTED body.
[[nodiscard]] Result<MsgType> peek_type(Bytes body) noexcept;

#define VOLLEY_WIRE_ENCODER(M) \
  [[nodiscard]] Result<std::size_t> encode_body(Version v, const M& m, MutBytes out) noexcept;
VOLLEY_WIRE_ENCODER(Announce)
VOLLEY_WIRE_ENCODER(Register)
VOLLEY_WIRE_ENCODER(ClientKey)
VOLLEY_WIRE_ENCODER(RegConf)
VOLLEY_WIRE_ENCODER(KeyInfo)
VOLLEY_WIRE_ENCODER(KeyInfoAck)
VOLLEY_WIRE_ENCODER(FileInfo)
VOLLEY_WIRE_ENCODER(FileInfoAck)
VOLLEY_WIRE_ENCODER(FileSeg)
VOLLEY_WIRE_ENCODER(Done)
VOLLEY_WIRE_ENCODER(StatusMsg)
VOLLEY_WIRE_ENCODER(Complete)
VOLLEY_WIRE_ENCODER(DoneConf)
VOLLEY_WIRE_ENCODER(HbReq)
VOLLEY_WIRE_ENCODER(HbResp)
VOLLEY_WIRE_ENCODER(KeyReq)
VOLLEY_WIRE_ENCODER(ProxyKey)
VOLLEY_WIRE_ENCODER(Encrypted)
VOLLEY_WIRE_ENCODER(Abort)
VOLLEY_WIRE_ENCODER(CongCtrl)
VOLLEY_WIRE_ENCODER(CcAck)
#undef VOLLEY_WIRE_ENCODER

// Encode the common header (with h.func set to M::kType) followed by the body.
template <typename M>
[[nodiscard]] Result<std::size_t> encode_packet(Header h, const M& m, MutBytes out) noexcept {
  if (out.size() < kHeaderLen) return Errc::no_space;
  h.func = M::kType;
  Writer w(out.first(kHeaderLen));
  encode_header(w, h);
  auto n = encode_body(h.version, m, out.subspan(kHeaderLen));
  if (!n) return n.error();
  return kHeaderLen + *n;
}

// Decode a whole unencrypted packet: header then body.
struct Packet {
  Header header;
  Message msg;
};
[[nodiscard]] Result<Packet> decode_packet(Bytes packet) noexcept;

}  // namespace volley::wire
