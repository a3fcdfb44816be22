// UdpSocket: address helpers, then real sockets on loopback (127.0.0.1 and ::1): burst round
// trips, UDP GSO runs, GRO splitting, bad destinations, truncation, buffer warnings, one sender
// and one receiver thread on one socket, and multicast with two receivers sharing a port inside
// a private network namespace (root only). No traffic leaves loopback or that namespace.
#include "dataplane/io/udp_socket.hpp"

#include <gtest/gtest.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <tuple>
#include <vector>

namespace volley::io {
namespace {

using wire::Endpoint;
using wire::IpAddr;
using Bytes = std::vector<std::uint8_t>;

IpAddr ip(const char* text) {
  auto r = parse_ip(text);
  EXPECT_TRUE(r.ok()) << text;
  return r.ok() ? *r : IpAddr{};
}

// A copy of one received datagram.
struct Got {
  Bytes bytes;
  Endpoint from;
  IpAddr dst;
};

// Receives until `want` datagrams arrived or `timeout_ms` passed without any.
std::vector<Got> collect(UdpSocket& sock, RxBatch& batch, std::size_t want, int timeout_ms = 1000) {
  std::vector<Got> out;
  while (out.size() < want) {
    const std::size_t n = sock.recv_burst(batch);
    if (n == 0) {
      auto ready = sock.wait_readable(timeout_ms);
      if (!ready.ok() || !*ready) break;
      continue;
    }
    for (std::size_t i = 0; i < n; ++i) {
      out.push_back(
          Got{Bytes(batch[i].data.begin(), batch[i].data.end()), batch[i].from, batch[i].dst});
    }
  }
  return out;
}

// Sends every packet, waiting for the socket when the kernel pushes back.
std::size_t send_all(UdpSocket& sock, std::span<const TxPacket> pkts) {
  std::size_t done = 0;
  for (int spins = 0; done < pkts.size() && spins < 1000; ++spins) {
    done += sock.send_burst(pkts.subspan(done));
    if (done < pkts.size()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return done;
}

// Deterministic content: byte j of packet i.
std::uint8_t pattern(std::size_t i, std::size_t j) {
  return static_cast<std::uint8_t>((i * 131 + j * 7 + (j >> 8)) & 0xff);
}

// Lays packets of the given sizes back to back in `buf` (so equal neighbours form GSO runs).
std::vector<TxPacket> lay_out(Bytes& buf, const std::vector<std::uint32_t>& sizes,
                              const Endpoint& to) {
  std::size_t total = 0;
  for (const auto s : sizes) total += s;
  buf.assign(total, 0);
  std::vector<TxPacket> pkts;
  std::size_t off = 0;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    for (std::size_t j = 0; j < sizes[i]; ++j) buf[off + j] = pattern(i, j);
    pkts.push_back(TxPacket{buf.data() + off, sizes[i], to});
    off += sizes[i];
  }
  return pkts;
}

// Checks that `got` holds exactly the packets of `pkts`, in order.
void expect_same(const std::vector<TxPacket>& pkts, const std::vector<Got>& got) {
  ASSERT_EQ(got.size(), pkts.size());
  for (std::size_t i = 0; i < pkts.size(); ++i) {
    ASSERT_EQ(got[i].bytes.size(), pkts[i].len) << "datagram " << i;
    ASSERT_TRUE(std::equal(got[i].bytes.begin(), got[i].bytes.end(), pkts[i].data))
        << "datagram " << i;
  }
}

// Lays `sizes` out back to back, sends them from `tx` to `rx` in one burst and checks that `rx`
// receives exactly those bytes, in order. Returns what arrived.
std::vector<Got> round_trip(UdpSocket& tx, UdpSocket& rx, const std::vector<std::uint32_t>& sizes) {
  Bytes buf;
  const auto pkts = lay_out(buf, sizes, rx.local());
  EXPECT_EQ(tx.send_burst(pkts), pkts.size());
  RxBatch batch;
  auto got = collect(rx, batch, pkts.size());
  expect_same(pkts, got);
  return got;
}

std::unique_ptr<UdpSocket> open_socket(const UdpConfig& config) {
  std::string why;
  auto r = UdpSocket::open(config, why);
  if (!r.ok()) {
    ADD_FAILURE() << "open: " << why;
    return nullptr;
  }
  return std::move(r).value();
}

UdpConfig loopback(bool v6) {
  UdpConfig c;
  c.bind_ip = ip(v6 ? "::1" : "127.0.0.1");
  return c;
}

bool have_ipv6_loopback() {
  std::string why;
  return UdpSocket::open(loopback(true), why).ok();
}

std::string errno_msg(const std::string& what) {
  return what + ": " + std::error_code(errno, std::generic_category()).message();
}

// Runs `fn` in a forked child and returns its complaint: "" when it passed, "SKIP: ..." when it
// could not run. The child never returns into the test runner.
template <typename Fn>
std::string in_child(Fn fn) {
  int fds[2];
  if (pipe(fds) != 0) return errno_msg("pipe");
  const pid_t pid = fork();
  if (pid < 0) return errno_msg("fork");
  if (pid == 0) {
    close(fds[0]);
    const std::string msg = fn();
    if (!msg.empty()) (void)!write(fds[1], msg.data(), msg.size());
    _exit(msg.empty() ? 0 : 1);
  }
  close(fds[1]);
  std::string msg(1024, '\0');
  const ssize_t n = read(fds[0], msg.data(), msg.size());
  msg.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  close(fds[0]);
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return errno_msg("waitpid");
  if (!WIFEXITED(status)) return "child died: status " + std::to_string(status);
  if (WEXITSTATUS(status) != 0 && msg.empty()) return "child failed without a message";
  return msg;
}

// ---------------------------------------------------------------------------------------------
// addresses

TEST(UdpAddress, ParseFormatRoundTrip) {
  for (const char* text :
       {"1.2.3.4", "0.0.0.0", "255.255.255.255", "239.99.1.1", "::1", "::", "fe80::1",
        "2001:db8::8:800:200c:417a", "ff15::1234", "::ffff:1.2.3.4"}) {
    auto r = parse_ip(text);
    ASSERT_TRUE(r.ok()) << text;
    EXPECT_EQ(format_ip(*r), text);
  }
  const IpAddr v4 = ip("10.99.0.7");
  EXPECT_FALSE(v4.v6);
  EXPECT_EQ(v4.bytes[0], 10);
  EXPECT_EQ(v4.bytes[3], 7);
  EXPECT_EQ(v4.bytes[4], 0);
  EXPECT_TRUE(ip("::1").v6);
  EXPECT_EQ(ip("::1").bytes[15], 1);
  EXPECT_EQ(format_endpoint({ip("1.2.3.4"), 1044}), "1.2.3.4:1044");
  EXPECT_EQ(format_endpoint({ip("::1"), 1044}), "[::1]:1044");
}

TEST(UdpAddress, ParseRejects) {
  for (const char* text : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "::g", " 1.2.3.4", "1.2.3.4 ",
                           "[::1]", "1.2.3.4:80", "fe80::1%lo", "eth0", "1:2:3:4:5:6:7:8:9"}) {
    EXPECT_EQ(parse_ip(text).error(), Errc::bad_value) << '"' << text << '"';
  }
  EXPECT_FALSE(parse_ip(std::string(200, '1')).ok());
}

TEST(UdpAddress, IsMulticast) {
  for (const char* m : {"224.0.0.1", "239.99.1.1", "239.255.255.255", "ff02::1", "ff15::99"}) {
    EXPECT_TRUE(is_multicast(ip(m))) << m;
  }
  for (const char* u : {"223.255.255.255", "240.0.0.1", "127.0.0.1", "::1", "fe80::1", "::"}) {
    EXPECT_FALSE(is_multicast(ip(u))) << u;
  }
}

TEST(UdpAddress, SockaddrRoundTrip) {
  for (const Endpoint& ep : {Endpoint{ip("10.99.0.1"), 1044}, Endpoint{ip("2001:db8::1"), 65535},
                             Endpoint{ip("::"), 0}}) {
    sockaddr_storage ss{};
    const socklen_t len = to_sockaddr(ep, ss);
    EXPECT_EQ(len, ep.ip.v6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in));
    EXPECT_EQ(ss.ss_family, ep.ip.v6 ? AF_INET6 : AF_INET);
    EXPECT_EQ(from_sockaddr(ss), ep) << format_endpoint(ep);
  }
  // Port in network order on the wire side.
  sockaddr_storage ss{};
  (void)to_sockaddr({ip("1.2.3.4"), 0x1234}, ss);
  sockaddr_in sin{};
  std::memcpy(&sin, &ss, sizeof sin);
  EXPECT_EQ(sin.sin_port, htons(0x1234));
  // v4-mapped senders on a dual-stack socket come back as IPv4.
  (void)to_sockaddr({ip("::ffff:10.99.0.5"), 7}, ss);
  EXPECT_EQ(from_sockaddr(ss), (Endpoint{ip("10.99.0.5"), 7}));
  // Unknown family: zero endpoint.
  sockaddr_storage unix_ss{};
  unix_ss.ss_family = AF_UNIX;
  EXPECT_EQ(from_sockaddr(unix_ss), Endpoint{});
}

// ---------------------------------------------------------------------------------------------
// open

TEST(UdpSocketOpen, BindsAndReportsLocalEndpoint) {
  auto sock = open_socket(loopback(false));
  ASSERT_TRUE(sock);
  EXPECT_GE(sock->fd(), 0);
  EXPECT_FALSE(sock->v6());
  const Endpoint local = sock->local();
  EXPECT_EQ(local.ip, ip("127.0.0.1"));
  EXPECT_NE(local.port, 0);
  EXPECT_GT(sock->caps().sndbuf, 0);
  EXPECT_GT(sock->caps().rcvbuf, 0);
  // Nothing pending: recv returns 0 and poll times out.
  RxBatch batch(4, 2048);
  EXPECT_EQ(sock->recv_burst(batch), 0u);
  EXPECT_TRUE(batch.empty());
  auto ready = sock->wait_readable(10);
  ASSERT_TRUE(ready.ok());
  EXPECT_FALSE(*ready);
  std::printf("[ caps     ] gso=%d gro=%d sndbuf=%d rcvbuf=%d\n", sock->caps().gso,
              sock->caps().gro, sock->caps().sndbuf, sock->caps().rcvbuf);
}

TEST(UdpSocketOpen, FailuresNameTheCallAddressAndErrno) {
  UdpConfig c;
  c.bind_ip = ip("203.0.113.7");  // TEST-NET-3: not ours
  std::string why;
  auto r = UdpSocket::open(c, why);
  EXPECT_EQ(r.error(), Errc::io_error);
  EXPECT_NE(why.find("bind(203.0.113.7:0)"), std::string::npos) << why;
  EXPECT_NE(why.find(std::error_code(EADDRNOTAVAIL, std::generic_category()).message()),
            std::string::npos)
      << why;

  c = loopback(false);
  c.interface = "nosuchif0";
  why.clear();
  EXPECT_EQ(UdpSocket::open(c, why).error(), Errc::not_found);
  EXPECT_NE(why.find("nosuchif0"), std::string::npos) << why;

  c = loopback(false);
  c.ttl = 256;
  EXPECT_EQ(UdpSocket::open(c, why).error(), Errc::bad_value);
  c = loopback(false);
  c.dscp = 64;
  EXPECT_EQ(UdpSocket::open(c, why).error(), Errc::bad_value);
}

TEST(UdpSocketOpen, InterfaceByNameOrAddressAndOptions) {
  UdpConfig c = loopback(false);
  c.interface = "lo";
  c.ttl = 7;
  c.dscp = 46;
  c.multicast_loop = false;
  c.reuse_port = true;
  auto sock = open_socket(c);
  ASSERT_TRUE(sock);
  int v = 0;
  socklen_t len = sizeof v;
  ASSERT_EQ(getsockopt(sock->fd(), IPPROTO_IP, IP_MULTICAST_TTL, &v, &len), 0);
  EXPECT_EQ(v, 7);
  ASSERT_EQ(getsockopt(sock->fd(), IPPROTO_IP, IP_TOS, &v, &len), 0);
  EXPECT_EQ(v, 46 << 2);
  ASSERT_EQ(getsockopt(sock->fd(), IPPROTO_IP, IP_MULTICAST_LOOP, &v, &len), 0);
  EXPECT_EQ(v, 0);
  ASSERT_EQ(getsockopt(sock->fd(), SOL_SOCKET, SO_REUSEADDR, &v, &len), 0);
  EXPECT_EQ(v, 1);
  ASSERT_EQ(getsockopt(sock->fd(), SOL_SOCKET, SO_REUSEPORT, &v, &len), 0);
  EXPECT_EQ(v, 1);

  c.interface = "127.0.0.1";  // by address
  EXPECT_TRUE(open_socket(c));

  if (have_ipv6_loopback()) {
    UdpConfig c6 = loopback(true);
    c6.interface = "::1";
    c6.ttl = 9;
    c6.dscp = 10;
    auto s6 = open_socket(c6);
    ASSERT_TRUE(s6);
    ASSERT_EQ(getsockopt(s6->fd(), IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &v, &len), 0);
    EXPECT_EQ(v, 9);
    ASSERT_EQ(getsockopt(s6->fd(), IPPROTO_IPV6, IPV6_TCLASS, &v, &len), 0);
    EXPECT_EQ(v, 10 << 2);
    ASSERT_EQ(getsockopt(s6->fd(), IPPROTO_IPV6, IPV6_MULTICAST_IF, &v, &len), 0);
    EXPECT_EQ(v, static_cast<int>(if_nametoindex("lo")));
  }
}

TEST(UdpSocketOpen, TwoSocketsShareAPort) {
  UdpConfig c;  // wildcard, as several receivers on one host bind
  auto a = open_socket(c);
  ASSERT_TRUE(a);
  c.port = a->local().port;
  auto b = open_socket(c);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->local().port, a->local().port);
}

