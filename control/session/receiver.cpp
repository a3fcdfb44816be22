#include "control/session/receiver.hpp"

#include <algorithm>
#include <cstdio>

#include "control/session/client_handshake.hpp"
#include "dataplane/wire/quant.hpp"

namespace volley::session {

struct Receiver::Session {
  std::uint32_t group_id = 0;
  std::uint8_t group_inst = 0;
  std::uint32_t server_id = 0;
  PeerAddr server;
  wire::Version version = wire::Version::v5;
  std::uint16_t blocksize = 0;
  std::uint8_t robust = 20;
  DurationNs grtt_ns = 500 * proto::kMs;
  bool encrypted = false;
  std::unique_ptr<ClientHandshake> hs;  // UFTP 4 key exchange (nullptr: preshared key or none)
  bool sync = false;
  bool preview = false;
  wire::IpAddr priv_addr;
  enum class Phase : std::uint8_t { registering, registered, done_wait } phase = Phase::registering;
  std::uint64_t announce_ts_us = 0;
  TimeNs reg_next = proto::kNever;
  TimeNs reg_giveup = proto::kNever;
  TimeNs last_activity = 0;
  // The file being received (one at a time per session, as in UFTP).
  std::uint16_t file_id = 0;
  std::string name;
  bool receiving = false;
  wire::FileLayout layout{};
  proto::FileHandle handle = 0;
  std::unique_ptr<proto::BlockBitmap> received;
  wire::CompStatus status_if_done = wire::CompStatus::normal;
  std::uint8_t ack_flags = 0;
  std::uint64_t fileinfo_ts_us = 0;
  std::uint32_t nak_from = 0;
  std::uint32_t nak_to = 0;
  TimeNs nak_at = proto::kNever;
  std::vector<std::pair<std::uint16_t, std::unique_ptr<proto::BlockBitmap>>> retired;
  std::unordered_map<std::uint16_t, wire::CompStatus> completed;
  bool all_ok = true;
  TimeNs complete0_next = proto::kNever;
  TimeNs giveup_at = proto::kNever;
};

Receiver::Receiver(ReceiverConfig cfg, proto::FileStore& store)
    : cfg_(std::move(cfg)), store_(store), status_scratch_(wire::kMaxBlockSize) {}
Receiver::~Receiver() = default;

std::uint64_t Receiver::ts_us(TimeNs now) const noexcept {
  return static_cast<std::uint64_t>(now / 1000 + cfg_.wall_offset_us);
}
DurationNs Receiver::floor(DurationNs d) const noexcept {
  return std::max(d, cfg_.timer_floor_ns);
}

bool Receiver::listed(const wire::IdList& ids) const noexcept {
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] == cfg_.client_id) return true;
  }
  return false;
}

std::vector<wire::IpAddr> Receiver::joined_groups() const {
  std::vector<wire::IpAddr> out;
  for (const auto& [g, s] : sessions_) {
    if (s->priv_addr != wire::IpAddr{.v6 = s->priv_addr.v6}) out.push_back(s->priv_addr);
  }
  return out;
}

// ---- input ----

