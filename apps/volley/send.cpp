// volley send: one session pushing files and directories to the receivers.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>

#include "apps/volley/commands.hpp"
#include "apps/volley/common.hpp"
#include "control/session/sender.hpp"
#include "crypto/keys.hpp"
#include "crypto/uftp4_schedule.hpp"
#include "dataplane/engine/clock.hpp"
#include "dataplane/engine/send_engine.hpp"
#include "dataplane/io/posix_file_source.hpp"
#include "dataplane/io/udp_socket.hpp"
#include "dataplane/wire/quant.hpp"

namespace volley::app {
namespace {

struct SendOptions {
  std::vector<std::string> paths;
  std::string file_list;
  std::string dest_name;
  std::string base_dirs;
  std::string exclude;
  std::string pub = "230.4.4.1";
  std::string priv = "230.5.5.x";
  std::uint16_t port = 1044;
  std::uint16_t source_port = 0;
  std::string interface;
  std::string rate = "1G";
  std::uint32_t blocksize = 1300;
  std::string hosts;
  int protocol = 5;
  std::uint32_t robust = 20;
  std::string grtt = "0.5:0.01:15";
  std::uint32_t max_passes = 65535;
  std::uint32_t max_nak_pct = 100;
  std::uint32_t max_nak_count = 1;
  bool quit_on_error = false;
  bool sync = false;
  bool sync_preview = false;
  int ttl = 1;
  int dscp = 0;
  std::string server_id;
  std::string buffer = "32M";
  std::string cipher = "aes256-gcm";
  bool no_encrypt = false;
  bool client_auth = false;
  std::string hash = "sha256";
  std::string curve = "P-256";
  std::string key_file;
  OutputOptions out;
};

constexpr const char* kSendHelp =
    "Push files and directories to every receiver listening on the public address.\n\n"
    "Each PATH is sent under its last component; directories are sent whole (recursively),\n"
    "symlinks as links. Receivers store files under their destination directory, each one\n"
    "appearing only once it is complete.\n\n"
    "Examples:\n"
    "  volley send -R 800M /srv/images/disk.img\n"
    "      multicast to every receiver that answers on 230.4.4.1, port 1044, at 800 Mbit/s\n"
    "  volley send -H 0x0a630b01,10.99.11.2 -b 8800 -R 9G --status-file run.jsonl dataset/\n"
    "      closed group of two receivers, jumbo blocks, per-receiver results as JSON lines\n"
    "  volley send -M 10.99.1.11 --protocol 4 report.pdf\n"
    "      unicast to one receiver (a stock uftpd 4.x speaks protocol 4)\n\n"
    "Exit status: 0 every receiver got every file; 1 some receiver did not (or none answered);\n"
    "2 bad command line; 3 could not start (socket, files); 130 interrupted.";

// "230.5.5.x": each 'x' component after the first becomes a random byte, as uftp does.
std::optional<wire::IpAddr> parse_group(std::string text, std::string* why) {
  if (text.find(':') == std::string::npos) {
    std::size_t pos = 0;
    for (int part = 0; part < 4; ++part) {
      const auto dot = text.find('.', pos);
      const auto len = (dot == std::string::npos ? text.size() : dot) - pos;
      if (part > 0 && text.compare(pos, len, "x") == 0) {
        text.replace(pos, len, std::to_string(1 + random_u32() % 254));
      }
      if (dot == std::string::npos) break;
      pos = text.find('.', pos) + 1;
    }
  }
  auto ip = io::parse_ip(text);
  if (!ip) {
    *why = fmt::format("'{}' is not an IPv4 or IPv6 address", text);
    return std::nullopt;
  }
  return *ip;
}

bool parse_grtt(const std::string& text, session::SenderConfig& cfg, std::string* why) {
  double v[3] = {0.5, 0.01, 15};
  std::size_t pos = 0;
  int n = 0;
  for (; n < 3 && pos <= text.size(); ++n) {
    const auto colon = text.find(':', pos);
    const std::string part = text.substr(pos, colon == std::string::npos ? colon : colon - pos);
    try {
      std::size_t used = 0;
      v[n] = std::stod(part, &used);
      if (used != part.size() || !(v[n] > 0)) throw std::invalid_argument(part);
    } catch (const std::exception&) {
      *why = fmt::format("--grtt '{}': expected INIT[:MIN:MAX] in seconds, e.g. 0.5:0.01:15", text);
      return false;
    }
    if (colon == std::string::npos) break;
    pos = colon + 1;
  }
  if (n == 1 || !(v[1] <= v[0] && v[0] <= v[2])) {
    *why =
        fmt::format("--grtt '{}': give INIT alone or INIT:MIN:MAX with MIN <= INIT <= MAX", text);
    return false;
  }
  auto ns = [](double s) { return static_cast<proto::DurationNs>(s * 1e9); };
  cfg.grtt_init_ns = ns(v[0]);
  cfg.grtt_min_ns = ns(v[1]);
  cfg.grtt_max_ns = ns(v[2]);
  return true;
}

std::vector<std::string> read_file_list(const std::string& path, std::string* why) {
  std::vector<std::string> out;
  std::ifstream f(path == "-" ? "/dev/stdin" : path);
  if (!f) {
    *why = fmt::format("cannot read file list {}", path);
    return out;
  }
  for (std::string line; std::getline(f, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto comma = text.find(',', pos);
    const auto item = text.substr(pos, comma == std::string::npos ? comma : comma - pos);
    if (!item.empty()) out.push_back(item);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

int run_send(SendOptions o) {
  std::string why;
  if (!setup_logging(o.out.log_level, o.out.log_file, o.out.quiet, &why)) {
    std::fprintf(stderr, "volley send: %s\n", why.c_str());
    return kExitUsage;
  }
  auto usage = [](const std::string& msg) {
    spdlog::error("{}", msg);
    return kExitUsage;
  };
  auto rate = parse_rate(o.rate);
  if (!rate) return usage(fmt::format("--rate '{}': expected e.g. 800M, 10G or max", o.rate));
  auto buffer = parse_size(o.buffer);
  if (!buffer || *buffer > (1u << 30)) return usage("--buffer: expected bytes such as 32M");
  session::SenderConfig cfg;
  cfg.version = o.protocol == 4 ? wire::Version::v4 : wire::Version::v5;
  cfg.blocksize = static_cast<std::uint16_t>(o.blocksize);
  cfg.robust = static_cast<std::uint8_t>(o.robust);
  if (!parse_grtt(o.grtt, cfg, &why)) return usage(why);
  cfg.max_passes = o.max_passes;
  cfg.max_nak_pct = o.max_nak_pct;
  cfg.max_nak_count = o.max_nak_count;
  cfg.quit_on_error = o.quit_on_error;
  cfg.sync = o.sync || o.sync_preview;
  cfg.sync_preview = o.sync_preview;
  std::vector<std::pair<std::uint32_t, std::string>> host_fingerprints;
  if (!o.hosts.empty()) {
    auto ids = parse_id_list(o.hosts, &why, &host_fingerprints);
    if (!ids) return usage("--hosts: " + why);
    cfg.closed_group = *ids;
  }
  if (!o.server_id.empty()) {
    auto id = parse_id(o.server_id);
    if (!id) return usage(fmt::format("--server-id '{}' is not an ID", o.server_id));
    cfg.server_id = *id;
  } else {
    cfg.server_id = default_id(o.interface);
  }
  auto pub = parse_group(o.pub, &why);
  if (!pub) return usage("--public: " + why);
  const bool unicast = !io::is_multicast(*pub);
  std::optional<wire::IpAddr> priv = *pub;
  if (!unicast) {
    priv = parse_group(o.priv, &why);
    if (!priv) return usage("--private: " + why);
    if (!io::is_multicast(*priv)) return usage("--private must be a multicast address");
    if (priv->v6 != pub->v6) return usage("--public and --private must be the same family");
    cfg.pub_addr = *pub;
    cfg.priv_addr = *priv;
  } else {
    cfg.pub_addr = wire::IpAddr{.v6 = pub->v6};  // UFTP: zero addresses mean unicast
    cfg.priv_addr = cfg.pub_addr;
  }

  if (!o.file_list.empty()) {
    auto more = read_file_list(o.file_list, &why);
    if (!why.empty()) return usage(why);
    o.paths.insert(o.paths.end(), more.begin(), more.end());
  }
  if (o.paths.empty()) return usage("nothing to send: name files or directories, or --file-list");
  io::PosixFileSource::Naming naming;
  naming.dest_name = o.dest_name;
  naming.base_dirs = split_list(o.base_dirs);
  if (o.exclude.starts_with('@')) {
    naming.exclude = read_file_list(o.exclude.substr(1), &why);
    if (!why.empty()) return usage("--exclude: " + why);
  } else {
    naming.exclude = split_list(o.exclude);
  }
  auto src = io::PosixFileSource::scan(o.paths, naming, &why);
  if (!src) {
    spdlog::error("{}", why);
    return kExitSetup;
  }
  for (const auto& s : (*src)->skipped()) {
    spdlog::log(s.why == "excluded" ? spdlog::level::debug : spdlog::level::warn, "skipping {}: {}",
                s.path, s.why);
  }
  if ((*src)->entries().size() > 65535) {
    spdlog::error("{} entries: a session carries at most 65535", (*src)->entries().size());
    return kExitSetup;
  }

  io::UdpConfig ucfg;
  ucfg.bind_ip = wire::IpAddr{.v6 = pub->v6};
  ucfg.port = o.source_port;
  ucfg.interface = o.interface;
  ucfg.ttl = o.ttl;
  ucfg.dscp = o.dscp;
  ucfg.sndbuf = static_cast<int>(*buffer);
  ucfg.rcvbuf = static_cast<int>(std::min<std::uint64_t>(*buffer, 8u << 20));
  auto sock = io::UdpSocket::open(ucfg, why);
  if (!sock) {
    spdlog::error("{}", why);
    return kExitSetup;
  }
  for (const auto& w : (*sock)->warnings()) spdlog::warn("{}", w);

  cfg.group_id = random_u32() | 1;
  cfg.wall_offset_us = engine::wall_offset_us();
  const auto& entries = (*src)->entries();
  engine::SendEngineConfig ecfg;
  ecfg.public_dest = {*pub, o.port};
  ecfg.private_dest = {*priv, o.port};
  ecfg.block = {.version = cfg.version,
                .server_id = cfg.server_id,
                .group_id = cfg.group_id,
                .group_inst = cfg.group_inst,
                .rate_bytes_per_s = *rate,
                .burst_bytes = std::clamp<std::uint64_t>(*rate / 1000, 64 * 1024, 1 << 20)};
  // Encryption (the default): ECDH P-256 key exchange signed with ECDSA, then AES-GCM, as
  // UFTP 4 or 5 define it for the chosen protocol.
  std::unique_ptr<crypto::Aead> data_aead;
  if (o.no_encrypt) o.cipher = "none";
  if (o.cipher != "none") {
    const auto keytype =
        o.cipher == "aes128-gcm" ? crypto::KeyType::aes128_gcm : crypto::KeyType::aes256_gcm;
    session::ServerKeyexConfig kx;
    kx.version = cfg.version;
    kx.keytype = keytype;
    // Receivers prove their keys (CLIENT_KEY) when asked, or when the host list names keys:
    // "ID|FINGERPRINT" lines in -H @FILE, as uftp's host files have them.
    kx.client_auth = o.client_auth || !host_fingerprints.empty();
    for (const auto& [id, text] : host_fingerprints) {
      auto fp = crypto::parse_fingerprint(text);
      if (!fp || fp->size() != 20) {
        return usage(
            fmt::format("--hosts: '{}' is not a fingerprint (for {})", text, format_id(id)));
      }
      kx.client_fingerprints[id] = std::move(*fp);
    }
    kx.hashtype = o.hash == "sha512"   ? crypto::HashType::sha512
                  : o.hash == "sha384" ? crypto::HashType::sha384
                                       : crypto::HashType::sha256;
    const auto curve = crypto::curve_from_name(o.curve);
    if (!curve) return usage(fmt::format("--curve '{}': P-256, P-384 or P-521", o.curve));
    if (!o.key_file.empty()) {
      auto k = crypto::PrivateKey::load_pem(o.key_file, &why);
      if (!k) {
        spdlog::error("--key {}: {}", o.key_file, why);
        return kExitSetup;
      }
      kx.signing_key = std::make_shared<crypto::PrivateKey>(std::move(*k));
    } else {
      auto k = crypto::PrivateKey::generate_ec(*curve);
      if (!k) return usage("could not generate a signing key");
      kx.signing_key = std::make_shared<crypto::PrivateKey>(std::move(*k));
    }
    const std::string fingerprint = kx.signing_key->public_key().fingerprint();
    auto ecdh = crypto::PrivateKey::generate_ec(*curve);
    if (!ecdh) return usage("could not generate an ECDH key");
    kx.ecdh_key = std::make_shared<crypto::PrivateKey>(std::move(*ecdh));
    random_fill(kx.rand1);
    random_fill(kx.group_master);
    // v4's master is the version byte and 47 random ones; v5's is 32 random bytes, all of them.
    if (cfg.version == wire::Version::v4) kx.group_master[0] = crypto::uftp4::kMasterVersion;
    auto hs = session::ServerHandshake::create(std::move(kx), cfg.server_id, cfg.group_id,
                                               cfg.group_inst, cfg.priv_addr, &why);
    if (!hs) {
      spdlog::error("encryption: {}", why);
      return kExitSetup;
    }
    cfg.handshake = std::move(*hs);
    auto a = cfg.handshake->make_group_aead(cfg.server_id);
    if (!a) {
      spdlog::error("encryption: cannot set up {}", o.cipher);
      return kExitSetup;
    }
    data_aead = std::move(*a);
    ecfg.block.aead = data_aead.get();
    spdlog::info("encrypted: {}, {}, ECDH {}, signed by {} key {}", o.cipher, o.hash, o.curve,
                 o.key_file.empty() ? "a fresh" : "the", fingerprint);
  }
  session::SenderSession session(cfg, entries);
  engine::SendEngine eng(session, **src, **sock, ecfg);
  StatusFile status;
  if (!status.open(o.out.status_file, &why)) {
    spdlog::error("{}", why);
    return kExitSetup;
  }

  const std::uint64_t total = (*src)->total_bytes();
  spdlog::info("session {} from {} to {}{}: {} entries, {}, block {} bytes, rate {}, protocol {}",
               format_id(cfg.group_id), format_id(cfg.server_id),
               io::format_endpoint(ecfg.public_dest), unicast ? " (unicast)" : "", entries.size(),
               human_bytes(static_cast<double>(total)), o.blocksize,
               *rate == 0 ? "max" : human_rate(static_cast<double>(*rate) * 8),
               o.protocol == 4 ? "4 (0x40)" : "5 (0x50)");
  if (!o.hosts.empty()) spdlog::info("closed group of {} receivers", cfg.closed_group.size());

  ProgressLine progress(!o.out.quiet);
  std::string current;
  std::uint32_t pass = 0;
  proto::TimeNs last_t = engine::mono_now();
  std::uint64_t last_bytes = 0;
  const proto::TimeNs t0 = last_t;
  install_signal_handlers();
  engine::SendHooks hooks;
  hooks.interrupt = &interrupted();
  hooks.on_event = [&](const session::SenderEvent& e) {
    using K = session::SenderEvent::Kind;
    progress.clear();
    switch (e.kind) {
      case K::client_registered:
        spdlog::info("receiver {} registered", format_id(e.client));
        break;
      case K::client_lost:
        spdlog::warn("receiver {} lost: {}", format_id(e.client), e.text);
        break;
      case K::client_aborted:
        if (e.client == 0) {
          spdlog::warn("session aborted: {}", e.text);
        } else {
          spdlog::warn("receiver {} aborted: {}", format_id(e.client), e.text);
        }
        break;
      case K::file_started:
        current = e.text;
        pass = 0;
        spdlog::info("file {}/{}: {}", e.file_id, entries.size(), e.text);
        break;
      case K::pass_started:
        pass = e.pass;
        if (e.pass > 1) spdlog::info("  pass {} (repairs)", e.pass);
        break;
      case K::file_finished:
        spdlog::debug("  {} finished after {} passes", current, e.pass);
        break;
      case K::session_finished:
        spdlog::info("session finished: {}", e.text);
        break;
    }
  };
  hooks.on_tick = [&](proto::TimeNs now) {
    if (!progress.enabled()) return;
    const std::uint64_t b = eng.data_bytes();
    const double dt = static_cast<double>(now - last_t) / 1e9;
    const double bps = dt > 0 ? static_cast<double>(b - last_bytes) * 8 / dt : 0;
    last_t = now;
    last_bytes = b;
    std::size_t done = 0, active = 0, failed = 0;
    for (const auto& c : session.clients()) {
      if (c.state == session::ClientState::done)
        ++done;
      else if (c.state == session::ClientState::registered)
        ++active;
      else
        ++failed;
    }
    const double pct =
        total == 0 ? 100.0 : 100.0 * static_cast<double>(b) / static_cast<double>(total);
    progress.show(fmt::format(
        "{} | {:5.1f}% sent | {} | pass {} | receivers {} active, {} done, {} failed | NAKs {}",
        current.empty() ? "announcing" : current, std::min(pct, 999.9), human_rate(bps), pass,
        active, done, failed, session.stats().naks_received));
  };
  eng.run(hooks);
  progress.clear();

  const double secs = static_cast<double>(engine::mono_now() - t0) / 1e9;
  const bool ok = session.all_succeeded() && !session.clients().empty();
  std::size_t n_ok = 0;
  for (const auto& c : session.clients()) {
    const bool all = std::all_of(c.files.begin(), c.files.end(), [](session::FileOutcome f) {
      return f == session::FileOutcome::copied || f == session::FileOutcome::overwrote ||
             f == session::FileOutcome::skipped;
    });
    if (c.state == session::ClientState::done && all) ++n_ok;
    for (std::size_t i = 0; i < entries.size(); ++i) {
      status.write({{"event", "file"},
                    {"receiver", format_id(c.id)},
                    {"name", entries[i].name},
                    {"size", entries[i].size},
                    {"outcome", std::string(session::outcome_name(c.files[i]))}});
    }
    status.write({{"event", "receiver"},
                  {"id", format_id(c.id)},
                  {"state", std::string(session::client_state_name(c.state))},
                  {"rtt_ms", static_cast<double>(c.rtt_ns) / 1e6},
                  {"naks", c.naks},
                  {"reason", c.reason}});
    if (c.state != session::ClientState::done || !all) {
      spdlog::warn("receiver {}: {}{}", format_id(c.id), session::client_state_name(c.state),
                   c.reason.empty() ? "" : " (" + c.reason + ")");
    }
  }
  for (std::uint32_t id : session.unanswered_members()) {
    status.write({{"event", "receiver"}, {"id", format_id(id)}, {"state", "never_registered"}});
    spdlog::warn("receiver {} never registered", format_id(id));
  }
  // Goodput counts file bytes delivered, so only a session that delivered everything has one;
  // otherwise report the rate data went out at.
  const double bytes = ok ? static_cast<double>(total) : static_cast<double>(eng.data_bytes());
  const double gbps = secs > 0 ? bytes * 8 / secs / 1e9 : 0;
  const auto& st = session.stats();
  status.write({{"event", "session"},
                {"group", format_id(cfg.group_id)},
                {"ok", ok},
                {"receivers", session.clients().size()},
                {"receivers_ok", n_ok},
                {"entries", entries.size()},
                {"bytes", total},
                {"seconds", secs},
                {"gbit_per_s", gbps},
                {"data_packets", eng.data_packets()},
                {"repair_blocks", st.repair_blocks},
                {"passes", st.passes},
                {"naks", st.naks_received}});
  spdlog::info(
      "{}: {}/{} receivers got all {} entries ({}) in {:.2f} s, {} {}, {} packets ({} repairs)",
      ok ? "done" : "INCOMPLETE", n_ok, session.clients().size(), entries.size(),
      human_bytes(static_cast<double>(total)), secs, human_rate(gbps * 1e9),
      ok ? "goodput" : "sent", eng.data_packets(), st.repair_blocks);
  if (interrupted().load()) return kExitInterrupted;
  return ok ? kExitOk : kExitIncomplete;
}

}  // namespace

std::function<int()> add_send(CLI::App& app) {
  auto o = std::make_shared<SendOptions>();
  auto* c = app.add_subcommand("send", "push files and directories to receivers");
  c->footer(kSendHelp);
  c->add_option("paths", o->paths, "files and directories to send");
  c->add_option("-i,--file-list", o->file_list,
                "read more paths from FILE, one per line ('-': stdin)");
  c->add_option("--dest-name", o->dest_name,
                "name on the receivers: renames a single PATH, or the directory several go into");
  c->add_option("--base-dir", o->base_dirs,
                "send names relative to these directories (comma-separated) instead of under each "
                "PATH's last component; paths under none are skipped");
  c->add_option("--exclude", o->exclude,
                "names to leave out (as sent, e.g. 'tree/tmp'), comma-separated or '@FILE'");
  c->add_option("-M,--public", o->pub,
                "public address: a multicast group receivers listen on, or one receiver's unicast "
                "address (unicast mode)")
      ->capture_default_str();
  c->add_option("-P,--private", o->priv,
                "private multicast group for the session; an 'x' part is random (uftp style)")
      ->capture_default_str();
  c->add_option("-p,--port", o->port, "receivers' UDP port")->capture_default_str();
  c->add_option("-u,--source-port", o->source_port, "our UDP port (0: any)")->capture_default_str();
  c->add_option("-I,--interface", o->interface,
                "interface (name or address) for multicast and the default server ID");
  c->add_option("-R,--rate", o->rate,
                "send rate in bit/s with K/M/G/T (powers of 1000), counting IP/UDP/UFTP headers; "
                "'max' = unpaced")
      ->capture_default_str();
  c->add_option("-b,--block-size", o->blocksize,
                "payload bytes per packet; 8800 fits a 9000-byte MTU, 1300 fits any path")
      ->check(CLI::Range(256, 8800))
      ->capture_default_str();
  c->add_option("-H,--hosts", o->hosts,
                "closed group: receiver IDs 'ID,ID,...' or '@FILE' (hex 0x0a63010b or IPv4 form)");
  c->add_option("--protocol", o->protocol,
                "UFTP protocol version: 5 (0x50) or 4 (0x40, stock uftp 4.x)")
      ->check(CLI::IsMember({4, 5}))
      ->capture_default_str();
  c->add_option("--robust", o->robust,
                "robustness: resends of each control message; scales every timeout")
      ->check(CLI::Range(10, 50))
      ->capture_default_str();
  c->add_option("--grtt", o->grtt, "group round-trip time INIT[:MIN:MAX] in seconds")
      ->capture_default_str();
  c->add_option("--max-passes", o->max_passes, "drop receivers still missing data after N passes")
      ->check(CLI::Range(1, 65535))
      ->capture_default_str();
  c->add_option("--max-nak-pct", o->max_nak_pct,
                "drop a receiver NAKing more than this % of a section ...")
      ->check(CLI::Range(0, 100))
      ->capture_default_str();
  c->add_option("--max-nak-count", o->max_nak_count, "... this many times")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  c->add_flag("--quit-on-error", o->quit_on_error, "abort everyone when any receiver fails");
  c->add_flag("--sync", o->sync, "receivers skip files whose copy is as new, replace older ones");
  c->add_flag("--sync-preview", o->sync_preview, "report what --sync would do; send nothing");
  c->add_option("--ttl", o->ttl, "multicast TTL")->check(CLI::Range(0, 255))->capture_default_str();
  c->add_option("--dscp", o->dscp, "DSCP value for every packet")
      ->check(CLI::Range(0, 63))
      ->capture_default_str();
  c->add_option("--server-id", o->server_id,
                "our ID (hex or IPv4 form); default: the interface's IPv4 address");
  c->add_option("--buffer", o->buffer, "socket send buffer in bytes (K/M/G)")
      ->capture_default_str();
  c->add_option("--cipher", o->cipher,
                "aes256-gcm or aes128-gcm, after an ECDH P-256 key exchange signed with --key; "
                "'none' sends in the clear (stock uftpd then needs no key)")
      ->check(CLI::IsMember({"none", "aes256-gcm", "aes128-gcm"}))
      ->capture_default_str();
  c->add_flag("--no-encrypt", o->no_encrypt, "send in the clear (same as --cipher none)");
  c->add_flag("--client-auth", o->client_auth,
              "receivers must prove a signing key (uftp -c); implied when -H @FILE lists "
              "'ID|FINGERPRINT' lines, which then admit only those keys");
  c->add_option("--hash", o->hash, "hash for the key exchange and signatures")
      ->check(CLI::IsMember({"sha256", "sha384", "sha512"}))
      ->capture_default_str();
  c->add_option("--curve", o->curve,
                "ECDH curve (and of the fresh signing key when no --key is given)")
      ->check(CLI::IsMember({"P-256", "P-384", "P-521"}))
      ->capture_default_str();
  c->add_option("--key", o->key_file,
                "our EC signing key (PEM, from 'volley keys gen'); default: a fresh P-256 key");
  add_output_options(
      c, o->out, "append JSON lines: one per receiver and file, one per receiver, one per session",
      "no progress line; only warnings and errors");
  return [o] { return run_send(*o); };
}

}  // namespace volley::app
