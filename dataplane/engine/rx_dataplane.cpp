#include "dataplane/engine/rx_dataplane.hpp"

namespace volley::engine {

RxDataplane::Group* RxDataplane::group(std::uint32_t id) noexcept {
  for (auto& g : groups_) {
    if (g.id == id) return &g;
  }
  return nullptr;
}

void RxDataplane::emit(const proto::RxEvent& ev) noexcept {
  // On overflow the event is lost; control recovers at the next DONE, which checks the bitmap.
  if (!events_.push(ev)) ++stats_.event_overflow;
}

void RxDataplane::apply(const proto::RxCommand& cmd) noexcept {
  using K = proto::RxCommand::Kind;
  switch (cmd.kind) {
    case K::group_add:
      // Control caps live sessions below kMaxGroups; past it the group stays keyless and its
      // FILESEGs are counted as bad.
      if (group(cmd.group_id) == nullptr && groups_.size() < kMaxGroups) {
        groups_.push_back({cmd.group_id, static_cast<crypto::Aead*>(cmd.aead),
                           cmd.encrypted || cmd.aead != nullptr, 0, false, 0});
      }
      break;
    case K::group_key:
      if (Group* g = group(cmd.group_id)) g->aead = static_cast<crypto::Aead*>(cmd.aead);
      break;
    case K::group_remove:
      std::erase_if(groups_, [&](const Group& g) { return g.id == cmd.group_id; });
      emit({.kind = proto::RxEvent::Kind::group_removed, .group_id = cmd.group_id});
      break;
    case K::file_open:
      blocks_.open(cmd);
      break;
    case K::file_close:
      blocks_.close(cmd.group_id, cmd.file_id);
      emit({.kind = proto::RxEvent::Kind::file_closed,
            .group_id = cmd.group_id,
            .file_id = cmd.file_id});
      break;
  }
}

std::size_t RxDataplane::drain_commands() noexcept {
  std::size_t n = 0;
  proto::RxCommand cmd;
  while (commands_.pop(cmd)) {
    apply(cmd);
    ++n;
  }
  return n;
}

std::optional<proto::Opened> RxDataplane::on_datagram(wire::MutBytes pkt,
                                                      proto::TimeNs now) noexcept {
  ++stats_.datagrams;
  auto h = wire::decode_header(pkt);
  if (!h) {
    ++stats_.bad_header;
    return std::nullopt;
  }
  Group* g = group(h->group_id);
  crypto::Aead* aead = g != nullptr ? g->aead : nullptr;
  if (h->func == wire::MsgType::encrypted && aead == nullptr) {
    ++stats_.no_key;
    return std::nullopt;
  }
  auto o = proto::open_packet(pkt, aead);
  if (!o) {
    ++(o.error() == Errc::auth_failed ? stats_.auth_failed : stats_.bad_header);
    return std::nullopt;
  }
  if (g != nullptr) {
    // Stock UFTP drops server packets more than max_misorder behind the highest seq seen
    // (KEYINFO and ABORT exempt). A packet far "behind" is instead a jump (a restart, or a
    // corrupted seq taken as highest earlier): accept it and resynchronise, so one bad packet
    // cannot blind the session. The packet has been authenticated already when encrypted.
    const bool exempt = o->type == wire::MsgType::keyinfo || o->type == wire::MsgType::abort;
    const auto behind = static_cast<std::int16_t>(g->highest_seq - h->seq);
    if (g->seq_seen && behind > static_cast<std::int16_t>(max_misorder_) && behind <= kSeqJump &&
        !exempt) {
      ++stats_.misordered;
      return std::nullopt;
    }
    if (!g->seq_seen || behind < 0 || behind > kSeqJump) g->highest_seq = h->seq;
    g->seq_seen = true;
  }
  if (o->type != wire::MsgType::fileseg) return *o;
  if (g == nullptr) {
    ++stats_.bad_fileseg;
    return std::nullopt;
  }
  if (g->encrypted && !o->was_encrypted) {
    ++stats_.plaintext_in_encrypted;
    return std::nullopt;
  }
  auto seg = wire::decode_fileseg(h->version, o->body);
  if (!seg) {
    ++stats_.bad_fileseg;
    return std::nullopt;
  }
  blocks_.on_fileseg(h->group_id, *seg);
  if (now - g->activity_reported >= 10 * proto::kMs) {
    g->activity_reported = now;
    emit({.kind = proto::RxEvent::Kind::activity, .group_id = h->group_id});
  }
  return std::nullopt;
}

}  // namespace volley::engine