void Receiver::on_control(const PeerAddr& from, const proto::Opened& o, TimeNs now) {
  auto m = wire::decode_body(o.header.version, o.type, o.body);
  if (!m) {
    ++stats_.dropped;
    return;
  }
  if (auto* a = std::get_if<wire::Announce>(&*m)) {
    handle_announce(from, o, *a, now);
    return;
  }
  auto it = sessions_.find(o.header.group_id);
  if (it == sessions_.end()) {
    ++stats_.dropped;
    return;
  }
  Session& s = *it->second;
  if (o.header.src_id != s.server_id || o.header.version != s.version) {
    ++stats_.dropped;
    return;
  }
  // Once a session is encrypted, only the handshake (and an ABORT before keys) may arrive in
  // the clear.
  if (s.encrypted && !o.was_encrypted && o.type != wire::MsgType::reg_conf &&
      o.type != wire::MsgType::keyinfo &&
      !(o.type == wire::MsgType::abort && s.phase == Session::Phase::registering)) {
    ++stats_.dropped;
    return;
  }
  s.grtt_ns = static_cast<DurationNs>(wire::unquantize_grtt(o.header.grtt) * 1e9);
  s.last_activity = now;
  if (auto* rc = std::get_if<wire::RegConf>(&*m)) {
    if (s.phase == Session::Phase::registering && listed(rc->ids)) {
      s.phase = Session::Phase::registered;
      s.reg_next = s.reg_giveup = proto::kNever;
      events_.push_back({.kind = ReceiverEvent::Kind::session_started, .group_id = s.group_id});
    }
  } else if (std::holds_alternative<wire::KeyInfo>(*m)) {
    handle_keyinfo(s, o, now);
  } else if (auto* f = std::get_if<wire::FileInfo>(&*m)) {
    handle_fileinfo(s, *f, now);
  } else if (auto* d = std::get_if<wire::Done>(&*m)) {
    handle_done(s, *d, now);
  } else if (auto* dc = std::get_if<wire::DoneConf>(&*m)) {
    if (s.phase == Session::Phase::done_wait && listed(dc->ids)) {
      finish(s, s.all_ok, s.all_ok ? "complete" : "finished with failed files");
    }
  } else if (auto* ab = std::get_if<wire::Abort>(&*m)) {
    handle_abort(s, *ab, now);
  } else {
    ++stats_.dropped;
  }
}

// The whole packet as it came (header re-encoded, body as received), for signature checks.
std::vector<std::uint8_t> Receiver::whole_packet(const proto::Opened& o) {
  std::vector<std::uint8_t> pkt(wire::kHeaderLen + o.body.size());
  wire::Writer w(wire::MutBytes(pkt).first(wire::kHeaderLen));
  wire::encode_header(w, o.header);
  std::copy(o.body.begin(), o.body.end(), pkt.begin() + wire::kHeaderLen);
  return pkt;
}

void Receiver::handle_keyinfo(Session& s, const proto::Opened& o, TimeNs now) {
  if (!s.hs) return;
  const auto pkt = whole_packet(o);
  auto m = wire::decode_body(o.header.version, wire::MsgType::keyinfo,
                             wire::Bytes(pkt).subspan(wire::kHeaderLen));
  if (!m) return;
  crypto::Aead* const before = s.hs->open();
  auto v = s.hs->on_keyinfo(pkt, o.header, std::get<wire::KeyInfo>(*m));
  if (!v) {
    ++stats_.dropped;  // a damaged record: the sender repeats KEYINFO until we confirm
    return;
  }
  if (!*v) return;               // no record for us in this one
  if (s.hs->open() != before) {  // new (or corrected) group key: the dataplane switches to it
    commands_.push_back(
        {.kind = RxCommand::Kind::group_key, .group_id = s.group_id, .aead = s.hs->open()});
  }
  if (s.phase == Session::Phase::registering) {
    s.phase = Session::Phase::registered;
    s.reg_next = s.reg_giveup = proto::kNever;
    events_.push_back({.kind = ReceiverEvent::Kind::session_started,
                       .group_id = s.group_id,
                       .text = "encrypted, sender key " + s.hs->server_fingerprint()});
  }
  s.last_activity = now;
  outq_.push_back({.group_id = s.group_id, .type = wire::MsgType::keyinfo_ack, .verify = **v});
}

void Receiver::refuse_announce(const wire::Header& h, std::string why, TimeNs now) {
  // Said once per session: its repeated ANNOUNCEs are ignored for a while.
  finished_[h.group_id] = now + 60 * proto::kSec;
  char id[16];
  std::snprintf(id, sizeof id, "0x%08x", h.src_id);
  events_.push_back({.kind = ReceiverEvent::Kind::session_refused,
                     .group_id = h.group_id,
                     .text = "sender " + std::string(id) + ": " + std::move(why)});
}