// Run as an unprivileged user, the *BUFFORCE calls fail and the kernel caps the size at
// net.core.rmem_max: open() must say so. As root, the forced size must hold and no warning
// appears.
TEST(UdpSocketOpen, WarnsWhenTheKernelCapsTheBuffers) {
  int rmem_max = 0;
  std::ifstream("/proc/sys/net/core/rmem_max") >> rmem_max;
  ASSERT_GT(rmem_max, 0);
  const int asked = rmem_max < (1 << 29) ? rmem_max * 2 + 4096 : rmem_max;
  ASSERT_GT(asked, rmem_max);
  const std::string expected =
      "receive buffer capped at " + std::to_string(2 * rmem_max) + " bytes (asked " +
      std::to_string(asked) +
      "); raise it with: sysctl -w net.core.rmem_max=" + std::to_string(asked);

  auto check_capped = [&]() -> std::string {
    UdpConfig c = loopback(false);
    c.rcvbuf = asked;
    c.sndbuf = 0;  // kernel default: no warning
    std::string why;
    auto s = UdpSocket::open(c, why);
    if (!s.ok()) return "open: " + why;
    const auto& w = (*s)->warnings();
    if (w.size() != 1) return "expected one warning, got " + std::to_string(w.size());
    if (w[0] != expected) return "warning was: " + w[0];
    if ((*s)->caps().rcvbuf != 2 * rmem_max) return "rcvbuf " + std::to_string((*s)->caps().rcvbuf);
    return "";
  };

  if (geteuid() != 0) {
    EXPECT_EQ(check_capped(), "");
    return;
  }
  UdpConfig c = loopback(false);
  c.rcvbuf = asked;
  c.sndbuf = asked;
  auto forced = open_socket(c);
  ASSERT_TRUE(forced);
  EXPECT_TRUE(forced->warnings().empty());
  EXPECT_GE(forced->caps().rcvbuf, asked);
  EXPECT_GE(forced->caps().sndbuf, asked);

  // The capped path, in a child that gave up root.
  EXPECT_EQ(in_child([&] {
              return setresuid(65534, 65534, 65534) == 0 ? check_capped()
                                                         : errno_msg("setresuid(nobody)");
            }),
            "");
}

