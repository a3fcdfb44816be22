// The receiver's control state machine (sans-I/O), for any number of concurrent sessions.
//
// Input: every packet that is not FILESEG, already opened (decrypted) by the dataplane
// (on_control), and the dataplane's RxEvents (new highest section, file full, write failed).
// Output: response packets unicast to each session's server (poll_transmit), RxCommands for the
// dataplane (poll_command), timers, and events. It opens no socket and reads no clock; the
// file system is reached only through proto::FileStore.
// Thread context: one control thread; not thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "control/session/types.hpp"
#include "crypto/aead.hpp"
#include "crypto/keys.hpp"
#include "crypto/random.hpp"
#include "dataplane/proto/block_bitmap.hpp"
#include "dataplane/proto/file_store.hpp"
#include "dataplane/proto/framing.hpp"

namespace volley::session {

struct ReceiverConfig {
  std::uint32_t client_id = 0;
  std::size_t max_sessions = 100;
  DurationNs timer_floor_ns = 1 * proto::kSec;  // no client timer is shorter (as UFTP)
  bool require_encryption = false;              // refuse plaintext sessions
  crypto::Aead* aead = nullptr;                 // null-AEAD seam: the group key, if any
  std::vector<std::uint32_t> allowed_servers;   // empty = any server
  // Encrypted sessions (UFTP 4 key exchange): sender ID -> the SHA-1 fingerprint its signing
  // key must have. Empty: any sender key is accepted (its fingerprint is logged).
  std::unordered_map<std::uint32_t, std::vector<std::uint8_t>> server_keys;
  crypto::RandomSource random = crypto::random_bytes;
  // Our signing key, for senders that ask receivers to prove one (CLIENT_KEY; uftp -c).
  std::shared_ptr<const crypto::PrivateKey> key;
  std::int64_t wall_offset_us = 0;
};

struct ReceiverEvent {
  enum class Kind : std::uint8_t {
    session_started,
    file_done,         // outcome says how
    file_rejected,     // with a reason in text
    session_finished,  // ok says whether every accepted file arrived complete
    session_refused,   // an ANNOUNCE we would not join (bad signature, unknown key, ...): text
  } kind{};
  std::uint32_t group_id = 0;
  std::uint16_t file_id = 0;
  std::string name;
  FileOutcome outcome = FileOutcome::pending;
  bool ok = false;
  std::string text;
};

struct ReceiverStats {
  std::uint64_t dropped = 0;  // undecodable / unexpected / unauthenticated control input
  std::uint64_t status_sent = 0;
  std::uint64_t naks_sent = 0;  // missing blocks reported, summed over STATUS messages
  std::uint64_t sessions_ok = 0;
  std::uint64_t sessions_failed = 0;
};

class Receiver {
 public:
  Receiver(ReceiverConfig cfg, proto::FileStore& store);
  ~Receiver();

  void on_control(const PeerAddr& from, const proto::Opened& pkt, TimeNs now);
  void on_rx_event(const RxEvent& ev, TimeNs now);
  // The dataplane saw traffic for this group (called at most every few ms per group).
  void on_activity(std::uint32_t group_id, TimeNs now);

  struct Out {
    PeerAddr to;
    std::size_t len;
  };
  [[nodiscard]] std::optional<Out> poll_transmit(wire::MutBytes out, TimeNs now);
  [[nodiscard]] std::optional<RxCommand> poll_command();
  [[nodiscard]] TimeNs next_deadline() const noexcept;
  void on_deadline(TimeNs now);
  [[nodiscard]] std::optional<ReceiverEvent> poll_event();
  // Leaves every session (the daemon is stopping): each server gets ABORT with `why` as the
  // packets are polled, partial files are kept for a later resume, and each session finishes.
  void shutdown(std::string why);

  [[nodiscard]] std::size_t active_sessions() const noexcept { return sessions_.size(); }
  [[nodiscard]] const ReceiverStats& stats() const noexcept { return stats_; }
  // Multicast groups the I/O layer should be joined to (private addresses of live sessions).
  [[nodiscard]] std::vector<wire::IpAddr> joined_groups() const;
  // Changes whenever joined_groups() may have changed (a session was created or ended).
  [[nodiscard]] std::uint64_t groups_epoch() const noexcept { return groups_epoch_; }

 private:
  struct Session;
  struct Outgoing {
    std::uint32_t group_id;
    wire::MsgType type;
    std::uint16_t file_id = 0;
    std::uint16_t section = 0;
    wire::CompStatus status = wire::CompStatus::normal;
    std::uint8_t flags = 0;
    std::uint64_t ts_echo_us = 0;
    std::string text;
    std::vector<std::uint8_t> verify;  // KEYINFO_ACK
  };

  void handle_announce(const PeerAddr& from, const proto::Opened& o, const wire::Announce& a,
                       TimeNs now);
  void handle_keyinfo(Session& s, const proto::Opened& o, TimeNs now);
  [[nodiscard]] static std::vector<std::uint8_t> whole_packet(const proto::Opened& o);
  void refuse_announce(const wire::Header& h, std::string why, TimeNs now);
  void handle_fileinfo(Session& s, const wire::FileInfo& f, TimeNs now);
  void handle_done(Session& s, const wire::Done& d, TimeNs now);
  void handle_abort(Session& s, const wire::Abort& a, TimeNs now);
  void complete_file(Session& s, wire::CompStatus st, TimeNs now);
  void reject_file(Session& s, std::uint16_t file_id, std::string_view name, std::string why);
  void abandon_file(Session& s, bool keep_partial);
  void queue_status(Session& s, std::uint32_t from_section, std::uint32_t to_section);
  void finish(Session& s, bool ok, std::string why);
  void arm(Session& s, TimeNs t);
  [[nodiscard]] bool listed(const wire::IdList& ids) const noexcept;
  [[nodiscard]] std::uint64_t ts_us(TimeNs now) const noexcept;
  [[nodiscard]] DurationNs floor(DurationNs d) const noexcept;

  ReceiverConfig cfg_;
  proto::FileStore& store_;
  std::unordered_map<std::uint32_t, std::unique_ptr<Session>> sessions_;
  std::unordered_map<std::uint32_t, TimeNs> finished_;  // group -> until when to ignore it
  std::deque<Outgoing> outq_;
  std::deque<RxCommand> commands_;
  std::deque<ReceiverEvent> events_;
  std::vector<std::unique_ptr<Session>> graveyard_;  // finished, freed once the dataplane let go
  std::vector<std::uint8_t> status_scratch_;
  std::uint64_t iv_ctr_ = 0;
  std::uint16_t seq_ = 0;
  std::uint64_t groups_epoch_ = 0;
  ReceiverStats stats_;
};

}  // namespace volley::session