void Receiver::handle_announce(const PeerAddr& from, const proto::Opened& o,
                               const wire::Announce& a, TimeNs now) {
  const wire::Header& h = o.header;
  if (auto it = sessions_.find(h.group_id); it != sessions_.end()) {
    Session& s = *it->second;
    if (h.src_id != s.server_id) return;
    s.last_activity = now;
    // Still registering when the sender announces again: our REGISTER (or its REG_CONF) was
    // lost. An open group's ANNOUNCE lists nobody; a closed group's lists who is still missing.
    // Answering each round matters because the announce phase can end before our own 1 s
    // retransmit floor comes round.
    if (s.phase == Session::Phase::registering && (a.ids.empty() || listed(a.ids))) {
      s.announce_ts_us = a.timestamp_us;
      outq_.push_back(
          {.group_id = s.group_id, .type = wire::MsgType::register_, .ts_echo_us = a.timestamp_us});
      s.reg_next = now + floor(5 * s.grtt_ns);
    }
    return;
  }
  if (auto f = finished_.find(h.group_id); f != finished_.end() && now < f->second) return;
  const bool encrypted = a.enc_info.has_value();
  const bool refuse = sessions_.size() >= cfg_.max_sessions ||
                      (!encrypted && cfg_.require_encryption) ||
                      (!a.ids.empty() && !listed(a.ids)) ||
                      (!cfg_.allowed_servers.empty() &&
                       std::find(cfg_.allowed_servers.begin(), cfg_.allowed_servers.end(),
                                 h.src_id) == cfg_.allowed_servers.end()) ||
                      a.blocksize < wire::kMinBlockSize || a.blocksize > wire::kMaxBlockSize;
  if (refuse) {
    ++stats_.dropped;
    return;
  }
  std::unique_ptr<ClientHandshake> hs;
  if (encrypted && cfg_.aead == nullptr) {
    // Key exchange: verify the signed ANNOUNCE, as the whole packet that was signed.
    const auto pkt = whole_packet(o);
    auto again = wire::decode_body(h.version, wire::MsgType::announce,
                                   wire::Bytes(pkt).subspan(wire::kHeaderLen));
    std::span<const std::uint8_t> pinned;
    if (auto k = cfg_.server_keys.find(h.src_id); k != cfg_.server_keys.end()) {
      pinned = k->second;
    } else if (!cfg_.server_keys.empty()) {
      ++stats_.dropped;  // a sender not on our list
      refuse_announce(h, "not on the server list", now);
      return;
    }
    std::string why;
    auto c =
        again ? ClientHandshake::from_announce(pkt, h, std::get<wire::Announce>(*again),
                                               cfg_.client_id, pinned, cfg_.random, &why, cfg_.key)
              : Result<std::unique_ptr<ClientHandshake>>(again.error());
    if (!c) {
      ++stats_.dropped;
      // A signature that does not verify may be damage on the way: wait for the next ANNOUNCE.
      // Anything else (unsupported mode, a key we do not trust) is final for this session.
      if (c.error() != Errc::auth_failed) refuse_announce(h, why, now);
      return;
    }
    hs = std::move(*c);
  }
  auto s = std::make_unique<Session>();
  s->hs = std::move(hs);
  s->group_id = h.group_id;
  s->group_inst = h.group_inst;
  s->server_id = h.src_id;
  s->server = from;
  s->version = h.version;
  s->blocksize = a.blocksize;
  s->robust = std::max<std::uint8_t>(a.robust, 1);
  s->grtt_ns = static_cast<DurationNs>(wire::unquantize_grtt(h.grtt) * 1e9);
  s->encrypted = encrypted;
  s->sync = (a.flags & wire::kAnnounceSync) != 0;
  s->preview = (a.flags & wire::kAnnounceSyncPreview) != 0;
  s->priv_addr = a.priv_addr;
  s->announce_ts_us = a.timestamp_us;
  s->last_activity = now;
  s->reg_next = now + floor(5 * s->grtt_ns);
  s->reg_giveup = now + floor(5 * s->robust * s->grtt_ns);
  commands_.push_back({.kind = RxCommand::Kind::group_add,
                       .group_id = h.group_id,
                       .aead = encrypted ? cfg_.aead : nullptr,
                       .encrypted = encrypted});
  outq_.push_back(
      {.group_id = h.group_id, .type = wire::MsgType::register_, .ts_echo_us = a.timestamp_us});
  sessions_.emplace(h.group_id, std::move(s));
  ++groups_epoch_;
}