// ---------------------------------------------------------------------------------------------
// unicast bursts on loopback

class UdpLoopback : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam() && !have_ipv6_loopback()) GTEST_SKIP() << "no IPv6 loopback (::1)";
  }
  // Opens rx_ and tx_ on this family's loopback address.
  void open_pair(bool rx_gro = true, bool tx_gso = true) {
    UdpConfig rc = loopback(GetParam());
    rc.gro = rx_gro;
    UdpConfig tc = loopback(GetParam());
    tc.gso = tx_gso;
    rx_ = open_socket(rc);
    tx_ = open_socket(tc);
    ASSERT_TRUE(rx_ && tx_);
  }
  // n packets of len bytes, then one of tail bytes (none when tail is 0).
  static std::vector<std::uint32_t> run_of(std::size_t n, std::uint32_t len, std::uint32_t tail) {
    std::vector<std::uint32_t> sizes(n, len);
    if (tail != 0) sizes.push_back(tail);
    return sizes;
  }
  std::unique_ptr<UdpSocket> rx_, tx_;
};

INSTANTIATE_TEST_SUITE_P(Family, UdpLoopback, ::testing::Values(false, true),
                         [](const auto& p) { return p.param ? "V6" : "V4"; });

TEST_P(UdpLoopback, BurstRoundTripOf200VaryingPackets) {
  ASSERT_NO_FATAL_FAILURE(open_pair());
  std::vector<std::uint32_t> sizes;
  for (std::uint32_t i = 0; i < 200; ++i) {
    // Mostly varying, with some equal neighbours (GSO runs), an empty datagram and a large one.
    sizes.push_back(i == 17 ? 0 : i == 99 ? 9000 : (i / 3) % 4 == 0 ? 1200 : 1 + (i * 37) % 1473);
  }
  std::uint64_t total = 0;
  for (const auto n : sizes) total += n;
  for (const Got& g : round_trip(*tx_, *rx_, sizes)) {
    EXPECT_EQ(g.from, tx_->local());
    EXPECT_EQ(g.dst, rx_->local().ip);
  }
  const UdpStats ts = tx_->stats();
  EXPECT_EQ(ts.tx_packets, 200u);
  EXPECT_EQ(ts.tx_bytes, total);
  EXPECT_EQ(ts.tx_errors, 0u);
  // 200 packets, at most 64 messages a call; GSO runs of the 1200-byte neighbours save some.
  EXPECT_GE(ts.tx_syscalls, tx_->caps().gso ? 3u : 4u);
  EXPECT_LE(ts.tx_syscalls, 4u);
  const UdpStats rs = rx_->stats();
  EXPECT_EQ(rs.rx_packets, 200u);
  EXPECT_EQ(rs.rx_bytes, total);
  EXPECT_EQ(rs.rx_truncated, 0u);
}

