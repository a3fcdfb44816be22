// UdpSocket: the kernel-socket packet backend (the embedded default; ARCHITECTURE.md §3 "udp").
//
// One non-blocking UDP socket driven in bursts: send_burst() hands any number of packets to the
// kernel with sendmmsg, merging runs of equal-sized, contiguous packets to one destination
// into one UDP GSO send (UDP_SEGMENT) where the kernel allows it; recv_burst() drains up to a
// batch of datagrams with recvmmsg into an RxBatch's preallocated buffers, splitting buffers that
// the kernel coalesced with UDP GRO back into the original datagrams. Each received datagram
// carries its sender and its destination address (IP_PKTINFO / IPV6_PKTINFO), so the caller
// can tell a multicast datagram from a unicast one.
//
// Multicast: a socket receives only the groups it joined itself (IP_MULTICAST_ALL and
// IPV6_MULTICAST_ALL off), so sockets sharing a port on one host do not see each other's groups.
//
// Addresses: an IPv4 address lives in IpAddr::bytes[0..3] with v6 = false (network order, as in
// ANNOUNCE); an IPv6 one fills all 16 bytes with v6 = true. An AF_INET6 socket is dual-stack
// (IPV6_V6ONLY off): IPv4 destinations are sent as v4-mapped addresses, and v4-mapped senders
// come back as plain IPv4 endpoints.
//
// Threading: one thread may call send_burst() while another calls recv_burst() on the same
// socket (sendmmsg and recvmmsg on one fd are safe; the TX scratch lives in the socket, the RX
// scratch in the RxBatch; each side writes only its own half of the counters). stats() and
// caps() may be read from any thread. join/leave belong to one control thread and may run while
// bursts are in flight (they only call setsockopt on the fd); destruction must wait for both
// burst threads to be done. An RxBatch is used by one thread at a time.
//
// Per-packet paths (send_burst, recv_burst) never allocate, throw or lock.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/wire/messages.hpp"
#include "dataplane/wire/result.hpp"

namespace volley::io {

// ---- addresses ----

// Parses dotted-quad IPv4 or RFC 4291 IPv6 text (inet_pton; no brackets, zone or port).
// Errors: Errc::bad_value.
[[nodiscard]] Result<wire::IpAddr> parse_ip(std::string_view text);
// "1.2.3.4" or "::1" (inet_ntop).
[[nodiscard]] std::string format_ip(const wire::IpAddr& ip);
// "1.2.3.4:1044" or "[::1]:1044".
[[nodiscard]] std::string format_endpoint(const wire::Endpoint& ep);
// 224.0.0.0/4 or ff00::/8.
[[nodiscard]] bool is_multicast(const wire::IpAddr& ip) noexcept;
// Writes a sockaddr_in (v6 = false) or sockaddr_in6 (scope id 0) at the start of `out` and
// returns its length; the rest of `out` is left as it was.
[[nodiscard]] socklen_t to_sockaddr(const wire::Endpoint& ep, sockaddr_storage& out) noexcept;
// Reads AF_INET or AF_INET6 (the IPv6 scope id is dropped); a v4-mapped IPv6 address
// (::ffff:a.b.c.d) comes back as IPv4. Any other family gives a zero endpoint.
[[nodiscard]] wire::Endpoint from_sockaddr(const sockaddr_storage& in) noexcept;

// ---- configuration and capabilities ----

struct UdpConfig {
  wire::IpAddr bind_ip;    // all-zero = any address; v6 picks AF_INET6 (dual-stack)
  std::uint16_t port = 0;  // 0 = ephemeral
  std::string interface;   // outgoing multicast interface: a name ("eth0") or one of its
                           // addresses; "" = kernel default
  int ttl = 1;             // multicast TTL / hop limit, 0..255
  int dscp = 0;            // 0..63, sent as TOS / traffic class dscp << 2
  int sndbuf = 32 << 20;   // bytes asked of the kernel; <= 0 keeps the kernel default
  int rcvbuf = 32 << 20;
  bool gso = true;  // use UDP GSO (UDP_SEGMENT) when the kernel has it
  bool gro = true;  // accept UDP GRO coalesced receives (UDP_GRO) when the kernel has it
  bool multicast_loop = true;
  bool reuse_port = false;  // SO_REUSEPORT (SO_REUSEADDR is always set)
};

struct UdpCaps {
  bool gso = false;  // UDP_SEGMENT accepted and not since disabled by an EIO from the device
  bool gro = false;  // UDP_GRO accepted
  int sndbuf = 0;    // bytes, as the kernel reports them (getsockopt; twice what it was asked)
  int rcvbuf = 0;
};

// Counters, monotonic. tx_packets counts datagrams (GSO segments each count), tx_errors the
// packets dropped for a bad destination or a send error, tx_gso_sends the GSO messages handed
// to the kernel. rx_truncated counts datagrams dropped because they did not fit a slot (MSG_TRUNC)
// or the batch's view array; rx_errors receive calls failing with anything but EAGAIN.
struct UdpStats {
  std::uint64_t tx_packets = 0;
  std::uint64_t tx_bytes = 0;
  std::uint64_t tx_syscalls = 0;
  std::uint64_t tx_errors = 0;
  std::uint64_t tx_gso_sends = 0;
  std::uint64_t rx_packets = 0;
  std::uint64_t rx_bytes = 0;
  std::uint64_t rx_syscalls = 0;
  std::uint64_t rx_truncated = 0;
  std::uint64_t rx_errors = 0;
};

// One datagram to send. `data` must stay valid for the duration of send_burst().
struct TxPacket {
  const std::uint8_t* data = nullptr;
  std::uint32_t len = 0;
  wire::Endpoint to;
};

// One received datagram: a view into its RxBatch slot, valid until the batch's next recv_burst.
// The bytes are mutable so the caller can decrypt in place.
struct RxDatagram {
  std::span<std::uint8_t> data;
  wire::Endpoint from;
  wire::IpAddr dst;  // destination address of the datagram (a group for multicast); all-zero
                     // when the kernel gave no packet info
};

// Preallocated receive buffers and recvmmsg scratch. `slots` kernel receives per call (1..1024),
// each of up to `slot_bytes` (1..65536). With GRO a slot may hold up to 64 datagrams, so keep
// slot_bytes at 64 KiB on a GRO socket or coalesced buffers get truncated. Movable, not copyable.
class RxBatch {
 public:
  static constexpr std::size_t kMaxSegmentsPerSlot = 64;