void Receiver::reject_file(Session& s, std::uint16_t file_id, std::string_view name,
                           std::string why) {
  s.completed[file_id] = wire::CompStatus::rejected;
  s.all_ok = false;
  outq_.push_back({.group_id = s.group_id,
                   .type = wire::MsgType::complete,
                   .file_id = file_id,
                   .status = wire::CompStatus::rejected});
  events_.push_back({.kind = ReceiverEvent::Kind::file_rejected,
                     .group_id = s.group_id,
                     .file_id = file_id,
                     .name = std::string(name),
                     .outcome = FileOutcome::rejected,
                     .text = std::move(why)});
}

void Receiver::handle_fileinfo(Session& s, const wire::FileInfo& f, TimeNs now) {
  if (!listed(f.ids) || s.phase == Session::Phase::done_wait) return;
  if (s.phase == Session::Phase::registering) {  // REG_CONF was lost; FILEINFO implies it
    s.phase = Session::Phase::registered;
    s.reg_next = s.reg_giveup = proto::kNever;
    events_.push_back({.kind = ReceiverEvent::Kind::session_started, .group_id = s.group_id});
  }
  if (auto c = s.completed.find(f.file_id); c != s.completed.end()) {
    outq_.push_back({.group_id = s.group_id,
                     .type = wire::MsgType::complete,
                     .file_id = f.file_id,
                     .status = c->second});
    return;
  }
  if (s.receiving && s.file_id == f.file_id) {  // our FILEINFO_ACK was lost
    outq_.push_back({.group_id = s.group_id,
                     .type = wire::MsgType::fileinfo_ack,
                     .file_id = f.file_id,
                     .flags = s.ack_flags,
                     .ts_echo_us = f.timestamp_us});
    return;
  }
  if (s.receiving) {  // the sender moved on without us: keep what we have for a restart
    s.all_ok = false;
    abandon_file(s, true);
  }
  if (auto v = proto::validate_wire_name(f.name); !v) {
    reject_file(s, f.file_id, f.name, "refused file name outside the destination or malformed");
    return;
  }
  auto done = [&](wire::CompStatus st, FileOutcome oc) {
    s.completed[f.file_id] = st;
    outq_.push_back({.group_id = s.group_id,
                     .type = wire::MsgType::complete,
                     .file_id = f.file_id,
                     .status = st});
    events_.push_back({.kind = ReceiverEvent::Kind::file_done,
                       .group_id = s.group_id,
                       .file_id = f.file_id,
                       .name = std::string(f.name),
                       .outcome = oc});
  };
  switch (f.ftype) {
    case wire::FileType::dir:
      if (auto r = store_.make_dir(f.name, static_cast<std::int64_t>(f.mtime_s)); !r) {
        reject_file(s, f.file_id, f.name, "cannot create directory");
      } else {
        done(wire::CompStatus::normal, FileOutcome::copied);
      }
      return;
    case wire::FileType::link:
      if (f.link.empty() || f.link.find('\0') != std::string_view::npos) {
        reject_file(s, f.file_id, f.name, "bad symlink target");
      } else if (auto r = store_.make_symlink(f.name, f.link); !r) {
        reject_file(s, f.file_id, f.name, "cannot create symlink");
      } else {
        done(wire::CompStatus::normal, FileOutcome::copied);
      }
      return;
    case wire::FileType::del:
      if (auto r = store_.remove(f.name); !r) {
        reject_file(s, f.file_id, f.name, "cannot delete");
      } else {
        done(wire::CompStatus::normal, FileOutcome::copied);
      }
      return;
    case wire::FileType::freespace:
      done(wire::CompStatus::normal, FileOutcome::copied);
      return;
    case wire::FileType::regular:
      break;
  }
  auto layout = wire::FileLayout::make(f.size, s.blocksize);
  if (!layout) {
    reject_file(s, f.file_id, f.name, "file too large for the protocol at this block size");
    return;
  }
  wire::CompStatus st = wire::CompStatus::normal;
  auto existing = store_.stat(f.name);
  if (existing && existing->has_value()) {
    const auto& e = **existing;
    const auto mtime = static_cast<std::int64_t>(f.mtime_s);
    if (s.sync && e.kind == proto::EntryInfo::Kind::file &&
        (e.mtime_s > mtime || (e.mtime_s == mtime && e.size == f.size))) {
      done(wire::CompStatus::skipped, FileOutcome::skipped);
      return;
    }
    st = wire::CompStatus::overwrite;
  }
  if (s.preview) {
    done(st, st == wire::CompStatus::overwrite ? FileOutcome::overwrote : FileOutcome::copied);
    return;
  }
  if (f.size > store_.free_bytes()) {
    reject_file(s, f.file_id, f.name, "not enough disk space");
    return;
  }
  proto::ReceiveSpec spec{.group_id = s.group_id,
                          .file_id = f.file_id,
                          .name = std::string(f.name),
                          .size = f.size,
                          .mtime_s = static_cast<std::int64_t>(f.mtime_s),
                          .blocksize = s.blocksize};
  auto b = store_.begin(spec);
  if (!b) {
    reject_file(s, f.file_id, f.name,
                std::string("cannot create file: ") + std::string(error_name(b.error())));
    return;
  }
  s.file_id = f.file_id;
  s.name = std::string(f.name);
  s.receiving = true;
  s.layout = *layout;
  s.handle = b->handle;
  s.received = std::make_unique<proto::BlockBitmap>(layout->blocks());
  s.status_if_done = st;
  s.ack_flags = 0;
  s.nak_from = s.nak_to = 0;
  s.nak_at = proto::kNever;
  s.fileinfo_ts_us = f.timestamp_us;
  if (b->resumed) {
    s.received->merge_wire(0, layout->blocks(), *b->resumed);
    if (!s.received->none()) s.ack_flags = wire::kFileInfoAckPartial;
  }
  if (s.received->all()) {  // empty file, or a restart that already has everything
    complete_file(s, st, now);
    return;
  }
  commands_.push_back({.kind = RxCommand::Kind::file_open,
                       .group_id = s.group_id,
                       .file_id = f.file_id,
                       .handle = b->handle,
                       .layout = *layout,
                       .received = s.received.get()});
  outq_.push_back({.group_id = s.group_id,
                   .type = wire::MsgType::fileinfo_ack,
                   .file_id = f.file_id,
                   .flags = s.ack_flags,
                   .ts_echo_us = f.timestamp_us});
}