TEST_P(UdpLoopback, GsoRunArrivesAsSeparateDatagrams) {
  ASSERT_NO_FATAL_FAILURE(open_pair(/*rx_gro=*/false));
  round_trip(*tx_, *rx_, run_of(40, 1400, 333));  // the shorter tail belongs to the run
  const UdpStats ts = tx_->stats();
  EXPECT_EQ(ts.tx_packets, 41u);
  EXPECT_EQ(ts.tx_errors, 0u);
  if (tx_->caps().gso) {
    EXPECT_EQ(ts.tx_gso_sends, 1u);
    EXPECT_EQ(ts.tx_syscalls, 1u);
  } else {
    EXPECT_EQ(ts.tx_gso_sends, 0u);
  }
}

TEST_P(UdpLoopback, GsoRunsSplitAt64SegmentsAndBelow65000Bytes) {
  ASSERT_NO_FATAL_FAILURE(open_pair());
  // Runs: 100 x 100 -> 64 + 36 segments; 60 x 1400 -> 46 (64400 bytes) + 14; 1500, 1500 and
  // a shorter 700 -> one run; 800 then the larger 900 -> two plain sends. 5 GSO sends.
  std::vector<std::uint32_t> sizes(100, 100);
  sizes.insert(sizes.end(), 60, 1400);
  sizes.insert(sizes.end(), {1500, 1500, 700, 800, 900});
  round_trip(*tx_, *rx_, sizes);
  if (tx_->caps().gso) {
    EXPECT_EQ(tx_->stats().tx_gso_sends, 5u);
  }
}

