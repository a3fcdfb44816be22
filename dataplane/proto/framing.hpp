// Packet framing shared by both ends: build a message as a plain UFTP packet or wrapped in
// ENCRYPTED through the AEAD seam, and open a received packet down to its plaintext body.
// Per-packet safe: no allocation, noexcept; sealing and opening happen in place.
#pragma once

#include <cstdint>
#include <cstring>

#include "crypto/aead.hpp"
#include "dataplane/wire/messages.hpp"

namespace volley::proto {

// AAD for ENCRYPTED is the 16-byte common header plus the 12-byte ENCRYPTED header.
inline constexpr std::size_t kEncAadLen = wire::kHeaderLen + wire::kEncryptedHeaderLen;

// Encode `m` after header `h`; when `aead` is set, wrap it in ENCRYPTED using counter
// `iv_ctr` (incremented on success). Returns the packet length.
template <typename M>
[[nodiscard]] Result<std::size_t> build_packet(wire::Header h, const M& m, wire::MutBytes out,
                                               crypto::Aead* aead, std::uint64_t& iv_ctr) noexcept {
  if (aead == nullptr) return wire::encode_packet(h, m, out);
  const std::size_t tag = aead->tag_len();
  if (out.size() < kEncAadLen + tag) return Errc::no_space;
  auto body =
      wire::encode_body(h.version, m, out.subspan(kEncAadLen, out.size() - kEncAadLen - tag));
  if (!body) return body.error();
  h.func = wire::MsgType::encrypted;
  wire::Writer w(out.first(kEncAadLen));
  wire::encode_header(w, h);
  const std::uint64_t ctr = iv_ctr++;
  w.u64(ctr);
  w.u16(0);  // sig_len: none with an AEAD
  w.u16(static_cast<std::uint16_t>(*body + tag));
  auto data = out.subspan(kEncAadLen, *body);
  if (!aead->seal(ctr, out.first(kEncAadLen), data, out.subspan(kEncAadLen + *body, tag))) {
    return Errc::auth_failed;
  }
  return kEncAadLen + *body + tag;
}

// Wrap a plaintext UFTP packet (`len` bytes: header + message) in ENCRYPTED in place, with the
// header as it stands (its seq final: it is authenticated) and counter `iv_ctr` (incremented on
// success). `buf` must have room for the 12-byte ENCRYPTED header and the tag. Returns the new
// length. Used by whoever puts the packet on the wire last (the sender's dataplane worker).
[[nodiscard]] inline Result<std::size_t> wrap_encrypted(wire::MutBytes buf, std::size_t len,
                                                        crypto::Aead* aead,
                                                        std::uint64_t& iv_ctr) noexcept {
  if (aead == nullptr || len < wire::kHeaderLen) return Errc::bad_value;
  const std::size_t body = len - wire::kHeaderLen, tag = aead->tag_len();
  if (buf.size() < kEncAadLen + body + tag) return Errc::no_space;
  std::memmove(buf.data() + kEncAadLen, buf.data() + wire::kHeaderLen, body);
  buf[1] = static_cast<std::uint8_t>(wire::MsgType::encrypted);  // func
  const std::uint64_t ctr = iv_ctr++;
  wire::store_be64(buf.data() + wire::kHeaderLen, ctr);
  wire::store_be16(buf.data() + wire::kHeaderLen + 8, 0);  // sig_len: none with an AEAD
  wire::store_be16(buf.data() + wire::kHeaderLen + 10, static_cast<std::uint16_t>(body + tag));
  if (!aead->seal(ctr, buf.first(kEncAadLen), buf.subspan(kEncAadLen, body),
                  buf.subspan(kEncAadLen + body, tag))) {
    return Errc::auth_failed;
  }
  return kEncAadLen + body + tag;
}

struct Opened {
  wire::Header header;
  wire::MsgType type = wire::MsgType::announce;  // the inner type for ENCRYPTED
  wire::Bytes body;                              // starts at the inner func byte
  bool was_encrypted = false;
};

// Decode the header; for ENCRYPTED check the tag and decrypt in place with `aead` (nullptr:
// Errc::auth_failed, an encrypted packet we hold no key for).
[[nodiscard]] inline Result<Opened> open_packet(wire::MutBytes pkt, crypto::Aead* aead) noexcept {
  auto h = wire::decode_header(pkt);
  if (!h) return h.error();
  Opened o;
  o.header = *h;
  auto rest = pkt.subspan(wire::kHeaderLen);
  if (h->func != wire::MsgType::encrypted) {
    auto t = wire::peek_type(rest);
    if (!t) return t.error();
    if (*t != h->func) return Errc::bad_type;
    o.type = *t;
    o.body = rest;
    return o;
  }
  if (aead == nullptr) return Errc::auth_failed;
  auto m = wire::decode_body(h->version, wire::MsgType::encrypted, rest);
  if (!m) return m.error();
  const auto& e = std::get<wire::Encrypted>(*m);
  const std::size_t tag = aead->tag_len();
  if (!e.sig.empty() || e.payload.size() <= tag) return Errc::bad_length;
  const std::size_t off = static_cast<std::size_t>(e.payload.data() - pkt.data());
  auto data = pkt.subspan(off, e.payload.size() - tag);
  if (!aead->open(e.iv_ctr, pkt.first(kEncAadLen), data, e.payload.last(tag))) {
    return Errc::auth_failed;
  }
  auto t = wire::peek_type(data);
  if (!t) return t.error();
  o.type = *t;
  o.body = data;
  o.was_encrypted = true;
  return o;
}

}  // namespace volley::proto