void Receiver::complete_file(Session& s, wire::CompStatus st, TimeNs now) {
  (void)now;
  commands_.push_back(
      {.kind = RxCommand::Kind::file_close, .group_id = s.group_id, .file_id = s.file_id});
  s.receiving = false;
  s.retired.emplace_back(s.file_id, std::move(s.received));
  s.nak_at = proto::kNever;
  if (auto c = store_.commit(s.handle); !c) {
    store_.discard(s.handle);
    reject_file(s, s.file_id, s.name,
                std::string("cannot move file into place: ") + std::string(error_name(c.error())));
    return;
  }
  s.completed[s.file_id] = st;
  outq_.push_back({.group_id = s.group_id,
                   .type = wire::MsgType::complete,
                   .file_id = s.file_id,
                   .status = st});
  events_.push_back({.kind = ReceiverEvent::Kind::file_done,
                     .group_id = s.group_id,
                     .file_id = s.file_id,
                     .name = s.name,
                     .outcome = outcome_from_status(st)});
}

void Receiver::abandon_file(Session& s, bool keep_partial) {
  if (!s.receiving) return;
  commands_.push_back(
      {.kind = RxCommand::Kind::file_close, .group_id = s.group_id, .file_id = s.file_id});
  if (keep_partial) {
    std::vector<std::uint8_t> bits((s.layout.blocks() + 7) / 8);
    for (auto i = s.received->find_next_set(0); i < s.received->size();
         i = s.received->find_next_set(i + 1)) {
      bits[i >> 3] = static_cast<std::uint8_t>(bits[i >> 3] | (1u << (i & 7)));
    }
    store_.suspend(s.handle, bits);
  } else {
    store_.discard(s.handle);
  }
  events_.push_back({.kind = ReceiverEvent::Kind::file_done,
                     .group_id = s.group_id,
                     .file_id = s.file_id,
                     .name = s.name,
                     .outcome = FileOutcome::failed});
  s.receiving = false;
  s.retired.emplace_back(s.file_id, std::move(s.received));
  s.nak_at = proto::kNever;
}