TEST_P(UdpLoopback, WithoutGsoEveryPacketIsItsOwnMessage) {
  ASSERT_NO_FATAL_FAILURE(open_pair(/*rx_gro=*/true, /*tx_gso=*/false));
  EXPECT_FALSE(tx_->caps().gso);
  round_trip(*tx_, *rx_, run_of(40, 1400, 100));
  EXPECT_EQ(tx_->stats().tx_gso_sends, 0u);
  EXPECT_EQ(tx_->stats().tx_packets, 41u);
}

// A GRO receiver gets the GSO run as one coalesced buffer (loopback keeps the GSO packet whole
// for a socket that accepts GRO) and must split it back into the original datagrams.
TEST_P(UdpLoopback, GroBuffersAreSplitIntoDatagrams) {
  ASSERT_NO_FATAL_FAILURE(open_pair(/*rx_gro=*/true));
  Bytes buf;
  const auto pkts = lay_out(buf, run_of(40, 1400, 77), rx_->local());
  ASSERT_EQ(tx_->send_burst(pkts), pkts.size());
  RxBatch batch(1);  // one kernel buffer per call
  ASSERT_TRUE(*rx_->wait_readable(1000));
  const std::size_t first = rx_->recv_burst(batch);
  std::vector<Got> got;
  for (std::size_t i = 0; i < first; ++i) {
    got.push_back({Bytes(batch[i].data.begin(), batch[i].data.end()), batch[i].from, batch[i].dst});
  }
  for (const Got& g : collect(*rx_, batch, pkts.size() - first)) got.push_back(g);
  expect_same(pkts, got);
  for (const Got& g : got) EXPECT_EQ(g.from, tx_->local());
  if (rx_->caps().gro && tx_->caps().gso) {
    EXPECT_EQ(first, 41u) << "one coalesced buffer, split in one call";
    EXPECT_EQ(rx_->stats().rx_syscalls, 1u);
  }
  EXPECT_EQ(rx_->stats().rx_packets, 41u);
}

TEST_P(UdpLoopback, BadDestinationsAreCountedAndSkipped) {
  ASSERT_NO_FATAL_FAILURE(open_pair());
  const Endpoint good = rx_->local();
  Endpoint port0 = good;
  port0.port = 0;
  const Endpoint wrong_family{GetParam() ? IpAddr{} : ip("::1"), good.port};
  Bytes small(64, 0x5a);
  Bytes huge(70000, 0x11);  // larger than any UDP datagram: EMSGSIZE from the kernel
  Bytes run(3 * 200, 0x22);
  std::vector<TxPacket> pkts = {
      {small.data(), 10, good},
      {small.data(), 10, port0},
      {small.data() + 10, 11, good},
      {huge.data(), static_cast<std::uint32_t>(huge.size()), good},
      {small.data() + 21, 12, good},
      {run.data(), 200, port0},  // a would-be GSO run to a bad destination
      {run.data() + 200, 200, port0},
      {run.data() + 400, 200, port0},
      {small.data() + 33, 13, good},
  };
  if (!GetParam()) pkts.push_back({small.data(), 5, wrong_family});  // IPv6 on an IPv4 socket
  pkts.push_back({small.data() + 46, 14, good});
  EXPECT_EQ(tx_->send_burst(pkts), pkts.size());
  const std::uint64_t bad = GetParam() ? 5 : 6;
  EXPECT_EQ(tx_->stats().tx_errors, bad);
  EXPECT_EQ(tx_->stats().tx_packets, 5u);
  RxBatch batch;
  const auto got = collect(*rx_, batch, 5);
  ASSERT_EQ(got.size(), 5u);
  const std::uint32_t lens[] = {10, 11, 12, 13, 14};
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(got[i].bytes.size(), lens[i]);
  EXPECT_FALSE(*rx_->wait_readable(20)) << "nothing else arrives";
}

