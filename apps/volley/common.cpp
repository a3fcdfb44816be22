#include "apps/volley/common.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <signal.h>
#include <sys/random.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>

#include <fmt/format.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace volley::app {
namespace {

std::optional<double> parse_number(std::string_view t, std::string_view* suffix) {
  std::size_t i = 0;
  while (i < t.size() && (std::isdigit(static_cast<unsigned char>(t[i])) || t[i] == '.')) ++i;
  if (i == 0) return std::nullopt;
  double v = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + i, v);
  if (ec != std::errc{} || p != t.data() + i || !std::isfinite(v) || v < 0) return std::nullopt;
  *suffix = t.substr(i);
  return v;
}

std::optional<std::uint64_t> scaled(std::string_view text, double base, bool bits_to_bytes) {
  std::string_view suffix;
  auto v = parse_number(text, &suffix);
  if (!v) return std::nullopt;
  double mult = 1;
  if (!suffix.empty()) {
    switch (std::toupper(static_cast<unsigned char>(suffix[0]))) {
      case 'K':
        mult = base;
        break;
      case 'M':
        mult = base * base;
        break;
      case 'G':
        mult = base * base * base;
        break;
      case 'T':
        mult = base * base * base * base;
        break;
      default:
        return std::nullopt;
    }
    suffix.remove_prefix(1);
    // Allow a unit tail: "bit", "bps", "b", "B", "iB".
    if (!(suffix.empty() || suffix == "bit" || suffix == "bps" || suffix == "b" || suffix == "B" ||
          suffix == "iB")) {
      return std::nullopt;
    }
  }
  double r = *v * mult;
  if (bits_to_bytes) r /= 8;
  if (r < 1 || r > 1e18) return std::nullopt;
  return static_cast<std::uint64_t>(r);
}

std::atomic<bool> g_interrupted{false};

void on_signal(int) {
  if (g_interrupted.exchange(true)) _exit(kExitInterrupted);
}

}  // namespace

std::optional<std::uint64_t> parse_rate(std::string_view text) {
  if (text == "max" || text == "MAX") return 0;
  return scaled(text, 1000, true);
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
  return scaled(text, 1024, false);
}

std::optional<std::uint32_t> parse_id(std::string_view text) {
  std::uint32_t id = 0;
  if (text.find('.') != std::string_view::npos) {
    in_addr a{};
    if (::inet_pton(AF_INET, std::string(text).c_str(), &a) != 1) return std::nullopt;
    id = ntohl(a.s_addr);
  } else {
    if (text.starts_with("0x") || text.starts_with("0X")) text.remove_prefix(2);
    if (text.empty() || text.size() > 8) return std::nullopt;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), id, 16);
    if (ec != std::errc{} || p != text.data() + text.size()) return std::nullopt;
  }
  if (id == 0 || id == 0xffffffffu) return std::nullopt;
  return id;
}

std::string format_id(std::uint32_t id) {
  return fmt::format("0x{:08x}", id);
}

std::optional<std::vector<std::uint32_t>> parse_id_list(
    std::string_view text, std::string* why,
    std::vector<std::pair<std::uint32_t, std::string>>* fingerprints) {
  std::vector<std::pair<std::string, std::string>> items;  // ID text, fingerprint text
  if (text.starts_with('@')) {
    const std::string path(text.substr(1));
    std::ifstream in(path);
    if (!in) {
      *why = fmt::format("cannot read host list {}: {}", path, std::strerror(errno));
      return std::nullopt;
    }
    for (std::string line; std::getline(in, line);) {
      line = line.substr(0, line.find('#'));
      std::erase_if(line, [](unsigned char c) { return std::isspace(c) != 0; });
      if (line.empty()) continue;
      const auto bar = line.find('|');
      items.emplace_back(line.substr(0, bar),
                         bar == std::string::npos ? std::string() : line.substr(bar + 1));
    }
  } else {
    std::size_t pos = 0;
    while (pos <= text.size()) {
      const auto comma = text.find(',', pos);
      items.emplace_back(
          text.substr(pos, comma == std::string_view::npos ? text.npos : comma - pos), "");
      if (comma == std::string_view::npos) break;
      pos = comma + 1;
    }
  }
  std::vector<std::uint32_t> ids;
  for (const auto& [item, fp] : items) {
    auto id = parse_id(item);
    if (!id) {
      *why =
          fmt::format("'{}' is not a receiver ID (hex like 0x0a63010b, or an IPv4 address)", item);
      return std::nullopt;
    }
    ids.push_back(*id);
    if (fingerprints != nullptr && !fp.empty()) fingerprints->emplace_back(*id, fp);
  }
  if (ids.empty()) {
    *why = "the host list is empty";
    return std::nullopt;
  }
  return ids;
}