void Receiver::queue_status(Session& s, std::uint32_t from_section, std::uint32_t to_section) {
  if (!s.receiving) return;
  to_section = std::min(to_section, s.layout.sections());
  for (std::uint32_t sec = from_section; sec < to_section; ++sec) {
    const std::uint32_t n = s.layout.section_blocks(sec);
    if (s.received->count_range(s.layout.section_first_block(sec), n) < n) {
      outq_.push_back({.group_id = s.group_id,
                       .type = wire::MsgType::status,
                       .file_id = s.file_id,
                       .section = static_cast<std::uint16_t>(sec)});
    }
  }
}

void Receiver::handle_done(Session& s, const wire::Done& d, TimeNs now) {
  if (!d.ids.empty() && !listed(d.ids)) return;
  if (d.file_id == 0) {
    if (s.receiving) {
      s.all_ok = false;
      abandon_file(s, true);
    }
    if (s.phase != Session::Phase::done_wait) {
      s.phase = Session::Phase::done_wait;
      s.giveup_at = now + floor(4 * s.robust * s.grtt_ns);
    }
    outq_.push_back({.group_id = s.group_id, .type = wire::MsgType::complete, .file_id = 0});
    s.complete0_next = now + floor(4 * s.grtt_ns);
    return;
  }
  if (auto c = s.completed.find(d.file_id); c != s.completed.end()) {
    outq_.push_back({.group_id = s.group_id,
                     .type = wire::MsgType::complete,
                     .file_id = d.file_id,
                     .status = c->second});
    return;
  }
  if (!s.receiving || d.file_id != s.file_id) return;
  if (s.received->all()) {
    complete_file(s, s.status_if_done, now);
    return;
  }
  // Report every section with holes up to the last one sent; cancel the pending section NAK.
  s.nak_at = proto::kNever;
  queue_status(s, 0, static_cast<std::uint32_t>(d.section) + 1);
  s.nak_from = s.nak_to = static_cast<std::uint32_t>(d.section) + 1;
}

void Receiver::handle_abort(Session& s, const wire::Abort& a, TimeNs now) {
  (void)now;
  if (a.host != 0 && a.host != cfg_.client_id) return;
  if ((a.flags & wire::kAbortCurrentFile) != 0) {
    if (s.receiving) {
      s.all_ok = false;
      abandon_file(s, true);
    }
    return;
  }
  finish(s, false, "aborted by sender: " + std::string(a.text));
}