TEST_P(UdpLoopback, TruncatedDatagramsAreCountedAndDropped) {
  ASSERT_NO_FATAL_FAILURE(open_pair());
  Bytes a(300, 1), b(100, 2);
  const std::vector<TxPacket> pkts = {{a.data(), 300, rx_->local()}, {b.data(), 100, rx_->local()}};
  ASSERT_EQ(tx_->send_burst(pkts), 2u);
  RxBatch batch(4, 128);
  const auto got = collect(*rx_, batch, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].bytes, b);
  EXPECT_EQ(rx_->stats().rx_truncated, 1u);
  EXPECT_EQ(rx_->stats().rx_packets, 1u);
}

// One sender thread and one receiver thread on one socket (the documented split), talking to a
// peer that echoes; stats are read concurrently from a third party (the main thread).
TEST_P(UdpLoopback, SendAndReceiveFromTwoThreads) {
  ASSERT_NO_FATAL_FAILURE(open_pair());
  UdpSocket& a = *tx_;
  UdpSocket& echo = *rx_;
  constexpr std::uint32_t kCount = 2000;
  std::atomic<bool> stop{false};
  std::thread echoer([&] {
    RxBatch batch(16, 2048);
    std::vector<TxPacket> back;
    while (!stop.load()) {
      if (echo.recv_burst(batch) == 0) {
        (void)echo.wait_readable(10);
        continue;
      }
      back.clear();
      for (std::size_t i = 0; i < batch.size(); ++i) {
        back.push_back({batch[i].data.data(), static_cast<std::uint32_t>(batch[i].data.size()),
                        batch[i].from});
      }
      (void)send_all(echo, back);
    }
  });
  std::thread sender([&] {
    std::vector<Bytes> bufs(kCount);
    std::vector<TxPacket> pkts;
    for (std::uint32_t i = 0; i < kCount; ++i) {
      bufs[i].resize(4 + i % 700);
      std::memcpy(bufs[i].data(), &i, 4);
      pkts.push_back({bufs[i].data(), static_cast<std::uint32_t>(bufs[i].size()), echo.local()});
    }
    for (std::size_t off = 0; off < pkts.size(); off += 50) {
      (void)send_all(a, std::span<const TxPacket>(pkts).subspan(off, 50));
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  std::vector<bool> seen(kCount, false);
  std::size_t received = 0;
  RxBatch batch;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (received < kCount && std::chrono::steady_clock::now() < deadline) {
    const std::size_t n = a.recv_burst(batch);
    for (std::size_t i = 0; i < n; ++i) {
      std::uint32_t id = 0;
      ASSERT_GE(batch[i].data.size(), 4u);
      std::memcpy(&id, batch[i].data.data(), 4);
      ASSERT_LT(id, kCount);
      EXPECT_EQ(batch[i].data.size(), 4 + id % 700);
      if (!seen[id]) ++received;
      seen[id] = true;
    }
    if (n == 0) (void)a.wait_readable(10);
    (void)a.stats();  // concurrent read of both halves
  }
  sender.join();
  stop = true;
  echoer.join();
  EXPECT_EQ(received, kCount);
  EXPECT_EQ(a.stats().tx_packets, kCount);
  EXPECT_EQ(a.stats().rx_packets, kCount);
}

// ---------------------------------------------------------------------------------------------
// private network namespaces: multicast, MTU

// IPv4: brings lo up with multicast on and routes 224.0.0.0/4 to it.
std::string set_up_loopback_multicast() {
  const int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return errno_msg("socket");
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  std::string err;
  if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0) err = errno_msg("SIOCGIFFLAGS lo");
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_MULTICAST);
  if (err.empty() && ioctl(s, SIOCSIFFLAGS, &ifr) != 0) err = errno_msg("SIOCSIFFLAGS lo");
  rtentry rt{};
  sockaddr_in dst{}, mask{};
  dst.sin_family = mask.sin_family = AF_INET;
  dst.sin_addr.s_addr = htonl(0xe0000000);
  mask.sin_addr.s_addr = htonl(0xf0000000);
  std::memcpy(&rt.rt_dst, &dst, sizeof dst);
  std::memcpy(&rt.rt_genmask, &mask, sizeof mask);
  char dev[] = "lo";
  rt.rt_dev = dev;
  rt.rt_flags = RTF_UP;
  if (err.empty() && ioctl(s, SIOCADDRT, &rt) != 0) err = errno_msg("SIOCADDRT 224.0.0.0/4 lo");
  close(s);
  return err;
}

// The first IPv6 address of `dev`, or an unset one.
IpAddr first_v6_address(const char* dev) {
  IpAddr out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (const ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET6) continue;
    if (std::strcmp(a->ifa_name, dev) != 0) continue;
    sockaddr_storage ss{};
    std::memcpy(&ss, a->ifa_addr, sizeof(sockaddr_in6));
    out = from_sockaddr(ss).ip;
    break;
  }
  freeifaddrs(list);
  return out;
}

