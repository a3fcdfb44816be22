#include "dataplane/engine/receiver_pipeline.hpp"

namespace volley::engine {

ReceiverPipeline::Group* ReceiverPipeline::group(std::uint32_t id) noexcept {
  for (auto& g : groups_) {
    if (g.id == id) return &g;
  }
  return nullptr;
}

void ReceiverPipeline::emit(const proto::RxEvent& ev) noexcept {
  // On overflow the event is lost; control recovers at the next DONE, which checks the bitmap.
  if (!events_.push(ev)) ++stats_.event_overflow;
}

void ReceiverPipeline::apply(const proto::RxCommand& cmd) {
  using K = proto::RxCommand::Kind;
  switch (cmd.kind) {
    case K::group_add:
      if (group(cmd.group_id) == nullptr) {
        groups_.push_back({cmd.group_id, static_cast<crypto::Aead*>(cmd.aead), 0, false, 0});
      }
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

void ReceiverPipeline::pump(proto::TimeNs now) {
  // Until quiet: control → command ring → dataplane, dataplane → event ring → control.
  for (bool progress = true; progress;) {
    progress = false;
    proto::RxCommand cmd;
    while (auto c = c_.poll_command()) {
      while (!commands_.push(*c)) {  // full: let the dataplane side drain it first
        if (commands_.pop(cmd)) apply(cmd);
      }
    }
    while (commands_.pop(cmd)) {
      apply(cmd);
      progress = true;
    }
    proto::RxEvent ev;
    while (events_.pop(ev)) {
      c_.on_rx_event(ev, now);
      progress = true;
    }
  }
}

void ReceiverPipeline::on_datagram(const session::PeerAddr& from, wire::MutBytes pkt,
                                   proto::TimeNs now) {
  ++stats_.datagrams;
  pump(now);
  auto h = wire::decode_header(pkt);
  if (!h) {
    ++stats_.bad_header;
    return;
  }
  Group* g = group(h->group_id);
  crypto::Aead* aead = g != nullptr ? g->aead : nullptr;
  if (h->func == wire::MsgType::encrypted && aead == nullptr) {
    ++stats_.no_key;
    return;
  }
  auto o = proto::open_packet(pkt, aead);
  if (!o) {
    ++(o.error() == Errc::auth_failed ? stats_.auth_failed : stats_.bad_header);
    return;
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
      return;
    }
    if (!g->seq_seen || behind < 0 || behind > kSeqJump) g->highest_seq = h->seq;
    g->seq_seen = true;
  }
  if (o->type != wire::MsgType::fileseg) {
    c_.on_control(from, *o, now);
    pump(now);
    return;
  }
  if (g == nullptr) {
    ++stats_.bad_fileseg;
    return;
  }
  if (aead != nullptr && !o->was_encrypted) {
    ++stats_.plaintext_in_encrypted;
    return;
  }
  auto seg = wire::decode_fileseg(h->version, o->body);
  if (!seg) {
    ++stats_.bad_fileseg;
    return;
  }
  proto::RxEvent ev;
  if (blocks_.on_fileseg(h->group_id, *seg, ev)) emit(ev);
  if (now - g->activity_reported >= 10 * proto::kMs) {
    g->activity_reported = now;
    c_.on_activity(h->group_id, now);
  }
  if (!events_.empty()) pump(now);
}

}  // namespace volley::engine