  explicit RxBatch(std::size_t slots = 32, std::size_t slot_bytes = 65536);
  ~RxBatch();
  RxBatch(RxBatch&&) noexcept;
  RxBatch& operator=(RxBatch&&) noexcept;
  RxBatch(const RxBatch&) = delete;
  RxBatch& operator=(const RxBatch&) = delete;

  // Datagrams from the last recv_burst.
  [[nodiscard]] std::size_t size() const noexcept { return count_; }
  [[nodiscard]] bool empty() const noexcept { return count_ == 0; }
  [[nodiscard]] RxDatagram& operator[](std::size_t i) noexcept { return views_[i]; }
  [[nodiscard]] const RxDatagram& operator[](std::size_t i) const noexcept { return views_[i]; }
  [[nodiscard]] std::span<RxDatagram> datagrams() noexcept { return {views_.data(), count_}; }
  [[nodiscard]] std::size_t slots() const noexcept { return slots_; }
  [[nodiscard]] std::size_t slot_bytes() const noexcept { return slot_bytes_; }

 private:
  friend class UdpSocket;
  struct Scratch;
  std::size_t slots_ = 0;
  std::size_t slot_bytes_ = 0;
  std::size_t count_ = 0;
  std::size_t dirty_ = 0;  // leading slots whose msghdr the kernel rewrote last time
  std::unique_ptr<Scratch> scratch_;
  std::vector<RxDatagram> views_;  // slots * kMaxSegmentsPerSlot
};

class UdpSocket {
 public:
  static constexpr std::size_t kMaxMsgsPerCall = 64;  // mmsghdrs per sendmmsg
  static constexpr std::size_t kMaxGsoSegments = 64;
  static constexpr std::size_t kMaxGsoBytes = 65000;  // a GSO message stays below this