void Receiver::on_rx_event(const RxEvent& ev, TimeNs now) {
  if (ev.kind == RxEvent::Kind::group_removed) {
    std::erase_if(graveyard_, [&](const auto& s) { return s->group_id == ev.group_id; });
    return;
  }
  if (ev.kind == RxEvent::Kind::activity) {
    on_activity(ev.group_id, now);
    return;
  }
  auto it = sessions_.find(ev.group_id);
  if (it == sessions_.end()) return;
  Session& s = *it->second;
  if (ev.kind == RxEvent::Kind::file_closed) {
    std::erase_if(s.retired, [&](const auto& r) { return r.first == ev.file_id; });
    return;
  }
  if (!s.receiving || ev.file_id != s.file_id) return;
  s.last_activity = now;
  switch (ev.kind) {
    case RxEvent::Kind::file_full:
      complete_file(s, s.status_if_done, now);
      break;
    case RxEvent::Kind::write_failed:
      abandon_file(s, false);
      s.all_ok = false;
      s.completed[ev.file_id] = wire::CompStatus::rejected;
      outq_.push_back({.group_id = s.group_id,
                       .type = wire::MsgType::complete,
                       .file_id = ev.file_id,
                       .status = wire::CompStatus::rejected});
      events_.push_back(
          {.kind = ReceiverEvent::Kind::file_rejected,
           .group_id = s.group_id,
           .file_id = ev.file_id,
           .name = s.name,
           .outcome = FileOutcome::rejected,
           .text = std::string("write failed: ") + std::string(error_name(ev.error))});
      break;
    case RxEvent::Kind::section_advanced:
      // Data from a later section: after one GRTT, NAK the sections passed over with holes.
      if (ev.section > s.nak_to) {
        s.nak_to = ev.section;
        if (s.nak_at == proto::kNever) s.nak_at = now + s.grtt_ns;
      }
      break;
    default:
      break;
  }
}

void Receiver::shutdown(std::string why) {
  for (auto& [g, sp] : sessions_) {
    outq_.push_back({.group_id = g, .type = wire::MsgType::abort, .text = why});
  }
}

void Receiver::on_activity(std::uint32_t group_id, TimeNs now) {
  if (auto it = sessions_.find(group_id); it != sessions_.end()) it->second->last_activity = now;
}

void Receiver::finish(Session& s, bool ok, std::string why) {
  abandon_file(s, true);
  events_.push_back({.kind = ReceiverEvent::Kind::session_finished,
                     .group_id = s.group_id,
                     .ok = ok,
                     .text = std::move(why)});
  ok ? ++stats_.sessions_ok : ++stats_.sessions_failed;
  commands_.push_back({.kind = RxCommand::Kind::group_remove, .group_id = s.group_id});
  finished_[s.group_id] = s.last_activity + floor(8 * s.robust * s.grtt_ns);
  ++groups_epoch_;
  auto node = sessions_.extract(s.group_id);
  graveyard_.push_back(std::move(node.mapped()));
}

// ---- timers ----

TimeNs Receiver::next_deadline() const noexcept {
  if (!outq_.empty() || !commands_.empty()) return 0;
  TimeNs t = proto::kNever;
  for (const auto& [g, s] : sessions_) {
    t = std::min({t, s->reg_next, s->reg_giveup, s->nak_at, s->complete0_next,
                  s->last_activity + floor(s->robust * s->grtt_ns)});
  }
  return t;
}

void Receiver::on_deadline(TimeNs now) {
  std::vector<Session*> expired;
  for (auto& [g, sp] : sessions_) {
    Session& s = *sp;
    if (s.phase == Session::Phase::registering) {
      if (now >= s.reg_giveup) {
        expired.push_back(&s);
        continue;
      }
      if (now >= s.reg_next) {
        outq_.push_back({.group_id = s.group_id,
                         .type = wire::MsgType::register_,
                         .ts_echo_us = s.announce_ts_us});
        s.reg_next = now + floor(5 * s.grtt_ns);
      }
    }
    if (now >= s.nak_at) {
      s.nak_at = proto::kNever;
      queue_status(s, s.nak_from, s.nak_to);
      s.nak_from = s.nak_to;
    }
    if (s.phase == Session::Phase::done_wait && now >= s.complete0_next) {
      if (now >= s.giveup_at) {
        expired.push_back(&s);
        continue;
      }
      outq_.push_back({.group_id = s.group_id, .type = wire::MsgType::complete, .file_id = 0});
      s.complete0_next = now + floor(4 * s.grtt_ns);
    }
    if (s.phase != Session::Phase::done_wait &&
        now >= s.last_activity + floor(s.robust * s.grtt_ns)) {
      expired.push_back(&s);
    }
  }
  for (Session* s : expired) {
    if (s->phase == Session::Phase::done_wait) {
      finish(*s, s->all_ok, "no DONE_CONF from the sender; every file was already in place");
    } else if (s->phase == Session::Phase::registering) {
      finish(*s, false, "no answer to REGISTER");
    } else {
      finish(*s, false, "sender went silent");
    }
  }
  std::erase_if(finished_, [&](const auto& f) { return f.second <= now; });
}

