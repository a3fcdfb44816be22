#include "dataplane/io/udp_socket.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/udp.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif
#ifndef IP_MULTICAST_ALL
#define IP_MULTICAST_ALL 49
#endif
#ifndef IPV6_MULTICAST_ALL
#define IPV6_MULTICAST_ALL 29
#endif

namespace volley::io {

namespace {

using wire::Endpoint;
using wire::IpAddr;

constexpr std::size_t kMaxSlots = 1024;  // UIO_MAXIOV: recvmmsg's vlen limit
constexpr std::size_t kMaxSlotBytes = 65536;
constexpr std::uint32_t kNoGsoCeiling = 65535;

// Receive control space: IP_PKTINFO or IPV6_PKTINFO, plus UDP_GRO, with room to spare.
constexpr std::size_t kRxCmsgBytes =
    CMSG_SPACE(sizeof(in6_pktinfo)) + CMSG_SPACE(sizeof(in_pktinfo)) + CMSG_SPACE(sizeof(int));
constexpr std::size_t kTxCmsgBytes = CMSG_SPACE(sizeof(std::uint16_t));

struct alignas(cmsghdr) RxCmsg {
  std::array<unsigned char, kRxCmsgBytes> b;
};
struct alignas(cmsghdr) TxCmsg {
  std::array<unsigned char, kTxCmsgBytes> b;
};

[[nodiscard]] std::string errno_text(int e) {
  return std::error_code(e, std::generic_category()).message();
}

void fail(std::string* why, std::string what, int e) {
  if (why) *why = std::move(what) + " failed: " + errno_text(e);
}

// Single-writer counter bump: no read-modify-write instruction, readers see a torn-free value.
inline void bump(std::atomic<std::uint64_t>& c, std::uint64_t n) noexcept {
  if (n != 0) c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

[[nodiscard]] int set_int(int fd, int level, int opt, int value) noexcept {
  return ::setsockopt(fd, level, opt, &value, sizeof value) == 0 ? 0 : errno;
}

[[nodiscard]] int get_int(int fd, int level, int opt) noexcept {
  int value = 0;
  socklen_t len = sizeof value;
  return ::getsockopt(fd, level, opt, &value, &len) == 0 ? value : 0;
}

[[nodiscard]] IpAddr v4_addr(const in_addr& a) noexcept {
  IpAddr ip;
  std::memcpy(ip.bytes.data(), &a, 4);
  return ip;
}

[[nodiscard]] IpAddr v6_addr(const in6_addr& a) noexcept {
  IpAddr ip;
  ip.v6 = true;
  std::memcpy(ip.bytes.data(), &a, 16);
  return ip;
}

[[nodiscard]] bool is_v4_mapped(const IpAddr& ip) noexcept {
  static constexpr std::array<std::uint8_t, 12> kPrefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return ip.v6 && std::equal(kPrefix.begin(), kPrefix.end(), ip.bytes.begin());
}

// The address of an interface entry, when it is IPv4 or IPv6.
[[nodiscard]] bool ifaddr_ip(const sockaddr* sa, IpAddr& out) noexcept {
  if (sa == nullptr) return false;
  sockaddr_storage ss{};
  if (sa->sa_family == AF_INET) {
    std::memcpy(&ss, sa, sizeof(sockaddr_in));
  } else if (sa->sa_family == AF_INET6) {
    std::memcpy(&ss, sa, sizeof(sockaddr_in6));
  } else {
    return false;
  }
  out = from_sockaddr(ss).ip;
  return true;
}

// An interface to join on or send from: its index and, for IPv4, optionally an address.
struct IfaceSel {
  unsigned ifindex = 0;
  bool has_v4 = false;
  in_addr v4{};
};

// Owns a getifaddrs() list.
class IfAddrs {
 public:
  IfAddrs() noexcept {
    if (::getifaddrs(&list_) != 0) list_ = nullptr;
  }
  ~IfAddrs() {
    if (list_) ::freeifaddrs(list_);
  }
  IfAddrs(const IfAddrs&) = delete;
  IfAddrs& operator=(const IfAddrs&) = delete;
  [[nodiscard]] const ifaddrs* head() const noexcept { return list_; }

 private:
  ifaddrs* list_ = nullptr;
};

// `name` is an interface name or one of its addresses. An IPv4 address that no interface holds
// is passed to the kernel as is (ifindex 0) when only IPv4 is wanted.
[[nodiscard]] Result<IfaceSel> resolve_interface(std::string_view name, bool want_v6,
                                                 std::string* why) {
  IfaceSel sel;
  if (auto ip = parse_ip(name)) {
    const IfAddrs ifs;
    for (const ifaddrs* a = ifs.head(); a != nullptr; a = a->ifa_next) {
      IpAddr have;
      if (ifaddr_ip(a->ifa_addr, have) && have == *ip) {
        sel.ifindex = ::if_nametoindex(a->ifa_name);
        break;
      }
    }
    if (!ip->v6) {
      sel.has_v4 = true;
      std::memcpy(&sel.v4, ip->bytes.data(), 4);
    }
    if (sel.ifindex == 0 && (ip->v6 || want_v6)) {
      if (why) *why = "no interface has address " + format_ip(*ip);
      return Errc::not_found;
    }
    return sel;
  }
  const std::string n(name);
  sel.ifindex = ::if_nametoindex(n.c_str());
  if (sel.ifindex == 0) {
    fail(why, "if_nametoindex(" + n + ")", errno);
    return Errc::not_found;
  }
  return sel;
}

// Every up, multicast-capable interface holding an address of the wanted family, by index.
[[nodiscard]] std::vector<unsigned> multicast_interfaces(bool v6) {
  std::vector<unsigned> out;
  const IfAddrs ifs;
  for (const ifaddrs* a = ifs.head(); a != nullptr; a = a->ifa_next) {
    IpAddr have;
    if (!ifaddr_ip(a->ifa_addr, have) || have.v6 != v6) continue;
    if ((a->ifa_flags & IFF_UP) == 0 || (a->ifa_flags & IFF_MULTICAST) == 0) continue;
    const unsigned idx = ::if_nametoindex(a->ifa_name);
    if (idx != 0 && std::find(out.begin(), out.end(), idx) == out.end()) out.push_back(idx);
  }
  return out;
}

// IP_ADD/DROP_MEMBERSHIP or IPV6_JOIN/LEAVE_GROUP on one interface: 0 or errno. Already joined
// (join) and not joined (leave) count as success.
[[nodiscard]] int apply_membership(int fd, const IpAddr& group, const IfaceSel& sel,
                                   bool join) noexcept {
  int rc = 0;
  if (group.v6) {
    ipv6_mreq m{};
    std::memcpy(&m.ipv6mr_multiaddr, group.bytes.data(), 16);
    m.ipv6mr_interface = sel.ifindex;
    rc = ::setsockopt(fd, IPPROTO_IPV6, join ? IPV6_JOIN_GROUP : IPV6_LEAVE_GROUP, &m, sizeof m);
  } else {
    ip_mreqn m{};
    std::memcpy(&m.imr_multiaddr, group.bytes.data(), 4);
    if (sel.has_v4) m.imr_address = sel.v4;
    m.imr_ifindex = static_cast<int>(sel.ifindex);
    rc = ::setsockopt(fd, IPPROTO_IP, join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP, &m, sizeof m);
  }
  if (rc == 0) return 0;
  const int e = errno;
  if (join && e == EADDRINUSE) return 0;
  if (!join && e == EADDRNOTAVAIL) return 0;
  return e;
}

// Asks for `asked` bytes (the privileged *BUFFORCE first), reads back what the kernel granted,
// and adds a warning when it is less.
int size_buffer(int fd, bool send, int asked, std::vector<std::string>& warnings) {
  const int opt = send ? SO_SNDBUF : SO_RCVBUF;
  if (asked > 0 && set_int(fd, SOL_SOCKET, send ? SO_SNDBUFFORCE : SO_RCVBUFFORCE, asked) != 0) {
    if (const int e = set_int(fd, SOL_SOCKET, opt, asked); e != 0) {
      warnings.push_back(std::string("setsockopt(") + (send ? "SO_SNDBUF" : "SO_RCVBUF") + ", " +
                         std::to_string(asked) + ") failed: " + errno_text(e));
    }
  }
  const int got = get_int(fd, SOL_SOCKET, opt);
  if (asked > 0 && got < asked) {
    warnings.push_back(std::string(send ? "send" : "receive") + " buffer capped at " +
                       std::to_string(got) + " bytes (asked " + std::to_string(asked) +
                       "); raise it with: sysctl -w net.core." +
                       (send ? "wmem_max=" : "rmem_max=") + std::to_string(asked));
  }
  return got;
}

// Owns a descriptor until released.
class FdGuard {
 public:
  explicit FdGuard(int fd) noexcept : fd_(fd) {}
  ~FdGuard() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

}  // namespace

// ---- addresses ----

Result<IpAddr> parse_ip(std::string_view text) {
  // inet_pton needs a terminated string; the longest IPv6 text is 45 characters.
  std::array<char, INET6_ADDRSTRLEN + 1> buf{};
  if (text.empty() || text.size() >= buf.size()) return Errc::bad_value;
  std::memcpy(buf.data(), text.data(), text.size());
  IpAddr ip;
  if (::inet_pton(AF_INET, buf.data(), ip.bytes.data()) == 1) return ip;
  ip.v6 = true;
  if (::inet_pton(AF_INET6, buf.data(), ip.bytes.data()) == 1) return ip;
  return Errc::bad_value;
}

std::string format_ip(const IpAddr& ip) {
  std::array<char, INET6_ADDRSTRLEN> buf{};
  if (::inet_ntop(ip.v6 ? AF_INET6 : AF_INET, ip.bytes.data(), buf.data(),
                  static_cast<socklen_t>(buf.size())) == nullptr) {
    return "?";
  }
  return std::string(buf.data());
}

std::string format_endpoint(const Endpoint& ep) {
  const std::string port = std::to_string(ep.port);
  return ep.ip.v6 ? "[" + format_ip(ep.ip) + "]:" + port : format_ip(ep.ip) + ":" + port;
}

bool is_multicast(const IpAddr& ip) noexcept {
  return ip.v6 ? ip.bytes[0] == 0xff : (ip.bytes[0] & 0xf0) == 0xe0;
}

socklen_t to_sockaddr(const Endpoint& ep, sockaddr_storage& out) noexcept {
  if (ep.ip.v6) {
    sockaddr_in6 sin6{};
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(ep.port);
    std::memcpy(&sin6.sin6_addr, ep.ip.bytes.data(), 16);
    std::memcpy(&out, &sin6, sizeof sin6);
    return sizeof sin6;
  }
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(ep.port);
  std::memcpy(&sin.sin_addr, ep.ip.bytes.data(), 4);
  std::memcpy(&out, &sin, sizeof sin);
  return sizeof sin;
}

Endpoint from_sockaddr(const sockaddr_storage& in) noexcept {
  Endpoint ep;
  if (in.ss_family == AF_INET) {
    sockaddr_in sin{};
    std::memcpy(&sin, &in, sizeof sin);
    ep.ip = v4_addr(sin.sin_addr);
    ep.port = ntohs(sin.sin_port);
  } else if (in.ss_family == AF_INET6) {
    sockaddr_in6 sin6{};
    std::memcpy(&sin6, &in, sizeof sin6);
    ep.ip = v6_addr(sin6.sin6_addr);
    ep.port = ntohs(sin6.sin6_port);
    if (is_v4_mapped(ep.ip)) {
      IpAddr v4;
      std::memcpy(v4.bytes.data(), ep.ip.bytes.data() + 12, 4);
      ep.ip = v4;
    }
  }
  return ep;
}

// ---- RxBatch ----

struct RxBatch::Scratch {
  std::vector<std::uint8_t> buf;  // slots * slot_bytes
  std::vector<mmsghdr> msgs;
  std::vector<iovec> iov;
  std::vector<sockaddr_storage> names;
  std::vector<RxCmsg> cmsg;
};

RxBatch::RxBatch(std::size_t slots, std::size_t slot_bytes)
    : slots_(std::clamp<std::size_t>(slots, 1, kMaxSlots)),
      slot_bytes_(std::clamp<std::size_t>(slot_bytes, 1, kMaxSlotBytes)),
      dirty_(slots_),
      scratch_(std::make_unique<Scratch>()),
      views_(slots_ * kMaxSegmentsPerSlot) {
  Scratch& s = *scratch_;
  s.buf.resize(slots_ * slot_bytes_);
  s.msgs.resize(slots_);
  s.iov.resize(slots_);
  s.names.resize(slots_);
  s.cmsg.resize(slots_);
  for (std::size_t k = 0; k < slots_; ++k) {
    s.iov[k] = {s.buf.data() + k * slot_bytes_, slot_bytes_};
    msghdr& h = s.msgs[k].msg_hdr;
    h.msg_name = &s.names[k];
    h.msg_iov = &s.iov[k];
    h.msg_iovlen = 1;
    h.msg_control = s.cmsg[k].b.data();
  }
}

RxBatch::~RxBatch() = default;
RxBatch::RxBatch(RxBatch&&) noexcept = default;
RxBatch& RxBatch::operator=(RxBatch&&) noexcept = default;

// ---- UdpSocket ----

struct UdpSocket::TxScratch {
  std::array<mmsghdr, kMaxMsgsPerCall> msgs{};
  std::array<iovec, kMaxMsgsPerCall> iov{};
  std::array<sockaddr_storage, kMaxMsgsPerCall> names{};
  std::array<TxCmsg, kMaxMsgsPerCall> cmsg{};
  std::array<std::size_t, kMaxMsgsPerCall> first{};  // packets pkts[first, first + count)
  std::array<std::size_t, kMaxMsgsPerCall> count{};
};

UdpSocket::UdpSocket(int fd, bool v6) : fd_(fd), v6_(v6), tx_(std::make_unique<TxScratch>()) {}

UdpSocket::~UdpSocket() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::unique_ptr<UdpSocket>> UdpSocket::open(const UdpConfig& config, std::string& why) {
  if (config.ttl < 0 || config.ttl > 255) {
    why = "multicast TTL " + std::to_string(config.ttl) + " is outside 0..255";
    return Errc::bad_value;
  }
  if (config.dscp < 0 || config.dscp > 63) {
    why = "DSCP " + std::to_string(config.dscp) + " is outside 0..63";
    return Errc::bad_value;
  }
  const bool v6 = config.bind_ip.v6;
  const char* fam = v6 ? "AF_INET6" : "AF_INET";
  const int raw =
      ::socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
  if (raw < 0) {
    fail(&why, std::string("socket(") + fam + ", SOCK_DGRAM)", errno);
    return Errc::io_error;
  }
  FdGuard guard(raw);
  const int fd = raw;
  const Endpoint bind_ep{config.bind_ip, config.port};
  const std::string where = format_endpoint(bind_ep);

  // Required options: failing any of them fails open().
  struct Opt {
    bool wanted;
    int level;
    int opt;
    int value;
    const char* name;
  };
  const int tos = config.dscp << 2;
  const int loop = config.multicast_loop ? 1 : 0;
  const std::array<Opt, 7> required{{
      {true, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR"},
      {config.reuse_port, SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT"},
      {true, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_MULTICAST_HOPS : IP_MULTICAST_TTL,
       config.ttl, v6 ? "IPV6_MULTICAST_HOPS" : "IP_MULTICAST_TTL"},
      {true, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_TCLASS : IP_TOS, tos,
       v6 ? "IPV6_TCLASS" : "IP_TOS"},
      {true, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_MULTICAST_LOOP : IP_MULTICAST_LOOP, loop,
       v6 ? "IPV6_MULTICAST_LOOP" : "IP_MULTICAST_LOOP"},
      {true, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_RECVPKTINFO : IP_PKTINFO, 1,
       v6 ? "IPV6_RECVPKTINFO" : "IP_PKTINFO"},
      {v6, IPPROTO_IPV6, IPV6_V6ONLY, 0, "IPV6_V6ONLY"},
  }};
  for (const Opt& o : required) {
    if (!o.wanted) continue;
    if (const int e = set_int(fd, o.level, o.opt, o.value); e != 0) {
      fail(&why,
           std::string("setsockopt(") + o.name + ", " + std::to_string(o.value) + ") on " + where,
           e);
      return Errc::io_error;
    }
  }
  // Deliver only the groups this socket joined. Linux defaults to every group any socket on
  // the host joined, for all sockets bound to the port (Linux >= 2.6.31 / 4.20 for IPv6; older
  // kernels keep the default).
  (void)set_int(fd, IPPROTO_IP, IP_MULTICAST_ALL, 0);
  if (v6) {
    (void)set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_ALL, 0);
    // IPv4 traffic on the dual-stack socket: best effort, the IPv6 settings above are the point.
    (void)set_int(fd, IPPROTO_IP, IP_MULTICAST_TTL, config.ttl);
    (void)set_int(fd, IPPROTO_IP, IP_TOS, tos);
    (void)set_int(fd, IPPROTO_IP, IP_MULTICAST_LOOP, loop);
    (void)set_int(fd, IPPROTO_IP, IP_PKTINFO, 1);
  }

  if (!config.interface.empty()) {
    auto sel = resolve_interface(config.interface, v6, &why);
    if (!sel) return sel.error();
    int rc = 0;
    if (v6) {
      const int idx = static_cast<int>(sel->ifindex);
      rc = ::setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &idx, sizeof idx);
    } else {
      ip_mreqn m{};
      if (sel->has_v4) m.imr_address = sel->v4;
      m.imr_ifindex = static_cast<int>(sel->ifindex);
      rc = ::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &m, sizeof m);
    }
    if (rc != 0) {
      fail(&why,
           std::string("setsockopt(") + (v6 ? "IPV6_MULTICAST_IF" : "IP_MULTICAST_IF") + ", " +
               config.interface + ")",
           errno);
      return Errc::io_error;
    }
  }

  std::vector<std::string> warnings;
  const int sndbuf = size_buffer(fd, true, config.sndbuf, warnings);
  const int rcvbuf = size_buffer(fd, false, config.rcvbuf, warnings);

  // UDP_SEGMENT 0 keeps per-send segmentation off by default; accepting it shows GSO support.
  const bool gso = config.gso && set_int(fd, SOL_UDP, UDP_SEGMENT, 0) == 0;
  const bool gro = config.gro && set_int(fd, SOL_UDP, UDP_GRO, 1) == 0;

  sockaddr_storage ss{};
  const socklen_t len = to_sockaddr(bind_ep, ss);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&ss), len) != 0) {
    fail(&why, "bind(" + where + ")", errno);
    return Errc::io_error;
  }

  std::unique_ptr<UdpSocket> sock(new UdpSocket(guard.release(), v6));
  sock->gro_ = gro;
  sock->sndbuf_ = sndbuf;
  sock->rcvbuf_ = rcvbuf;
  sock->gso_.store(gso, std::memory_order_relaxed);
  sock->gso_max_seg_.store(kNoGsoCeiling, std::memory_order_relaxed);
  sock->warnings_ = std::move(warnings);
  return sock;
}