// IPv6: the kernel turns IPv6 routes through lo into reject routes, so IPv6 multicast cannot be
// looped over lo; a veth pair va/vb (both ends in this namespace) is used instead, with DAD off
// so the link-local addresses are usable at once. Needs iproute2's `ip`.
std::string set_up_veth_v6() {
  for (const char* p :
       {"/proc/sys/net/ipv6/conf/all/accept_dad", "/proc/sys/net/ipv6/conf/default/accept_dad"}) {
    std::ofstream(p) << "0\n";
  }
  const int rc = std::system(
      "ip link set lo up && ip link add va type veth peer name vb && ip link set va up && "
      "ip link set vb up");
  if (rc == -1 || !WIFEXITED(rc)) return "system(ip link ...) failed";
  if (WEXITSTATUS(rc) == 127) return "SKIP: no `ip` command (iproute2)";
  if (WEXITSTATUS(rc) != 0)
    return "ip link add va type veth peer name vb: exit " + std::to_string(WEXITSTATUS(rc));
  for (int i = 0; i < 300; ++i) {
    if (first_v6_address("va").v6) return "";
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return "va got no IPv6 link-local address";
}

std::string check_got(const std::vector<Got>& got, const std::vector<TxPacket>& pkts,
                      const Endpoint& from, const IpAddr& group, const std::string& who) {
  if (got.size() != pkts.size()) {
    return who + ": got " + std::to_string(got.size()) + " datagrams, want " +
           std::to_string(pkts.size());
  }
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (got[i].bytes.size() != pkts[i].len ||
        !std::equal(got[i].bytes.begin(), got[i].bytes.end(), pkts[i].data)) {
      return who + ": datagram " + std::to_string(i) + " differs";
    }
    if (got[i].dst != group) return who + ": dst " + format_ip(got[i].dst);
    if (got[i].from.port != from.port) return who + ": from " + format_endpoint(got[i].from);
  }
  return "";
}

struct McastPlan {
  bool v6 = false;
  const char* group = "";
  std::string r1_if;  // r1 joins here, twice
  std::string r2_if;  // r2 joins and leaves here, twice
  std::string tx_if;  // the sender's multicast interface
};

// Two receivers on one wildcard port both join the group; a sender with an interface set sends
// a GSO run and a short packet: both receive the exact bytes once, with the group as dst. After
// r2 leaves, only r1 receives. Then the join errors.
std::string multicast_scenario(const McastPlan& plan) {
  const IpAddr group = ip(plan.group);
  UdpConfig rc;
  rc.bind_ip.v6 = plan.v6;
  std::string why;
  auto r1 = UdpSocket::open(rc, why);
  if (!r1.ok()) return "open r1: " + why;
  rc.port = (*r1)->local().port;
  auto r2 = UdpSocket::open(rc, why);
  if (!r2.ok()) return "open r2 on the same port: " + why;
  if (!(*r1)->join(group, plan.r1_if, &why).ok()) return "join r1: " + why;
  if (!(*r1)->join(group, plan.r1_if, &why).ok()) return "second join r1: " + why;
  if (!(*r2)->join(group, plan.r2_if, &why).ok()) return "join r2 on '" + plan.r2_if + "': " + why;

  UdpConfig sc;
  sc.bind_ip.v6 = plan.v6;
  sc.interface = plan.tx_if;
  auto tx = UdpSocket::open(sc, why);
  if (!tx.ok()) return "open sender: " + why;
  std::vector<std::uint32_t> sizes(5, 1000);
  sizes.push_back(10);
  Bytes buf;
  const auto pkts = lay_out(buf, sizes, Endpoint{group, rc.port});
  if ((*tx)->send_burst(pkts) != pkts.size()) return "send_burst short";
  if ((*tx)->stats().tx_errors != 0) return "send errors";
  const Endpoint from = (*tx)->local();
  RxBatch b1, b2;
  for (auto [sock, batch, who] : {std::tuple{r1->get(), &b1, "r1"}, {r2->get(), &b2, "r2"}}) {
    const auto got = collect(*sock, *batch, pkts.size() + 1, 100);  // +1: catch duplicates
    if (auto e = check_got(got, pkts, from, group, who); !e.empty()) return e;
  }

  if (!(*r2)->leave(group, plan.r2_if, &why).ok()) return "leave r2: " + why;
  if (!(*r2)->leave(group, plan.r2_if, &why).ok()) return "second leave r2: " + why;
  const std::vector<TxPacket> one(pkts.end() - 1, pkts.end());
  if ((*tx)->send_burst(one) != 1) return "send after leave";
  if (auto e = check_got(collect(**r1, b1, 2, 100), one, from, group, "r1 after leave");
      !e.empty()) {
    return e;
  }
  if (!collect(**r2, b2, 1, 100).empty()) return "r2 still receives after leave";

  if ((*r1)->join(ip(plan.v6 ? "::1" : "10.99.0.1"), "", &why).error() != Errc::bad_value) {
    return "joining a unicast address did not fail";
  }
  if (!plan.v6 && (*r1)->join(ip("ff15::1"), "lo", &why).error() != Errc::bad_value) {
    return "IPv6 group on an IPv4 socket did not fail";
  }
  if ((*r1)->join(group, "nosuchif0", &why).error() != Errc::not_found) {
    return "unknown interface did not fail";
  }
  return "";
}