// ---- output ----

std::optional<RxCommand> Receiver::poll_command() {
  if (commands_.empty()) return std::nullopt;
  auto c = commands_.front();
  commands_.pop_front();
  return c;
}

std::optional<ReceiverEvent> Receiver::poll_event() {
  if (events_.empty()) return std::nullopt;
  auto e = std::move(events_.front());
  events_.pop_front();
  return e;
}

std::optional<Receiver::Out> Receiver::poll_transmit(wire::MutBytes out, TimeNs now) {
  while (!outq_.empty()) {
    Outgoing o = std::move(outq_.front());
    outq_.pop_front();
    auto it = sessions_.find(o.group_id);
    if (it == sessions_.end()) continue;
    Session& s = *it->second;  // stays alive (in graveyard_) if an ABORT finishes it below
    const PeerAddr server = s.server;
    wire::Header h;
    h.version = s.version;
    h.seq = seq_++;
    h.src_id = cfg_.client_id;
    h.group_id = s.group_id;
    h.group_inst = s.group_inst;
    crypto::Aead* aead = s.hs ? s.hs->seal() : s.encrypted ? cfg_.aead : nullptr;
    Result<std::size_t> n = Errc::bad_type;
    switch (o.type) {
      case wire::MsgType::register_: {
        wire::Register r;
        r.ts_echo_us = o.ts_echo_us;
        if (s.hs) {
          r.rand2 = s.hs->rand2();
          r.keyinfo = s.hs->ecdh_blob();
        }
        n = proto::build_packet(h, r, out, nullptr, iv_ctr_);
        // Every REGISTER is followed by our CLIENT_KEY when the sender asked for one.
        if (n && s.hs && s.hs->client_key()) {
          outq_.push_front({.group_id = s.group_id, .type = wire::MsgType::client_key});
        }
        break;
      }
      case wire::MsgType::client_key:
        // v4: in the clear; v5: under our handshake key.
        n = proto::build_packet(h, *s.hs->client_key(), out, s.hs->client_key_seal(), iv_ctr_);
        break;
      case wire::MsgType::keyinfo_ack:
        n = proto::build_packet(h, wire::KeyInfoAck{.verify = o.verify}, out, aead, iv_ctr_);
        break;
      case wire::MsgType::fileinfo_ack:
        n = proto::build_packet(
            h,
            wire::FileInfoAck{.file_id = o.file_id, .flags = o.flags, .ts_echo_us = o.ts_echo_us},
            out, aead, iv_ctr_);
        break;
      case wire::MsgType::status: {
        if (!s.receiving || s.file_id != o.file_id) continue;  // finished meanwhile
        const std::uint32_t sec = o.section;
        const std::uint32_t nb = s.layout.section_blocks(sec);
        const auto len = s.layout.nak_bitmap_len(sec);
        auto bits = wire::MutBytes(status_scratch_).first(len);
        const auto missing =
            s.received->write_missing_wire(s.layout.section_first_block(sec), nb, bits);
        if (missing == 0) continue;
        ++stats_.status_sent;
        stats_.naks_sent += missing;
        n = proto::build_packet(
            h, wire::StatusMsg{.file_id = o.file_id, .section = o.section, .naks = bits}, out, aead,
            iv_ctr_);
        break;
      }
      case wire::MsgType::complete:
        n = proto::build_packet(h, wire::Complete{.file_id = o.file_id, .status = o.status}, out,
                                aead, iv_ctr_);
        break;
      case wire::MsgType::abort:
        n = proto::build_packet(h, wire::Abort{.host = cfg_.client_id, .text = o.text}, out, aead,
                                iv_ctr_);
        finish(s, false, std::move(o.text));  // the session ends once its ABORT is built
        break;
      default:
        break;
    }
    (void)now;
    if (!n) continue;
    return Out{server, *n};
  }
  return std::nullopt;
}

}  // namespace volley::session