  // Creates, configures and binds the socket. Errors (with a sentence in `why` naming the call,
  // address and errno text): bad_value (ttl/dscp out of range), not_found (unknown interface),
  // io_error (socket, setsockopt, bind). Buffer sizes the kernel capped are not errors: see
  // warnings().
  [[nodiscard]] static Result<std::unique_ptr<UdpSocket>> open(const UdpConfig& config,
                                                               std::string& why);
  ~UdpSocket();
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  // Joins / leaves `group` on `interface` (a name or an address; "" = every up, multicast-capable
  // interface with an address of the group's family, or the kernel's choice when there is none).
  // Joining twice and leaving a group not joined are not errors. Errors (sentence in *why when
  // given): bad_value (not a multicast address, IPv6 group on an IPv4 socket), not_found
  // (unknown interface), io_error (setsockopt failed on every interface tried).
  [[nodiscard]] Status join(const wire::IpAddr& group, std::string_view interface,
                            std::string* why = nullptr);
  [[nodiscard]] Status leave(const wire::IpAddr& group, std::string_view interface,
                             std::string* why = nullptr);

  // Sends a prefix of `pkts` and returns its length: the packets handed to the kernel plus those
  // dropped on the way (bad destination: port 0, IPv6 on an IPv4 socket; or a send error such as
  // EACCES or EMSGSIZE — counted in tx_errors). It stops early only when the kernel pushes back
  // (EAGAIN/ENOBUFS); resume from pkts[returned] once the socket is writable. Runs of packets with
  // the same destination and length, contiguous in memory (pkts[i+1].data == pkts[i].data +
  // pkts[i].len; the last of a run may be shorter), go as one GSO message of up to 64 segments
  // and < 65000 bytes. A GSO send failing with EIO (no checksum offload) turns GSO off for the
  // socket; one failing with EINVAL or EMSGSIZE (segment larger than the path MTU) stops GSO
  // for segments of that size and larger. Either way the run is resent unsegmented.
  [[nodiscard]] std::size_t send_burst(std::span<const TxPacket> pkts) noexcept;

  // Receives what is pending (recvmmsg, MSG_DONTWAIT) into `batch` and returns batch.size(): 0
  // when nothing is pending or on error (counted). Datagrams that did not fit a slot are
  // dropped and counted in rx_truncated.
  [[nodiscard]] std::size_t recv_burst(RxBatch& batch) noexcept;

  // poll(POLLIN): true when readable (or an error is pending), false on timeout or EINTR.
  // Errors: io_error.
  [[nodiscard]] Result<bool> wait_readable(int timeout_ms) noexcept;

  [[nodiscard]] int fd() const noexcept { return fd_; }
  [[nodiscard]] bool v6() const noexcept { return v6_; }
  [[nodiscard]] wire::Endpoint local() const noexcept;  // getsockname
  [[nodiscard]] UdpCaps caps() const noexcept;
  [[nodiscard]] UdpStats stats() const noexcept;
  // Non-fatal findings of open(), e.g. "receive buffer capped at 425984 bytes (asked 33554432);
  // raise it with: sysctl -w net.core.rmem_max=33554432".
  [[nodiscard]] const std::vector<std::string>& warnings() const noexcept { return warnings_; }

 private:
  struct TxScratch;
  using Counter = std::atomic<std::uint64_t>;  // single writer: load + store, no RMW
  struct alignas(64) TxCounters {
    Counter packets{0}, bytes{0}, syscalls{0}, errors{0}, gso_sends{0};
  };
  struct alignas(64) RxCounters {
    Counter packets{0}, bytes{0}, syscalls{0}, truncated{0}, errors{0};
  };

  UdpSocket(int fd, bool v6);
  [[nodiscard]] Status membership(const wire::IpAddr& group, std::string_view interface, bool join,
                                  std::string* why);
  [[nodiscard]] socklen_t dest_sockaddr(const wire::Endpoint& to,
                                        sockaddr_storage& out) const noexcept;
  [[nodiscard]] std::size_t build_msgs(std::span<const TxPacket> pkts, std::size_t from, bool gso,
                                       std::uint32_t gso_max_seg) noexcept;

  int fd_ = -1;
  bool v6_ = false;
  bool gro_ = false;
  int sndbuf_ = 0;
  int rcvbuf_ = 0;
  std::atomic<bool> gso_{false};               // TX side writes
  std::atomic<std::uint32_t> gso_max_seg_{0};  // TX side writes; largest segment to GSO
  std::vector<std::string> warnings_;
  std::unique_ptr<TxScratch> tx_;
  TxCounters tx_stats_;
  RxCounters rx_stats_;
};

}  // namespace volley::io
