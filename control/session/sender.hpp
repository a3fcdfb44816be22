// The sender's session state machine (sans-I/O): announce → register → per file
// (FILEINFO → data passes → DONE/STATUS repair) → DONE(file 0) → COMPLETE → DONE_CONF.
//
// Driven entirely by its caller: datagrams and `now` go in; control packets (poll_transmit),
// data jobs for the dataplane (poll_job), timers (next_deadline/on_deadline) and events
// (poll_event) come out. It opens no socket, reads no clock, starts no thread.
// Thread context: one control thread; not thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "control/session/server_handshake.hpp"
#include "control/session/types.hpp"
#include "crypto/aead.hpp"
#include "dataplane/proto/block_bitmap.hpp"
#include "dataplane/proto/file_source.hpp"

namespace volley::session {

struct SenderConfig {
  wire::Version version = wire::Version::v5;
  std::uint32_t server_id = 0;
  std::uint32_t group_id = 0;
  std::uint8_t group_inst = 0;
  std::uint16_t blocksize = 1300;
  std::uint8_t robust = 20;  // control resends; scales timeouts
  DurationNs grtt_init_ns = 500 * proto::kMs;
  DurationNs grtt_min_ns = 10 * proto::kMs;
  DurationNs grtt_max_ns = 15 * proto::kSec;
  std::uint32_t max_passes = 65535;
  std::uint32_t max_nak_pct = 100;  // drop a client NAKing more than this % of a section ...
  std::uint32_t max_nak_count = 1;  // ... this many times
  std::vector<std::uint32_t> closed_group;  // empty = open group
  bool quit_on_error = false;               // abort everyone when any client fails
  bool sync = false;                        // receivers skip files that are not newer
  bool sync_preview = false;                // report what sync would do, send nothing
  wire::IpAddr pub_addr;
  wire::IpAddr priv_addr;
  std::int64_t wall_offset_us = 0;  // added to now/1000 for wire timestamps
  crypto::Aead* aead = nullptr;     // preshared group key (simulator seam); nullptr = none
  // UFTP 4 key exchange (ECDH + ECDSA, AES-GCM): the session encrypts with the keys it
  // negotiates; the dataplane seals with ServerHandshake::make_group_aead(server_id).
  std::shared_ptr<ServerHandshake> handshake;
};

enum class ClientState : std::uint8_t { registered, lost, aborted, done };
[[nodiscard]] std::string_view client_state_name(ClientState s) noexcept;

struct ClientInfo {
  std::uint32_t id = 0;
  ClientState state = ClientState::registered;
  DurationNs rtt_ns = 0;
  std::uint32_t nak_events = 0;
  std::uint64_t naks = 0;          // blocks NAKed, summed over STATUS messages
  std::vector<FileOutcome> files;  // per entry
  std::string reason;              // why lost / aborted
};

struct SenderEvent {
  enum class Kind : std::uint8_t {
    client_registered,
    client_lost,
    client_aborted,
    file_started,
    pass_started,
    file_finished,
    session_finished,
  } kind{};
  std::uint32_t client = 0;
  std::uint16_t file_id = 0;
  std::uint32_t pass = 0;
  std::string text;
};

struct SenderStats {
  std::uint64_t control_packets = 0;
  std::uint64_t announces = 0;
  std::uint64_t status_received = 0;
  std::uint64_t naks_received = 0;  // NAKed blocks summed over STATUS messages
  std::uint64_t repair_blocks = 0;  // blocks scheduled in passes after the first
  std::uint64_t passes = 0;
  std::uint64_t dropped_packets = 0;  // undecodable, unauthenticated or unexpected input
};

class SenderSession {
 public:
  SenderSession(SenderConfig cfg, std::vector<proto::SendEntry> entries);

  void start(TimeNs now);
  // A datagram from a receiver. Decrypted in place when encrypted.
  void on_datagram(wire::MutBytes pkt, TimeNs now);
  // The next control packet, written into `out`; nullopt when none is due.
  struct Out {
    SendTo to;
    std::size_t len;
    // The packet is plaintext and must go out sealed (ENCRYPTED) by the dataplane, which owns
    // the wire order (seq) and the group key's send context.
    bool encrypt = false;
  };
  [[nodiscard]] std::optional<Out> poll_transmit(wire::MutBytes out, TimeNs now);
  [[nodiscard]] std::optional<DataJob> poll_job();
  // The id of the running job (once) when it should stop early: every receiver of it has gone.
  // The dataplane stops that job (if it still runs) and reports its completion as usual.
  [[nodiscard]] std::optional<std::uint64_t> poll_cancel() noexcept {
    if (!std::exchange(cancel_job_, false) || !job_running_) return std::nullopt;
    return job_seq_;
  }
  void on_completion(const DataCompletion& c, TimeNs now);
  [[nodiscard]] TimeNs next_deadline() const noexcept;
  void on_deadline(TimeNs now);
  [[nodiscard]] std::optional<SenderEvent> poll_event();
  // Ends the session now (an operator's interrupt): every receiver still in gets ABORT with
  // `reason`, files not yet delivered count as failed.
  void abort(std::string reason);