// Runs `fn` in a forked child inside a fresh network namespace.
template <typename Fn>
std::string in_private_netns(Fn fn) {
  return in_child(
      [&] { return unshare(CLONE_NEWNET) == 0 ? fn() : errno_msg("unshare(CLONE_NEWNET)"); });
}

TEST(UdpMulticast, TwoReceiversSharingAPortBothReceiveV4) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root for unshare(CLONE_NEWNET)";
  const std::string msg = in_private_netns([] {
    if (auto e = set_up_loopback_multicast(); !e.empty()) return e;
    // r2 joins on every multicast interface: lo is the only one in the namespace.
    return multicast_scenario(
        {.v6 = false, .group = "239.99.1.1", .r1_if = "lo", .r2_if = "", .tx_if = "lo"});
  });
  EXPECT_EQ(msg, "");
}

// A GSO run whose segments exceed the path MTU fails with EINVAL: the run goes out unsegmented
// (fragmented), and GSO stays on for smaller segments. lo's MTU is lowered to 1500 for this.
std::string gso_above_mtu_scenario() {
  const int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return errno_msg("socket");
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  ifr.ifr_mtu = 1500;
  std::string err;
  if (ioctl(s, SIOCSIFMTU, &ifr) != 0) err = errno_msg("SIOCSIFMTU lo 1500");
  close(s);
  if (!err.empty()) return err;
  if (auto e = set_up_loopback_multicast(); !e.empty()) return e;  // brings lo up

  UdpConfig rc = loopback(false);
  rc.gro = false;
  std::string why;
  auto rx = UdpSocket::open(rc, why);
  if (!rx.ok()) return "open rx: " + why;
  auto tx = UdpSocket::open(loopback(false), why);
  if (!tx.ok()) return "open tx: " + why;
  if (!(*tx)->caps().gso) return "SKIP: no UDP GSO on this kernel";
  std::vector<std::uint32_t> sizes(3, 2000);
  sizes.insert(sizes.end(), 5, 1000);
  Bytes buf;
  const auto pkts = lay_out(buf, sizes, (*rx)->local());
  if ((*tx)->send_burst(std::span(pkts).first(3)) != 3) return "first send_burst short";
  const UdpStats a = (*tx)->stats();
  if (a.tx_errors != 0 || a.tx_packets != 3 || a.tx_gso_sends != 0 || a.tx_syscalls < 2) {
    return "oversized run: errors " + std::to_string(a.tx_errors) + " packets " +
           std::to_string(a.tx_packets) + " gso " + std::to_string(a.tx_gso_sends);
  }
  if (!(*tx)->caps().gso) return "EINVAL turned GSO off entirely";
  if ((*tx)->send_burst(std::span(pkts).subspan(3)) != 5) return "second send_burst short";
  if ((*tx)->stats().tx_gso_sends != 1) return "1000-byte run did not use GSO";
  RxBatch batch;
  return check_got(collect(**rx, batch, pkts.size() + 1, 100), pkts, (*tx)->local(),
                   ip("127.0.0.1"), "rx");
}

TEST(UdpNetns, GsoSegmentsAboveTheMtuFallBackToPlainSends) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root for unshare(CLONE_NEWNET)";
  const std::string msg = in_private_netns(gso_above_mtu_scenario);
  if (msg.rfind("SKIP: ", 0) == 0) GTEST_SKIP() << msg;
  EXPECT_EQ(msg, "");
}

TEST(UdpMulticast, TwoReceiversSharingAPortBothReceiveV6) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root for unshare(CLONE_NEWNET)";
  const std::string msg = in_private_netns([] {
    if (auto e = set_up_veth_v6(); !e.empty()) return e;
    // r2 names the interface by its link-local address.
    return multicast_scenario({.v6 = true,
                               .group = "ff15::99:1",
                               .r1_if = "va",
                               .r2_if = format_ip(first_v6_address("va")),
                               .tx_if = "va"});
  });
  if (msg.rfind("SKIP: ", 0) == 0) GTEST_SKIP() << msg;
  EXPECT_EQ(msg, "");
}

}  // namespace
}  // namespace volley::io