Status UdpSocket::join(const IpAddr& group, std::string_view interface, std::string* why) {
  return membership(group, interface, true, why);
}

Status UdpSocket::leave(const IpAddr& group, std::string_view interface, std::string* why) {
  return membership(group, interface, false, why);
}

Status UdpSocket::membership(const IpAddr& group, std::string_view interface, bool join,
                             std::string* why) {
  const char* verb = join ? "join" : "leave";
  if (!is_multicast(group)) {
    if (why) *why = std::string("cannot ") + verb + " " + format_ip(group) + ": not multicast";
    return Errc::bad_value;
  }
  if (group.v6 && !v6_) {
    if (why)
      *why =
          std::string("cannot ") + verb + " IPv6 group " + format_ip(group) + " on an IPv4 socket";
    return Errc::bad_value;
  }
  const std::string what = std::string(join ? "join" : "leave") + " " + format_ip(group);
  if (!interface.empty()) {
    auto sel = resolve_interface(interface, group.v6, why);
    if (!sel) return sel.error();
    if (const int e = apply_membership(fd_, group, *sel, join); e != 0) {
      fail(why, what + " on " + std::string(interface), e);
      return Errc::io_error;
    }
    return {};
  }
  const std::vector<unsigned> ifs = multicast_interfaces(group.v6);
  if (ifs.empty()) {
    if (const int e = apply_membership(fd_, group, IfaceSel{}, join); e != 0) {
      fail(why, what + " on the default interface", e);
      return Errc::io_error;
    }
    return {};
  }
  std::size_t done = 0;
  int last_error = 0;
  unsigned last_index = 0;
  for (const unsigned idx : ifs) {
    if (const int e = apply_membership(fd_, group, IfaceSel{.ifindex = idx}, join); e != 0) {
      last_error = e;
      last_index = idx;
    } else {
      ++done;
    }
  }
  if (done == 0) {
    std::array<char, IF_NAMESIZE> name{};
    const char* n = ::if_indextoname(last_index, name.data());
    fail(why, what + " on " + (n ? std::string(n) : std::to_string(last_index)), last_error);
    return Errc::io_error;
  }
  return {};
}