  [[nodiscard]] bool finished() const noexcept { return phase_ == Phase::finished; }
  // The session is encrypted: packets after the announce are sealed by the dataplane.
  [[nodiscard]] bool encrypted() const noexcept {
    return cfg_.aead != nullptr || cfg_.handshake != nullptr;
  }
  // True when every client that registered (and every closed-group member) got every file.
  [[nodiscard]] bool all_succeeded() const noexcept;
  [[nodiscard]] const std::vector<ClientInfo>& clients() const noexcept { return clients_; }
  [[nodiscard]] const SenderStats& stats() const noexcept { return stats_; }
  [[nodiscard]] DurationNs grtt_ns() const noexcept { return grtt_ns_; }
  [[nodiscard]] std::uint16_t next_seq() noexcept { return seq_++; }
  // Header used for every packet of this session (seq filled by the caller of next_seq()).
  [[nodiscard]] wire::Header header(std::uint16_t seq) const noexcept;
  [[nodiscard]] const std::vector<std::uint32_t>& unanswered_members() const noexcept {
    return never_registered_;
  }

 private:
  enum class Phase : std::uint8_t { idle, announce, fileinfo, data, session_end, linger, finished };
  struct Outgoing {
    wire::MsgType type;
    std::vector<std::uint32_t> ids;
    std::uint16_t file_id = 0;
    std::uint16_t section = 0;
    std::uint32_t host = 0;
    std::uint8_t flags = 0;
    std::string text;
  };
  // Per-client progress within the current file / final handshake.
  enum class Step : std::uint8_t { idle, wait_ack, receiving, complete };

  void handle_register(std::uint32_t id, const wire::Register& m, TimeNs now);
  void handle_keyinfo_ack(std::uint32_t id, const wire::KeyInfoAck& m, TimeNs now);
  void handle_client_key(std::uint32_t id, const wire::ClientKey& ck, wire::Bytes body,
                         bool was_encrypted);
  void admit(std::uint32_t id, std::uint64_t ts_echo_us, TimeNs now);
  void handle_fileinfo_ack(std::uint32_t id, const wire::FileInfoAck& m, TimeNs now);
  void handle_status(std::uint32_t id, const wire::StatusMsg& m, TimeNs now);
  void handle_complete(std::uint32_t id, const wire::Complete& m, TimeNs now);
  void handle_abort(std::uint32_t id, const wire::Abort& m);

  void send_announce(TimeNs now);
  void end_announce(TimeNs now);
  void start_file(std::size_t entry, TimeNs now);
  void send_fileinfo(TimeNs now);
  void start_pass(TimeNs now);
  void send_done(TimeNs now);
  void finish_file(TimeNs now);
  void start_session_end(TimeNs now);
  void send_session_done(TimeNs now);
  void maybe_advance(TimeNs now);
  void drop_client(std::size_t idx, ClientState why, std::string reason, bool tell);
  void abort_all(std::string reason);
  [[nodiscard]] bool sign_announce(wire::MutBytes pkt) const;
  [[nodiscard]] bool sign_keyinfo(wire::MutBytes pkt) const;
  void check_cancel() noexcept;
  void queue(Outgoing o);
  void update_rtt(std::size_t idx, std::uint64_t ts_echo_us, TimeNs now);
  void set_timer(TimeNs t) noexcept { timer_ = t; }
  [[nodiscard]] std::uint64_t ts_us(TimeNs now) const noexcept;
  [[nodiscard]] std::vector<std::uint32_t> ids_at(Step s) const;
  [[nodiscard]] bool active(std::size_t idx) const noexcept {
    return clients_[idx].state == ClientState::registered;
  }
  [[nodiscard]] std::optional<std::size_t> find(std::uint32_t id) const;
  [[nodiscard]] std::uint16_t current_file_id() const noexcept {
    return static_cast<std::uint16_t>(entry_ + 1);
  }

  SenderConfig cfg_;
  std::vector<proto::SendEntry> entries_;
  Phase phase_ = Phase::idle;
  std::vector<ClientInfo> clients_;
  std::vector<Step> step_;             // per client
  std::vector<bool> answered_;         // per client: answered since the last DONE
  std::vector<std::uint32_t> silent_;  // per client: rounds without an answer
  std::unordered_map<std::uint32_t, std::size_t> index_;
  std::vector<std::uint32_t> never_registered_;  // closed-group members still silent
  // Encrypted sessions: registered, keys derived, KEYINFO sent, no valid KEYINFO_ACK yet.
  struct PendingKey {
    std::uint64_t ts_echo_us;  // of the REGISTER, moved on by the time held
    TimeNs at;
  };
  std::unordered_map<std::uint32_t, PendingKey> pending_keys_;
  std::uint64_t keyinfo_ctr_ = 0;
  std::deque<Outgoing> outq_;
  std::deque<SenderEvent> events_;
  std::optional<DataJob> job_;  // ready for poll_job
  bool job_running_ = false;
  bool cancel_job_ = false;
  std::uint64_t job_seq_ = 0;

  std::size_t entry_ = 0;
  wire::FileLayout layout_{};
  std::uint32_t pass_ = 0;
  bool full_first_pass_ = true;        // false when every receiver resumes a partial file
  std::uint32_t announce_rounds_ = 0;  // ANNOUNCE rounds sent so far
  proto::BlockBitmap pass_blocks_;     // blocks of the running pass (immutable while running)
  proto::BlockBitmap next_blocks_;     // NAKs gathered for the next pass
  TimeNs timer_ = proto::kNever;
  DurationNs grtt_ns_;
  bool grtt_measured_ = false;
  std::uint16_t seq_ = 0;
  std::uint64_t iv_ctr_ = 0;
  SenderStats stats_;
};

}  // namespace volley::session
