#include "control/session/sender.hpp"

#include <algorithm>
#include <bit>
#include <utility>

#include "dataplane/proto/framing.hpp"
#include "dataplane/wire/quant.hpp"

namespace volley::session {

std::string_view client_state_name(ClientState s) noexcept {
  switch (s) {
    case ClientState::registered:
      return "registered";
    case ClientState::lost:
      return "lost";
    case ClientState::aborted:
      return "aborted";
    case ClientState::done:
      return "done";
  }
  return "?";
}

std::string_view outcome_name(FileOutcome o) noexcept {
  switch (o) {
    case FileOutcome::pending:
      return "pending";
    case FileOutcome::copied:
      return "copy";
    case FileOutcome::overwrote:
      return "overwrite";
    case FileOutcome::skipped:
      return "skipped";
    case FileOutcome::rejected:
      return "rejected";
    case FileOutcome::failed:
      return "failed";
  }
  return "?";
}

FileOutcome outcome_from_status(wire::CompStatus s) noexcept {
  switch (s) {
    case wire::CompStatus::normal:
      return FileOutcome::copied;
    case wire::CompStatus::skipped:
      return FileOutcome::skipped;
    case wire::CompStatus::overwrite:
      return FileOutcome::overwrote;
    case wire::CompStatus::rejected:
      return FileOutcome::rejected;
  }
  return FileOutcome::rejected;
}

namespace {
// Set bits among the first n bits of an LSB-first wire bitmap.
std::uint64_t count_wire_bits(wire::Bytes bits, std::uint64_t n) noexcept {
  std::uint64_t c = 0;
  const std::uint64_t full = std::min<std::uint64_t>(n / 8, bits.size());
  for (std::uint64_t i = 0; i < full; ++i) c += static_cast<std::uint64_t>(std::popcount(bits[i]));
  if (full < bits.size() && n % 8 != 0) {
    const auto mask = static_cast<std::uint8_t>((1u << (n % 8)) - 1);
    c += static_cast<std::uint64_t>(std::popcount(static_cast<std::uint8_t>(bits[full] & mask)));
  }
  return c;
}
}  // namespace

SenderSession::SenderSession(SenderConfig cfg, std::vector<proto::SendEntry> entries)
    : cfg_(std::move(cfg)), entries_(std::move(entries)), grtt_ns_(cfg_.grtt_init_ns) {
  if (cfg_.robust == 0) cfg_.robust = 1;
  if (cfg_.max_nak_count == 0) cfg_.max_nak_count = 1;
  grtt_ns_ = std::clamp(grtt_ns_, cfg_.grtt_min_ns, cfg_.grtt_max_ns);
}

wire::Header SenderSession::header(std::uint16_t seq) const noexcept {
  wire::Header h;
  h.version = cfg_.version;
  h.seq = seq;
  h.src_id = cfg_.server_id;
  h.group_id = cfg_.group_id;
  h.group_inst = cfg_.group_inst;
  h.grtt = wire::quantize_grtt(static_cast<double>(grtt_ns_) / 1e9);
  std::size_t n = clients_.size();
  if (!cfg_.closed_group.empty()) n = std::max(n, cfg_.closed_group.size());
  h.gsize = wire::quantize_gsize(static_cast<double>(std::max<std::size_t>(n, 1)));
  return h;
}

std::uint64_t SenderSession::ts_us(TimeNs now) const noexcept {
  return static_cast<std::uint64_t>(now / 1000 + cfg_.wall_offset_us);
}

std::optional<std::size_t> SenderSession::find(std::uint32_t id) const {
  auto it = index_.find(id);
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::uint32_t> SenderSession::ids_at(Step s) const {
  std::vector<std::uint32_t> ids;
  for (std::size_t i = 0; i < clients_.size(); ++i) {
    if (active(i) && step_[i] == s) ids.push_back(clients_[i].id);
  }
  return ids;
}

void SenderSession::queue(Outgoing o) {
  // Split long ID lists so every packet stays within one block (blocksize/4 IDs, less the
  // header and the name for FILEINFO).
  std::size_t fixed = 64;
  if (o.type == wire::MsgType::fileinfo) {
    const auto& e = entries_[entry_];
    fixed += e.name.size() + e.link_target.size() + 8;
  }
  const std::size_t max_ids =
      std::max<std::size_t>(1, (cfg_.blocksize > fixed ? cfg_.blocksize - fixed : 0) / 4);
  // Coalesce confirmations into a pending packet of the same kind.
  if ((o.type == wire::MsgType::reg_conf || o.type == wire::MsgType::done_conf) && !outq_.empty() &&
      outq_.back().type == o.type && outq_.back().ids.size() + o.ids.size() <= max_ids) {
    auto& ids = outq_.back().ids;
    ids.insert(ids.end(), o.ids.begin(), o.ids.end());
    return;
  }
  if (o.ids.size() <= max_ids) {
    outq_.push_back(std::move(o));
    return;
  }
  for (std::size_t i = 0; i < o.ids.size(); i += max_ids) {
    Outgoing part = o;
    part.ids.assign(
        o.ids.begin() + static_cast<std::ptrdiff_t>(i),
        o.ids.begin() + static_cast<std::ptrdiff_t>(std::min(o.ids.size(), i + max_ids)));
    outq_.push_back(std::move(part));
  }
}

void SenderSession::start(TimeNs now) {
  if (phase_ != Phase::idle) return;
  phase_ = Phase::announce;
  never_registered_ = cfg_.closed_group;
  std::sort(never_registered_.begin(), never_registered_.end());
  never_registered_.erase(std::unique(never_registered_.begin(), never_registered_.end()),
                          never_registered_.end());
  send_announce(now);
}

void SenderSession::send_announce(TimeNs now) {
  if (!pending_keys_.empty()) {  // each round repeats KEYINFO to whoever has not confirmed it
    Outgoing k{.type = wire::MsgType::keyinfo};
    for (const auto& [id, p] : pending_keys_) {
      if (cfg_.handshake->ready(id)) k.ids.push_back(id);
    }
    std::sort(k.ids.begin(), k.ids.end());
    if (!k.ids.empty()) queue(std::move(k));
  }
  Outgoing o{.type = wire::MsgType::announce, .ids = never_registered_};
  queue(std::move(o));
  ++announce_rounds_;
  ++stats_.announces;
  set_timer(now + 3 * grtt_ns_);
}

void SenderSession::end_announce(TimeNs now) {
  for (const auto& [id, p] : pending_keys_) {
    events_.push_back({.kind = SenderEvent::Kind::client_lost,
                       .client = id,
                       .text = "registered but never confirmed the keys (no KEYINFO_ACK)"});
  }
  pending_keys_.clear();
  for (std::uint32_t id : never_registered_) {
    events_.push_back({.kind = SenderEvent::Kind::client_lost,
                       .client = id,
                       .text = "closed-group member never registered"});
  }
  if (clients_.empty()) {
    phase_ = Phase::finished;
    timer_ = proto::kNever;
    events_.push_back(
        {.kind = SenderEvent::Kind::session_finished, .text = "no receivers registered"});
    return;
  }
  start_file(0, now);
}

void SenderSession::start_file(std::size_t entry, TimeNs now) {
  entry_ = entry;
  if (entry_ >= entries_.size()) {
    start_session_end(now);
    return;
  }
  const auto& e = entries_[entry_];
  layout_ = {};
  if (e.type == wire::FileType::regular) {
    auto l = wire::FileLayout::make(e.size, cfg_.blocksize);
    if (!l) {
      // Too large for the 16-bit section field at this block size: nobody can get it.
      for (auto& c : clients_) c.files[entry_] = FileOutcome::failed;
      events_.push_back({.kind = SenderEvent::Kind::file_finished,
                         .file_id = current_file_id(),
                         .text = "file too large for the protocol at this block size"});
      start_file(entry_ + 1, now);
      return;
    }
    layout_ = *l;
  }
  pass_ = 0;
  job_running_ = false;
  full_first_pass_ = true;
  next_blocks_ = proto::BlockBitmap(layout_.blocks());
  pass_blocks_ = proto::BlockBitmap(layout_.blocks());
  for (std::size_t i = 0; i < clients_.size(); ++i) {
    step_[i] = active(i) ? Step::wait_ack : Step::idle;
    answered_[i] = false;
    silent_[i] = 0;
  }
  phase_ = Phase::fileinfo;
  events_.push_back(
      {.kind = SenderEvent::Kind::file_started, .file_id = current_file_id(), .text = e.name});
  send_fileinfo(now);
}

void SenderSession::send_fileinfo(TimeNs now) {
  auto ids = ids_at(Step::wait_ack);
  if (ids.empty()) {
    maybe_advance(now);
    return;
  }
  queue({.type = wire::MsgType::fileinfo, .ids = std::move(ids), .file_id = current_file_id()});
  set_timer(now + 3 * grtt_ns_);
}

void SenderSession::maybe_advance(TimeNs now) {
  if (phase_ == Phase::fileinfo) {
    bool waiting = false, receiving = false, all_partial = true;
    for (std::size_t i = 0; i < clients_.size(); ++i) {
      if (!active(i)) continue;
      waiting |= step_[i] == Step::wait_ack;
      if (step_[i] == Step::receiving) {
        receiving = true;
        all_partial &= answered_[i];  // answered_ marks FLAG_PARTIAL during FILEINFO
      }
    }
    if (waiting) return;
    if (!receiving) {
      finish_file(now);
      return;
    }
    phase_ = Phase::data;
    if (all_partial || layout_.blocks() == 0) {
      full_first_pass_ = false;
      send_done(now);  // every receiver resumes a partial file: collect NAKs first
    } else {
      start_pass(now);
    }
    return;
  }
  if (phase_ == Phase::data && job_running_) {
    check_cancel();  // the job's completion moves us on
    return;
  }
  if (phase_ == Phase::data && !job_running_) {
    bool receiving = false, all_answered = true;
    for (std::size_t i = 0; i < clients_.size(); ++i) {
      if (!active(i) || step_[i] != Step::receiving) continue;
      receiving = true;
      all_answered &= answered_[i];
    }
    if (!receiving) {
      finish_file(now);
    } else if (all_answered) {
      // Everyone answered the DONE: give their remaining STATUS packets one GRTT, then go on.
      set_timer(std::min(timer_, now + grtt_ns_));
    }
    return;
  }
  if (phase_ == Phase::session_end) {
    if (ids_at(Step::wait_ack).empty()) {
      phase_ = Phase::linger;
      set_timer(now + 2 * grtt_ns_);
    }
  }
}

void SenderSession::start_pass(TimeNs now) {
  if (pass_ >= cfg_.max_passes) {
    for (std::size_t i = 0; i < clients_.size(); ++i) {
      if (active(i) && step_[i] == Step::receiving) {
        drop_client(i, ClientState::aborted, "maximum passes reached", true);
      }
    }
    finish_file(now);
    return;
  }
  ++pass_;
  ++stats_.passes;
  DataJob job;
  job.job_id = ++job_seq_;
  job.file_id = current_file_id();
  job.entry = static_cast<std::uint32_t>(entry_);
  job.layout = layout_;
  job.pass = pass_;
  const auto h = header(0);
  job.grtt_q = h.grtt;
  job.gsize_q = h.gsize;
  if (pass_ > 1 || !full_first_pass_) {  // repair pass: only the NAKed blocks
    std::swap(pass_blocks_, next_blocks_);
    next_blocks_.clear_all();
    stats_.repair_blocks += pass_blocks_.count();
    job.blocks = &pass_blocks_;
  }
  job_ = job;
  job_running_ = true;
  set_timer(proto::kNever);
  events_.push_back(
      {.kind = SenderEvent::Kind::pass_started, .file_id = job.file_id, .pass = pass_});
  (void)now;
}

void SenderSession::on_completion(const DataCompletion& c, TimeNs now) {
  if (!job_running_ || c.job_id != job_seq_) return;
  job_running_ = false;
  if (c.error != Errc::ok) {
    queue({.type = wire::MsgType::abort,
           .host = 0,
           .flags = wire::kAbortCurrentFile,
           .text = "sender could not read the file"});
    for (std::size_t i = 0; i < clients_.size(); ++i) {
      if (active(i) && step_[i] == Step::receiving) {
        clients_[i].files[entry_] = FileOutcome::failed;
        step_[i] = Step::complete;
      }
    }
    finish_file(now);
    return;
  }
  send_done(now);
}

void SenderSession::send_done(TimeNs now) {
  auto ids = ids_at(Step::receiving);
  if (ids.empty()) {
    finish_file(now);
    return;
  }
  for (std::size_t i = 0; i < clients_.size(); ++i) answered_[i] = false;
  const std::uint32_t last = layout_.sections() == 0 ? 0 : layout_.sections() - 1;
  queue({.type = wire::MsgType::done,
         .ids = std::move(ids),
         .file_id = current_file_id(),
         .section = static_cast<std::uint16_t>(last)});
  set_timer(now + 3 * grtt_ns_);
}

void SenderSession::finish_file(TimeNs now) {
  for (auto& c : clients_) {
    if (c.state == ClientState::registered && c.files[entry_] == FileOutcome::pending) {
      c.files[entry_] = FileOutcome::failed;
    }
  }
  events_.push_back(
      {.kind = SenderEvent::Kind::file_finished, .file_id = current_file_id(), .pass = pass_});
  if (phase_ == Phase::finished) return;
  start_file(entry_ + 1, now);
}

void SenderSession::start_session_end(TimeNs now) {
  phase_ = Phase::session_end;
  for (std::size_t i = 0; i < clients_.size(); ++i) {
    step_[i] = active(i) ? Step::wait_ack : Step::idle;
    answered_[i] = false;
    silent_[i] = 0;
  }
  send_session_done(now);
}

void SenderSession::send_session_done(TimeNs now) {
  auto ids = ids_at(Step::wait_ack);
  if (ids.empty()) {
    maybe_advance(now);
    return;
  }
  queue({.type = wire::MsgType::done, .ids = std::move(ids), .file_id = 0, .section = 0});
  set_timer(now + 3 * grtt_ns_);
}

void SenderSession::drop_client(std::size_t idx, ClientState why, std::string reason, bool tell) {
  auto& c = clients_[idx];
  if (c.state != ClientState::registered) return;
  c.state = why;
  c.reason = reason;
  for (std::size_t f = entry_; f < c.files.size(); ++f) {
    if (c.files[f] == FileOutcome::pending) c.files[f] = FileOutcome::failed;
  }
  step_[idx] = Step::idle;
  if (tell) queue({.type = wire::MsgType::abort, .host = c.id, .text = reason});
  events_.push_back({.kind = why == ClientState::lost ? SenderEvent::Kind::client_lost
                                                      : SenderEvent::Kind::client_aborted,
                     .client = c.id,
                     .file_id = current_file_id(),
                     .text = std::move(reason)});
  if (cfg_.quit_on_error) abort_all("session quit after a receiver failed");
  check_cancel();
}

void SenderSession::check_cancel() noexcept {
  if (phase_ != Phase::data || !job_running_) return;
  for (std::size_t i = 0; i < clients_.size(); ++i) {
    if (active(i) && step_[i] == Step::receiving) return;
  }
  cancel_job_ = true;  // nobody is left to receive this pass: stop the dataplane
}

void SenderSession::abort(std::string reason) {
  events_.push_back({.kind = SenderEvent::Kind::client_aborted, .text = reason});
  abort_all(std::move(reason));
}

void SenderSession::abort_all(std::string reason) {
  if (phase_ == Phase::finished || phase_ == Phase::linger) return;
  for (std::size_t i = 0; i < clients_.size(); ++i) {
    if (active(i)) {
      clients_[i].state = ClientState::aborted;
      clients_[i].reason = reason;
      for (auto& f : clients_[i].files) {
        if (f == FileOutcome::pending) f = FileOutcome::failed;
      }
    }
  }
  queue({.type = wire::MsgType::abort, .host = 0, .text = "session aborted: " + reason});
  job_running_ = false;
  phase_ = Phase::linger;
  set_timer(0);  // finish on the next deadline, after the ABORT is out
}

void SenderSession::update_rtt(std::size_t idx, std::uint64_t ts_echo_us, TimeNs now) {
  const auto now_us = ts_us(now);
  if (ts_echo_us == 0 || ts_echo_us > now_us) return;
  DurationNs rtt = static_cast<DurationNs>(now_us - ts_echo_us) * proto::kUs;
  if (rtt > cfg_.grtt_max_ns * 10) return;  // absurd echo: ignore
  rtt = std::max(rtt, proto::kMs);          // CLIENT_RTT_MIN
  clients_[idx].rtt_ns = rtt;
  DurationNs target = 0;
  for (std::size_t i = 0; i < clients_.size(); ++i) {
    if (active(i)) target = std::max(target, clients_[i].rtt_ns);
  }
  target = std::clamp(target, cfg_.grtt_min_ns, cfg_.grtt_max_ns);
  if (!grtt_measured_ || target >= grtt_ns_) {
    grtt_ns_ = target;
  } else {
    grtt_ns_ = std::max(target, grtt_ns_ * 9 / 10);  // fall by at most x0.9 per update
  }
  grtt_measured_ = true;
  // Receivers time us out by the GRTT we advertise: an announce round armed with the initial
  // (larger) GRTT must not leave a gap longer than the new one allows.
  if (phase_ == Phase::announce) set_timer(std::min(timer_, now + 3 * grtt_ns_));
}

// ---- input ----

void SenderSession::on_datagram(wire::MutBytes pkt, TimeNs now) {
  if (phase_ == Phase::idle || phase_ == Phase::finished) return;
  crypto::Aead* aead = cfg_.aead;
  if (cfg_.handshake != nullptr) {  // each receiver's packets carry its ID in the nonce
    auto h = wire::decode_header(pkt);
    aead = h ? cfg_.handshake->client_aead(h->src_id) : nullptr;
  }
  auto o = proto::open_packet(pkt, aead);
  if (!o || o->header.group_id != cfg_.group_id || o->header.version != cfg_.version) {
    ++stats_.dropped_packets;
    return;
  }
  // With keys in force only the handshake (and an ABORT before keys) may travel in the clear.
  if (encrypted() && !o->was_encrypted && o->type != wire::MsgType::register_ &&
      o->type != wire::MsgType::client_key &&
      !(o->type == wire::MsgType::abort && phase_ == Phase::announce)) {
    ++stats_.dropped_packets;
    return;
  }
  auto m = wire::decode_body(cfg_.version, o->type, o->body);
  if (!m) {
    ++stats_.dropped_packets;
    return;
  }
  const std::uint32_t id = o->header.src_id;
  if (auto* r = std::get_if<wire::Register>(&*m)) {
    handle_register(id, *r, now);
  } else if (auto* ck = std::get_if<wire::ClientKey>(&*m)) {
    handle_client_key(id, *ck, o->body, o->was_encrypted);
  } else if (auto* k = std::get_if<wire::KeyInfoAck>(&*m); k != nullptr && o->was_encrypted) {
    handle_keyinfo_ack(id, *k, now);
  } else if (auto* a = std::get_if<wire::FileInfoAck>(&*m)) {
    handle_fileinfo_ack(id, *a, now);
  } else if (auto* s = std::get_if<wire::StatusMsg>(&*m)) {
    handle_status(id, *s, now);
  } else if (auto* c = std::get_if<wire::Complete>(&*m)) {
    handle_complete(id, *c, now);
  } else if (auto* ab = std::get_if<wire::Abort>(&*m)) {
    handle_abort(id, *ab);
  } else {
    ++stats_.dropped_packets;
  }
}

void SenderSession::handle_register(std::uint32_t id, const wire::Register& m, TimeNs now) {
  if (auto idx = find(id)) {
    if (active(*idx)) {  // our REG_CONF (or KEYINFO) was lost
      queue(
          {.type = cfg_.handshake ? wire::MsgType::keyinfo : wire::MsgType::reg_conf, .ids = {id}});
    }
    return;
  }
  if (phase_ != Phase::announce) {
    queue({.type = wire::MsgType::abort, .host = id, .text = "Registration closed"});
    return;
  }
  if (!cfg_.closed_group.empty()) {
    auto it = std::lower_bound(never_registered_.begin(), never_registered_.end(), id);
    if (it == never_registered_.end() || *it != id) {
      queue({.type = wire::MsgType::abort, .host = id, .text = "Not in host list"});
      return;
    }
  }
  if (cfg_.handshake != nullptr) {
    // Keys first: the receiver is admitted when its KEYINFO_ACK proves it holds them.
    std::string why;
    if (auto st = cfg_.handshake->add_client(id, m.keyinfo, m.rand2, &why); !st) {
      // Unusable key material (possibly damaged on the way; REGISTER has no integrity): the
      // receiver registers again on the next ANNOUNCE.
      ++stats_.dropped_packets;
      return;
    }
    pending_keys_[id] = {m.ts_echo_us, now};
    // With client authentication, KEYINFO waits for a CLIENT_KEY that verifies.
    if (cfg_.handshake->ready(id)) queue({.type = wire::MsgType::keyinfo, .ids = {id}});
    return;
  }
  admit(id, m.ts_echo_us, now);
}

void SenderSession::handle_client_key(std::uint32_t id, const wire::ClientKey& ck, wire::Bytes body,
                                      bool was_encrypted) {
  if (cfg_.handshake == nullptr || !cfg_.handshake->client_auth() || phase_ != Phase::announce ||
      pending_keys_.count(id) == 0 || cfg_.handshake->ready(id)) {
    return;  // not asked for, not registered, or a repeat
  }
  // v4 sends it in the clear; v5 under the receiver's handshake key.
  if (was_encrypted != (cfg_.version == wire::Version::v5)) {
    ++stats_.dropped_packets;
    return;
  }
  std::string why;
  if (auto st = cfg_.handshake->on_client_key(id, ck, body, &why); !st) {
    if (st.error() == Errc::auth_failed && why.rfind("key ", 0) == 0) {
      // Not the key the client list names: refused for good, and said so.
      pending_keys_.erase(id);
      events_.push_back({.kind = SenderEvent::Kind::client_aborted, .client = id, .text = why});
      queue({.type = wire::MsgType::abort, .host = id, .text = "Client key not allowed"});
    } else {
      ++stats_.dropped_packets;  // perhaps damage on the way: it comes again
    }
    return;
  }
  queue({.type = wire::MsgType::keyinfo, .ids = {id}});
}

void SenderSession::handle_keyinfo_ack(std::uint32_t id, const wire::KeyInfoAck& m, TimeNs now) {
  auto it = pending_keys_.find(id);
  if (it == pending_keys_.end() || phase_ != Phase::announce) return;  // a repeat: fine
  if (!cfg_.handshake->verify_ok(id, m.verify)) {
    ++stats_.dropped_packets;
    return;
  }
  // The RTT sample is the REGISTER's: move its echo on by the time the KEYINFO round took.
  const auto held_us = static_cast<std::uint64_t>((now - it->second.at) / proto::kUs);
  const std::uint64_t echo = it->second.ts_echo_us + held_us;
  pending_keys_.erase(it);
  admit(id, echo, now);
}

void SenderSession::admit(std::uint32_t id, std::uint64_t ts_echo_us, TimeNs now) {
  if (!cfg_.closed_group.empty()) {
    auto it = std::lower_bound(never_registered_.begin(), never_registered_.end(), id);
    if (it != never_registered_.end() && *it == id) never_registered_.erase(it);
  }
  const std::size_t idx = clients_.size();
  clients_.push_back(
      {.id = id, .files = std::vector<FileOutcome>(entries_.size(), FileOutcome::pending)});
  step_.push_back(Step::idle);
  answered_.push_back(false);
  silent_.push_back(0);
  index_.emplace(id, idx);
  update_rtt(idx, ts_echo_us, now);
  if (cfg_.handshake == nullptr) queue({.type = wire::MsgType::reg_conf, .ids = {id}});
  events_.push_back({.kind = SenderEvent::Kind::client_registered, .client = id});
  if (!cfg_.closed_group.empty() && never_registered_.empty()) {
    set_timer(std::min(timer_, now + grtt_ns_));  // everyone is in: one more GRTT, then go
  }
}

void SenderSession::handle_fileinfo_ack(std::uint32_t id, const wire::FileInfoAck& m, TimeNs now) {
  auto idx = find(id);
  if (!idx || !active(*idx) || m.file_id != current_file_id()) return;
  if (phase_ != Phase::fileinfo && phase_ != Phase::data) return;
  update_rtt(*idx, m.ts_echo_us, now);
  silent_[*idx] = 0;
  if (step_[*idx] != Step::wait_ack) return;
  step_[*idx] = Step::receiving;
  answered_[*idx] = (m.flags & wire::kFileInfoAckPartial) != 0;
  if (phase_ == Phase::fileinfo) maybe_advance(now);
}

void SenderSession::handle_status(std::uint32_t id, const wire::StatusMsg& m, TimeNs now) {
  ++stats_.status_received;
  auto idx = find(id);
  if (!idx || !active(*idx) || phase_ != Phase::data || m.file_id != current_file_id()) return;
  if (step_[*idx] != Step::receiving || m.section >= layout_.sections()) return;
  const std::uint32_t n = layout_.section_blocks(m.section);
  const std::uint64_t missing = count_wire_bits(m.naks, n);
  stats_.naks_received += missing;
  clients_[*idx].naks += missing;
  next_blocks_.merge_wire(layout_.section_first_block(m.section), n, m.naks);
  answered_[*idx] = true;
  silent_[*idx] = 0;
  if (missing * 100 > std::uint64_t{cfg_.max_nak_pct} * n &&
      ++clients_[*idx].nak_events >= cfg_.max_nak_count) {
    drop_client(*idx, ClientState::aborted, "Too many NAKs", true);
  }
  maybe_advance(now);
}

void SenderSession::handle_complete(std::uint32_t id, const wire::Complete& m, TimeNs now) {
  auto idx = find(id);
  if (!idx) return;
  auto& c = clients_[*idx];
  if (m.file_id == 0) {
    if (phase_ != Phase::session_end && phase_ != Phase::linger) return;
    if (c.state == ClientState::registered && step_[*idx] == Step::wait_ack) {
      c.state = ClientState::done;
      step_[*idx] = Step::complete;
    }
    if (c.state == ClientState::done) queue({.type = wire::MsgType::done_conf, .ids = {id}});
    maybe_advance(now);
    return;
  }
  if (!active(*idx) || m.file_id != current_file_id()) return;
  if (phase_ != Phase::fileinfo && phase_ != Phase::data) return;
  silent_[*idx] = 0;
  if (step_[*idx] == Step::complete) return;
  step_[*idx] = Step::complete;
  c.files[entry_] = outcome_from_status(m.status);
  maybe_advance(now);
}

void SenderSession::handle_abort(std::uint32_t id, const wire::Abort& m) {
  auto idx = find(id);
  if (!idx) return;
  drop_client(*idx, ClientState::aborted, "receiver aborted: " + std::string(m.text), false);
}

// ---- timers ----

TimeNs SenderSession::next_deadline() const noexcept {
  if (!outq_.empty()) return 0;  // packets are ready now
  return timer_;
}

void SenderSession::on_deadline(TimeNs now) {
  if (now < timer_) return;
  timer_ = proto::kNever;
  switch (phase_) {
    case Phase::announce:
      if ((!cfg_.closed_group.empty() && never_registered_.empty()) ||
          announce_rounds_ >= cfg_.robust) {
        end_announce(now);
      } else {
        send_announce(now);
      }
      break;
    case Phase::fileinfo:
    case Phase::session_end:
      for (std::size_t i = 0; i < clients_.size(); ++i) {
        if (active(i) && step_[i] == Step::wait_ack && ++silent_[i] >= cfg_.robust) {
          drop_client(i, ClientState::lost,
                      phase_ == Phase::fileinfo ? "no response to FILEINFO" : "no response to DONE",
                      false);
        }
      }
      if (phase_ == Phase::fileinfo) {
        send_fileinfo(now);
      } else if (phase_ == Phase::session_end) {
        send_session_done(now);
      }
      break;
    case Phase::data: {
      if (job_running_) break;
      for (std::size_t i = 0; i < clients_.size(); ++i) {
        if (active(i) && step_[i] == Step::receiving && !answered_[i] &&
            ++silent_[i] >= cfg_.robust) {
          drop_client(i, ClientState::lost, "no response to DONE", false);
        }
      }
      if (phase_ != Phase::data) break;
      if (ids_at(Step::receiving).empty()) {
        finish_file(now);
      } else if (!next_blocks_.none()) {
        start_pass(now);
      } else {
        send_done(now);
      }
      break;
    }
    case Phase::linger:
      phase_ = Phase::finished;
      events_.push_back({.kind = SenderEvent::Kind::session_finished,
                         .text = all_succeeded() ? "all receivers got all files"
                                                 : "some receivers did not get every file"});
      break;
    case Phase::idle:
    case Phase::finished:
      break;
  }
}

bool SenderSession::all_succeeded() const noexcept {
  if (clients_.empty() || !never_registered_.empty()) return false;
  for (const auto& c : clients_) {
    if (c.state != ClientState::done) return false;
    for (auto f : c.files) {
      if (f != FileOutcome::copied && f != FileOutcome::overwrote && f != FileOutcome::skipped) {
        return false;
      }
    }
  }
  return true;
}

// ---- output ----

std::optional<DataJob> SenderSession::poll_job() {
  auto j = job_;
  job_.reset();
  return j;
}

std::optional<SenderEvent> SenderSession::poll_event() {
  if (events_.empty()) return std::nullopt;
  auto e = std::move(events_.front());
  events_.pop_front();
  return e;
}

bool SenderSession::sign_keyinfo(wire::MutBytes pkt) const {
  auto m = wire::decode_body(cfg_.version, wire::MsgType::keyinfo, pkt.subspan(wire::kHeaderLen));
  if (!m) return false;
  const auto& k = std::get<wire::KeyInfo>(*m);
  if (k.sig.size() != cfg_.handshake->sig_len()) return false;
  const auto at = static_cast<std::size_t>(k.sig.data() - pkt.data());
  return static_cast<bool>(cfg_.handshake->sign_keyinfo(pkt, at));
}

bool SenderSession::sign_announce(wire::MutBytes pkt) const {
  // Find the signature field by decoding what we just encoded, then sign the whole packet.
  auto m = wire::decode_body(cfg_.version, wire::MsgType::announce, pkt.subspan(wire::kHeaderLen));
  if (!m) return false;
  const auto& a = std::get<wire::Announce>(*m);
  if (!a.enc_info || a.enc_info->sig.size() != cfg_.handshake->sig_len()) return false;
  const auto at = static_cast<std::size_t>(a.enc_info->sig.data() - pkt.data());
  return static_cast<bool>(cfg_.handshake->sign_announce(pkt, at));
}

std::optional<SenderSession::Out> SenderSession::poll_transmit(wire::MutBytes out, TimeNs now) {
  while (!outq_.empty()) {
    Outgoing o = std::move(outq_.front());
    outq_.pop_front();
    const auto h = header(seq_);
    const auto ids = wire::IdList::from_native(o.ids);
    // Everything after the announce phase goes out sealed (by the dataplane: see Out::encrypt).
    const bool encrypt = phase_ != Phase::announce && encrypted();
    Result<std::size_t> n = Errc::bad_type;
    SendTo to = SendTo::private_group;
    switch (o.type) {
      case wire::MsgType::announce: {
        wire::Announce a;
        a.flags = static_cast<std::uint8_t>((cfg_.sync ? wire::kAnnounceSync : 0) |
                                            (cfg_.sync_preview ? wire::kAnnounceSyncPreview : 0) |
                                            (cfg_.pub_addr.v6 ? wire::kAnnounceIpv6 : 0));
        a.robust = cfg_.robust;
        a.blocksize = cfg_.blocksize;
        a.timestamp_us = ts_us(now);
        a.pub_addr = cfg_.pub_addr;
        a.priv_addr = cfg_.priv_addr;
        std::vector<std::uint8_t> zero_sig;
        if (cfg_.handshake != nullptr) {
          a.enc_info = cfg_.handshake->enc_info();
          zero_sig.assign(cfg_.handshake->sig_len(), 0);
          a.enc_info->sig = zero_sig;
        } else if (cfg_.aead != nullptr) {
          wire::EncInfo ei;  // preshared-key seam: announces "encrypted", no key exchange
          ei.keytype = 6;    // AES-256-GCM
          ei.hashtype = 3;   // SHA-256
          a.enc_info = ei;
        }
        a.ids = ids;
        to = SendTo::public_group;
        n = proto::build_packet(h, a, out, nullptr, iv_ctr_);
        if (n && cfg_.handshake != nullptr && !sign_announce(out.first(*n))) n = Errc::bad_value;
        break;
      }
      case wire::MsgType::keyinfo: {
        // Plaintext, to the private group; one record per receiver, as many as fit a block.
        std::vector<std::uint8_t> entries;
        const std::uint64_t ctr = ++keyinfo_ctr_;
        const std::size_t fit = std::max<std::size_t>(1, cfg_.blocksize / wire::kKeyInfoEntryLen);
        std::vector<std::uint32_t> rest;
        for (std::uint32_t id : o.ids) {
          if (entries.size() / wire::kKeyInfoEntryLen == fit) {
            rest.push_back(id);
            continue;
          }
          if (auto e = cfg_.handshake->keyinfo_entry(id, ctr)) {
            entries.insert(entries.end(), e->begin(), e->end());
          }
        }
        if (!rest.empty())
          outq_.push_front({.type = wire::MsgType::keyinfo, .ids = std::move(rest)});
        // v5 signs KEYINFO (v4 has no signature field).
        std::vector<std::uint8_t> zero_sig(
            cfg_.version == wire::Version::v5 ? cfg_.handshake->sig_len() : 0, 0);
        n = proto::build_packet(h,
                                wire::KeyInfo{.iv_ctr = ctr, .sig = zero_sig, .entries = entries},
                                out, nullptr, iv_ctr_);
        if (n && !zero_sig.empty() && !sign_keyinfo(out.first(*n))) n = Errc::bad_value;
        break;
      }
      case wire::MsgType::reg_conf:
        n = proto::build_packet(h, wire::RegConf{.ids = ids}, out, nullptr, iv_ctr_);
        break;
      case wire::MsgType::fileinfo: {
        const auto& e = entries_[o.file_id - 1];
        wire::FileInfo f;
        f.file_id = o.file_id;
        f.ftype = e.type;
        f.size = e.size;
        f.mtime_s = static_cast<std::uint64_t>(std::max<std::int64_t>(e.mtime_s, 0));
        f.timestamp_us = ts_us(now);
        f.name = e.name;
        f.link = e.link_target;
        f.ids = ids;
        n = proto::build_packet(h, f, out, nullptr, iv_ctr_);
        break;
      }
      case wire::MsgType::done:
        n = proto::build_packet(h,
                                wire::Done{.file_id = o.file_id, .section = o.section, .ids = ids},
                                out, nullptr, iv_ctr_);
        break;
      case wire::MsgType::done_conf:
        n = proto::build_packet(h, wire::DoneConf{.ids = ids}, out, nullptr, iv_ctr_);
        break;
      case wire::MsgType::abort:
        n = proto::build_packet(h, wire::Abort{.flags = o.flags, .host = o.host, .text = o.text},
                                out, nullptr, iv_ctr_);
        break;
      default:
        break;
    }
    if (!n) continue;  // cannot happen with a well-sized buffer; drop rather than wedge
    ++seq_;
    ++stats_.control_packets;
    return Out{to, *n, encrypt && o.type != wire::MsgType::announce};
  }
  return std::nullopt;
}

}  // namespace volley::session