socklen_t UdpSocket::dest_sockaddr(const Endpoint& to, sockaddr_storage& out) const noexcept {
  if (to.port == 0) return 0;
  if (!to.ip.v6 && v6_) {  // IPv4 through the dual-stack socket: ::ffff:a.b.c.d
    Endpoint mapped{.ip = {.v6 = true}, .port = to.port};
    mapped.ip.bytes[10] = 0xff;
    mapped.ip.bytes[11] = 0xff;
    std::memcpy(mapped.ip.bytes.data() + 12, to.ip.bytes.data(), 4);
    return to_sockaddr(mapped, out);
  }
  if (to.ip.v6 && !v6_) return 0;
  return to_sockaddr(to, out);
}

// Fills tx_->msgs from pkts[from...]; stops at 64 messages, the end, or a packet with a bad
// destination (which then heads the next call, where it yields 0 messages).
std::size_t UdpSocket::build_msgs(std::span<const TxPacket> pkts, std::size_t from, bool gso,
                                  std::uint32_t gso_max_seg) noexcept {
  TxScratch& s = *tx_;
  std::size_t m = 0;
  std::size_t i = from;
  while (m < kMaxMsgsPerCall && i < pkts.size()) {
    const TxPacket& p = pkts[i];
    const socklen_t name_len = dest_sockaddr(p.to, s.names[m]);
    if (name_len == 0) break;
    std::size_t run = 1;
    std::size_t total = p.len;
    if (gso && p.len > 0 && p.len <= gso_max_seg) {
      while (i + run < pkts.size() && run < kMaxGsoSegments) {
        const TxPacket& prev = pkts[i + run - 1];
        const TxPacket& q = pkts[i + run];
        if (prev.len != p.len) break;  // a shorter packet ends its run
        if (q.len == 0 || q.len > p.len || total + q.len >= kMaxGsoBytes) break;
        if (q.data != prev.data + prev.len || !(q.to == p.to)) break;
        total += q.len;
        ++run;
      }
    }
    msghdr& h = s.msgs[m].msg_hdr;
    h.msg_name = &s.names[m];
    h.msg_namelen = name_len;
    s.iov[m].iov_base = const_cast<std::uint8_t*>(p.data);  // sendmsg never writes through it
    s.iov[m].iov_len = total;
    h.msg_iov = &s.iov[m];
    h.msg_iovlen = 1;
    h.msg_flags = 0;
    if (run > 1) {
      auto* c = reinterpret_cast<cmsghdr*>(s.cmsg[m].b.data());
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
      const auto seg = static_cast<std::uint16_t>(p.len);
      std::memcpy(CMSG_DATA(c), &seg, sizeof seg);
      h.msg_control = c;
      h.msg_controllen = kTxCmsgBytes;
    } else {
      h.msg_control = nullptr;
      h.msg_controllen = 0;
    }
    s.first[m] = i;
    s.count[m] = run;
    i += run;
    ++m;
  }
  return m;
}