std::uint32_t default_id(const std::string& interface) {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return 0x7f000001;
  std::uint32_t found = 0;
  for (ifaddrs* i = list; i != nullptr && found == 0; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    const auto* sin = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
    const std::uint32_t ip = ntohl(sin->sin_addr.s_addr);
    if (!interface.empty()) {
      char text[INET_ADDRSTRLEN] = {};
      ::inet_ntop(AF_INET, &sin->sin_addr, text, sizeof text);
      if (interface == i->ifa_name || interface == text) found = ip;
    } else if ((i->ifa_flags & IFF_UP) != 0 && (i->ifa_flags & IFF_LOOPBACK) == 0) {
      found = ip;
    }
  }
  ::freeifaddrs(list);
  return found != 0 ? found : 0x7f000001;
}

std::uint32_t random_u32() {
  std::uint32_t v = 0;
  while (::getrandom(&v, sizeof v, 0) != static_cast<ssize_t>(sizeof v)) {
  }
  return v;
}

void random_fill(std::span<std::uint8_t> out) {
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::getrandom(out.data() + done, out.size() - done, 0);
    if (n > 0) done += static_cast<std::size_t>(n);
  }
}

bool setup_logging(const std::string& level, const std::string& file, bool quiet,
                   std::string* why) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") {
    *why = fmt::format("unknown log level '{}' (trace, debug, info, warn, error, off)", level);
    return false;
  }
  std::vector<spdlog::sink_ptr> sinks;
  auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  console->set_level(quiet ? spdlog::level::warn : lvl);
  sinks.push_back(console);
  if (!file.empty()) {
    try {
      auto f = std::make_shared<spdlog::sinks::basic_file_sink_mt>(file);
      f->set_level(lvl);
      sinks.push_back(f);
    } catch (const spdlog::spdlog_ex& e) {
      *why = fmt::format("cannot open log file {}: {}", file, e.what());
      return false;
    }
  }
  auto logger = std::make_shared<spdlog::logger>("volley", sinks.begin(), sinks.end());
  logger->set_level(lvl);
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  return true;
}

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  ::sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
}

const std::atomic<bool>& interrupted() {
  return g_interrupted;
}

bool StatusFile::open(const std::string& path, std::string* why) {
  if (path.empty()) return true;
  f_ = std::fopen(path.c_str(), "a");
  if (f_ == nullptr) {
    *why = fmt::format("cannot open status file {}: {}", path, std::strerror(errno));
    return false;
  }
  return true;
}

void StatusFile::write(const nlohmann::json& j) {
  if (f_ == nullptr) return;
  const std::string line = j.dump() + "\n";
  std::fwrite(line.data(), 1, line.size(), f_);
  std::fflush(f_);
}

StatusFile::~StatusFile() {
  if (f_ != nullptr) std::fclose(f_);
}

ProgressLine::ProgressLine(bool enabled) : enabled_(enabled && ::isatty(STDERR_FILENO) == 1) {}

void ProgressLine::show(const std::string& text) {
  if (!enabled_) return;
  std::fprintf(stderr, "\r\033[K%s", text.c_str());
  std::fflush(stderr);
  shown_ = true;
}

void ProgressLine::clear() {
  if (!enabled_ || !shown_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  shown_ = false;
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f} B", b) : fmt::format("{:.1f} {}", b, units[u]);
}

std::string human_rate(double bps) {
  if (bps >= 1e9) return fmt::format("{:.2f} Gbit/s", bps / 1e9);
  if (bps >= 1e6) return fmt::format("{:.1f} Mbit/s", bps / 1e6);
  return fmt::format("{:.0f} kbit/s", bps / 1e3);
}

}  // namespace volley::app
