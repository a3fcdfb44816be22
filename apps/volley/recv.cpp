// volley recv: the receiver daemon, in the foreground (systemd runs it as a simple service).
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <sstream>

#include "apps/volley/commands.hpp"
#include "apps/volley/common.hpp"
#include "control/session/receiver.hpp"
#include "crypto/keys.hpp"
#include "dataplane/engine/clock.hpp"
#include "dataplane/engine/recv_engine.hpp"
#include "dataplane/io/posix_file_store.hpp"
#include "dataplane/io/udp_socket.hpp"

namespace volley::app {
namespace {

struct RecvOptions {
  std::string dest;
  std::string temp;
  std::uint16_t port = 1044;
  std::string interface;
  std::string pub = "230.4.4.1";
  std::string id;
  std::uint32_t sessions = 0;
  std::uint32_t max_sessions = 100;
  std::string buffer = "32M";
  bool require_encryption = false;
  std::string key_file;
  std::vector<std::string> server_keys;
  std::string servers_file;
  OutputOptions out;
};

constexpr const char* kRecvHelp =
    "Receive sessions from any sender on the public address(es) until stopped (SIGINT or\n"
    "SIGTERM), or until --sessions N have finished. Files are received into a temporary file\n"
    "under the temp directory and renamed into the destination only when complete; an\n"
    "interrupted file is kept there and resumed when a sender sends it again.\n\n"
    "Examples:\n"
    "  volley recv -D /srv/incoming\n"
    "      listen on 230.4.4.1, port 1044, on every multicast interface\n"
    "  volley recv -D /data -I eth1 -U 0x0a630b01 --status-file /var/log/volley.jsonl\n"
    "  volley recv -D out --sessions 1 && echo got everything\n\n"
    "Exit status (with --sessions): 0 every file of every session arrived; 1 some did not;\n"
    "2 bad command line; 3 could not start (directory, socket); 130 interrupted.";

int run_recv(const RecvOptions& o) {
  std::string why;
  if (!setup_logging(o.out.log_level, o.out.log_file, o.out.quiet, &why)) {
    std::fprintf(stderr, "volley recv: %s\n", why.c_str());
    return kExitUsage;
  }
  auto usage = [](const std::string& msg) {
    spdlog::error("{}", msg);
    return kExitUsage;
  };
  auto buffer = parse_size(o.buffer);
  if (!buffer || *buffer > (1u << 30)) return usage("--buffer: expected bytes such as 32M");
  session::ReceiverConfig cfg;
  if (!o.id.empty()) {
    auto id = parse_id(o.id);
    if (!id)
      return usage(fmt::format("--id '{}' is not an ID (hex like 0x0a63010b or IPv4)", o.id));
    cfg.client_id = *id;
  } else {
    cfg.client_id = default_id(o.interface);
  }
  cfg.max_sessions = o.max_sessions;
  cfg.require_encryption = o.require_encryption;
  if (!o.key_file.empty()) {
    std::string kwhy;
    auto k = crypto::PrivateKey::load_pem(o.key_file, &kwhy);
    if (!k) {
      spdlog::error("--key {}: {}", o.key_file, kwhy);
      return kExitSetup;
    }
    spdlog::info("our key: {} ({})", k->public_key().fingerprint(), k->description());
    cfg.key = std::make_shared<crypto::PrivateKey>(std::move(*k));
  }
  // Trusted senders: "ID=FINGERPRINT" options and "ID FINGERPRINT" lines of --servers-file.
  std::vector<std::string> trust = o.server_keys;
  if (!o.servers_file.empty()) {
    std::ifstream in(o.servers_file);
    if (!in) return usage(fmt::format("--servers-file {}: cannot read it", o.servers_file));
    for (std::string line; std::getline(in, line);) {
      line = line.substr(0, line.find('#'));
      std::istringstream words(line);
      std::string id, fp;
      if (!(words >> id)) continue;
      if (!(words >> fp)) return usage(fmt::format("--servers-file: '{}' has no fingerprint", id));
      trust.push_back(id + "=" + fp);
    }
  }
  for (const auto& t : trust) {
    const auto eq = t.find('=');
    auto id = parse_id(t.substr(0, eq));
    auto fp = eq == std::string::npos ? Result<std::vector<std::uint8_t>>(Errc::bad_value)
                                      : crypto::parse_fingerprint(t.substr(eq + 1));
    if (!id || !fp || fp->size() != 20) {
      return usage(fmt::format(
          "--server-key '{}': expected ID=FINGERPRINT, e.g. 0x0a630001=AB:CD:... (the SHA-1 "
          "fingerprint 'volley keys show' or uftp_keymgt prints)",
          t));
    }
    cfg.server_keys[*id] = std::move(*fp);
  }
  cfg.wall_offset_us = engine::wall_offset_us();

  std::vector<wire::IpAddr> groups;
  bool v6 = false;
  for (std::size_t pos = 0; pos <= o.pub.size();) {
    const auto comma = o.pub.find(',', pos);
    const std::string item = o.pub.substr(pos, comma == std::string::npos ? comma : comma - pos);
    auto ip = io::parse_ip(item);
    if (!ip) return usage(fmt::format("--public: '{}' is not an address", item));
    v6 |= ip->v6;
    groups.push_back(*ip);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }

  auto store = io::PosixFileStore::open(o.dest, o.temp, &why);
  if (!store) {
    spdlog::error("destination: {}", why);
    return kExitSetup;
  }
  io::UdpConfig ucfg;
  ucfg.bind_ip = wire::IpAddr{.v6 = v6};
  ucfg.port = o.port;
  ucfg.interface = o.interface;
  ucfg.rcvbuf = static_cast<int>(*buffer);
  ucfg.sndbuf = 1 << 20;
  auto sock = io::UdpSocket::open(ucfg, why);
  if (!sock) {
    spdlog::error("{}", why);
    return kExitSetup;
  }
  for (const auto& w : (*sock)->warnings()) spdlog::warn("{}", w);
  for (const auto& g : groups) {
    if (!io::is_multicast(g)) continue;  // a unicast address: just listen on it
    if (auto st = (*sock)->join(g, o.interface, &why); !st) {
      spdlog::error("joining {}: {}", io::format_ip(g), why);
      return kExitSetup;
    }
  }
  StatusFile status;
  if (!status.open(o.out.status_file, &why)) {
    spdlog::error("{}", why);
    return kExitSetup;
  }

  session::Receiver rx(cfg, **store);
  engine::RxDataplane dp(**store);
  engine::RecvEngine eng(rx, dp, **sock, o.interface);
  spdlog::info("receiver {} listening on {} port {}{}, files to {}", format_id(cfg.client_id),
               o.pub, o.port, o.interface.empty() ? "" : " via " + o.interface, (*store)->root());

  // cut_short: sessions ended incomplete by our own shutdown (SIGINT/SIGTERM); they do not count
  // towards --sessions, so an interrupted receiver exits 130, not 1.
  std::uint32_t finished = 0, failed = 0, cut_short = 0;
  install_signal_handlers();
  engine::RecvHooks hooks;
  hooks.interrupt = &interrupted();
  hooks.on_warning = [](const std::string& w) { spdlog::warn("{}", w); };
  hooks.on_event = [&](const session::ReceiverEvent& e) {
    using K = session::ReceiverEvent::Kind;
    const std::string group = format_id(e.group_id);
    switch (e.kind) {
      case K::session_started:
        spdlog::info("session {}: joined ({})", group, e.text);
        break;
      case K::file_done:
        if (e.outcome == session::FileOutcome::failed) {
          spdlog::warn("session {}: {} incomplete (kept for resume)", group, e.name);
        } else {
          spdlog::info("session {}: {} {}", group, e.name, session::outcome_name(e.outcome));
        }
        status.write({{"event", "file"},
                      {"session", group},
                      {"name", e.name},
                      {"outcome", std::string(session::outcome_name(e.outcome))}});
        break;
      case K::file_rejected:
        spdlog::warn("session {}: rejected file '{}': {}", group, e.name, e.text);
        status.write({{"event", "file"},
                      {"session", group},
                      {"name", e.name},
                      {"outcome", "rejected"},
                      {"reason", e.text}});
        break;
      case K::session_refused:
        spdlog::warn("session {}: not joined: {}", group, e.text);
        status.write({{"event", "refused"}, {"session", group}, {"reason", e.text}});
        break;
      case K::session_finished:
        ++finished;
        if (!e.ok) ++failed;
        if (!e.ok && interrupted().load()) ++cut_short;
        (e.ok ? spdlog::level::info : spdlog::level::warn) == spdlog::level::info
            ? spdlog::info("session {}: finished, {}", group, e.text)
            : spdlog::warn("session {}: finished incomplete: {}", group, e.text);
        status.write({{"event", "session"}, {"session", group}, {"ok", e.ok}, {"reason", e.text}});
        break;
    }
  };
  hooks.done = [&] { return o.sessions != 0 && finished >= o.sessions; };
  eng.run(hooks);
  if (eng.control_overflow() != 0) {
    spdlog::warn("{} control packets dropped: the control thread fell behind",
                 eng.control_overflow());
  }
  const auto& ds = dp.stats();
  spdlog::debug("datagrams {}, bad header {}, misordered {}, auth failed {}", ds.datagrams,
                ds.bad_header, ds.misordered, ds.auth_failed);
  if (interrupted().load() && (o.sessions == 0 || finished - cut_short < o.sessions)) {
    spdlog::info("stopped by signal after {} sessions", finished - cut_short);
    return o.sessions == 0 && failed == 0 ? kExitOk : kExitInterrupted;
  }
  return failed == 0 ? kExitOk : kExitIncomplete;
}

}  // namespace

std::function<int()> add_recv(CLI::App& app) {
  auto o = std::make_shared<RecvOptions>();
  auto* c = app.add_subcommand("recv", "run a receiver in the foreground");
  c->footer(kRecvHelp);
  c->add_option("-D,--dest", o->dest, "destination directory (must exist)")->required();
  c->add_option("-T,--temp", o->temp,
                "directory for files being received (same file system); default DEST/.volley-tmp");
  c->add_option("-p,--port", o->port, "UDP port to listen on")->capture_default_str();
  c->add_option("-I,--interface", o->interface,
                "interface (name or address) to join groups on; default: every multicast one");
  c->add_option("-M,--public", o->pub, "public addresses to listen on, comma-separated")
      ->capture_default_str();
  c->add_option("-U,--id", o->id, "our receiver ID (hex or IPv4 form); default: interface address");
  c->add_option("--sessions", o->sessions, "exit after N sessions (0: run until stopped)")
      ->capture_default_str();
  c->add_option("--max-sessions", o->max_sessions, "concurrent sessions accepted")
      ->check(CLI::Range(1, 200))
      ->capture_default_str();
  c->add_option("--buffer", o->buffer, "socket receive buffer in bytes (K/M/G)")
      ->capture_default_str();
  c->add_option("--key", o->key_file,
                "our signing key (PEM), for senders that ask receivers to prove one (uftp -c)");
  c->add_flag("--require-encryption", o->require_encryption,
              "join only encrypted sessions (uftpd -E); plaintext ones are ignored");
  c->add_option("--server-key", o->server_keys,
                "trust only these senders for encrypted sessions: ID=FINGERPRINT (repeatable); "
                "others are refused with a log line");
  c->add_option("--servers-file", o->servers_file,
                "more trusted senders, one 'ID FINGERPRINT' per line ('#' comments)");
  add_output_options(c, o->out,
                     "append JSON lines: one per file and one per session, as they happen",
                     "only warnings and errors");
  return [o] { return run_recv(*o); };
}

}  // namespace volley::app