std::size_t UdpSocket::send_burst(std::span<const TxPacket> pkts) noexcept {
  TxScratch& s = *tx_;
  std::uint64_t packets = 0, bytes = 0, syscalls = 0, errors = 0, gso_sends = 0;
  bool gso = gso_.load(std::memory_order_relaxed);
  std::uint32_t gso_max_seg = gso_max_seg_.load(std::memory_order_relaxed);
  std::size_t done = 0;
  bool blocked = false;
  while (done < pkts.size() && !blocked) {
    const std::size_t m = build_msgs(pkts, done, gso, gso_max_seg);
    if (m == 0) {  // bad destination at the head
      ++errors;
      ++done;
      continue;
    }
    std::size_t k = 0;
    while (k < m) {
      const int r = ::sendmmsg(fd_, &s.msgs[k], static_cast<unsigned>(m - k), MSG_DONTWAIT);
      ++syscalls;
      if (r > 0) {
        for (std::size_t j = k; j < k + static_cast<std::size_t>(r); ++j) {
          packets += s.count[j];
          bytes += s.iov[j].iov_len;
          if (s.count[j] > 1) ++gso_sends;
        }
        k += static_cast<std::size_t>(r);
        done = s.first[k - 1] + s.count[k - 1];
        continue;
      }
      const int e = r < 0 ? errno : EAGAIN;
      if (e == EINTR) continue;
      if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS) {
        blocked = true;
        break;
      }
      if (s.count[k] > 1 && (e == EIO || e == EINVAL || e == EMSGSIZE)) {
        // The device cannot segment (EIO), or this segment size exceeds the path MTU (EINVAL
        // before Linux 6.x, EMSGSIZE since): rebuild from this run without (that size of) GSO.
        if (e == EIO) {
          gso = false;
          gso_.store(false, std::memory_order_relaxed);
        } else {
          gso_max_seg = pkts[s.first[k]].len - 1;
          gso_max_seg_.store(gso_max_seg, std::memory_order_relaxed);
        }
        break;
      }
      errors += s.count[k];
      done = s.first[k] + s.count[k];
      ++k;
    }
  }
  bump(tx_stats_.packets, packets);
  bump(tx_stats_.bytes, bytes);
  bump(tx_stats_.syscalls, syscalls);
  bump(tx_stats_.errors, errors);
  bump(tx_stats_.gso_sends, gso_sends);
  return done;
}

std::size_t UdpSocket::recv_burst(RxBatch& batch) noexcept {
  RxBatch::Scratch& s = *batch.scratch_;
  batch.count_ = 0;
  for (std::size_t k = 0; k < batch.dirty_; ++k) {
    msghdr& h = s.msgs[k].msg_hdr;
    h.msg_namelen = sizeof(sockaddr_storage);
    h.msg_controllen = kRxCmsgBytes;
    h.msg_flags = 0;
  }
  batch.dirty_ = 0;
  int r = 0;
  std::uint64_t syscalls = 0;
  do {
    r = ::recvmmsg(fd_, s.msgs.data(), static_cast<unsigned>(batch.slots_), MSG_DONTWAIT, nullptr);
    ++syscalls;
  } while (r < 0 && errno == EINTR);
  bump(rx_stats_.syscalls, syscalls);
  if (r <= 0) {
    if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) bump(rx_stats_.errors, 1);
    batch.dirty_ = 1;  // be safe: a failed call may have touched the first header
    return 0;
  }
  const auto got = static_cast<std::size_t>(r);
  batch.dirty_ = got;
  std::uint64_t truncated = 0, bytes = 0;
  std::size_t n = 0;
  const std::size_t cap = batch.views_.size();
  for (std::size_t k = 0; k < got; ++k) {
    msghdr& h = s.msgs[k].msg_hdr;
    if ((h.msg_flags & MSG_TRUNC) != 0) {
      ++truncated;
      continue;
    }
    std::size_t seg = 0;
    IpAddr dst;
    for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
      if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
        int v = 0;
        std::memcpy(&v, CMSG_DATA(c), sizeof v);
        if (v > 0) seg = static_cast<std::size_t>(v);
      } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
        in_pktinfo pi{};
        std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
        dst = v4_addr(pi.ipi_addr);
      } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
        in6_pktinfo pi{};
        std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
        dst = v6_addr(pi.ipi6_addr);
      }
    }
    const Endpoint from = from_sockaddr(s.names[k]);
    std::uint8_t* base = s.buf.data() + k * batch.slot_bytes_;
    const std::size_t len = s.msgs[k].msg_len;
    if (seg == 0 || seg >= len) seg = len;  // one datagram (possibly empty)
    std::size_t off = 0;
    do {
      const std::size_t part = std::min(seg, len - off);
      if (n == cap) {
        ++truncated;
      } else {
        batch.views_[n++] = RxDatagram{{base + off, part}, from, dst};
        bytes += part;
      }
      off += part;
    } while (off < len);
  }
  batch.count_ = n;
  bump(rx_stats_.packets, n);
  bump(rx_stats_.bytes, bytes);
  bump(rx_stats_.truncated, truncated);
  return n;
}

Result<bool> UdpSocket::wait_readable(int timeout_ms) noexcept {
  pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
  const int r = ::poll(&p, 1, timeout_ms);
  if (r < 0) return errno == EINTR ? Result<bool>(false) : Result<bool>(Errc::io_error);
  return r > 0;
}

Endpoint UdpSocket::local() const noexcept {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return {};
  return from_sockaddr(ss);
}

UdpCaps UdpSocket::caps() const noexcept {
  return UdpCaps{.gso = gso_.load(std::memory_order_relaxed),
                 .gro = gro_,
                 .sndbuf = sndbuf_,
                 .rcvbuf = rcvbuf_};
}

UdpStats UdpSocket::stats() const noexcept {
  constexpr auto kRelaxed = std::memory_order_relaxed;
  return UdpStats{.tx_packets = tx_stats_.packets.load(kRelaxed),
                  .tx_bytes = tx_stats_.bytes.load(kRelaxed),
                  .tx_syscalls = tx_stats_.syscalls.load(kRelaxed),
                  .tx_errors = tx_stats_.errors.load(kRelaxed),
                  .tx_gso_sends = tx_stats_.gso_sends.load(kRelaxed),
                  .rx_packets = rx_stats_.packets.load(kRelaxed),
                  .rx_bytes = rx_stats_.bytes.load(kRelaxed),
                  .rx_syscalls = rx_stats_.syscalls.load(kRelaxed),
                  .rx_truncated = rx_stats_.truncated.load(kRelaxed),
                  .rx_errors = rx_stats_.errors.load(kRelaxed)};
}

}  // namespace volley::io
