// Shared pieces of the `volley` subcommands: option parsing helpers, identities, logging,
// signal handling, the status file and the terminal progress line.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "dataplane/wire/messages.hpp"

namespace volley::app {

// Exit statuses shared by the subcommands.
enum Exit : int {
  kExitOk = 0,
  kExitIncomplete = 1,  // some receiver / session did not get every file
  kExitUsage = 2,       // bad command line
  kExitSetup = 3,       // could not start: socket, files, directories
  kExitInterrupted = 130,
};

// "800M", "10G", "1.5G", "250000" (bits per second; K/M/G/T are powers of 1000) or "max".
// Returns bytes per second (0 = max, unpaced), or nullopt when unreadable.
[[nodiscard]] std::optional<std::uint64_t> parse_rate(std::string_view text);
// "32M", "4194304", "1G" (powers of 1024).
[[nodiscard]] std::optional<std::uint64_t> parse_size(std::string_view text);
// A UFTP node ID: hex ("0x0a63010b" or "a63010b") or a dotted IPv4 address ("10.99.1.11").
// 0 and 0xffffffff are not IDs.
[[nodiscard]] std::optional<std::uint32_t> parse_id(std::string_view text);
[[nodiscard]] std::string format_id(std::uint32_t id);
// "id,id,..." or "@FILE" (one ID per line, '#' comments). A file line may be "ID|FINGERPRINT",
// as uftp's host files have them: the fingerprints (text as written) go to *fingerprints when
// given. Empty optional + *why on error.
[[nodiscard]] std::optional<std::vector<std::uint32_t>> parse_id_list(
    std::string_view text, std::string* why,
    std::vector<std::pair<std::uint32_t, std::string>>* fingerprints = nullptr);
// The IPv4 address of `interface` (a name or an address), or of the first up, non-loopback
// interface when empty; 127.0.0.1 when there is none. As a UFTP ID, this is each node's default.
[[nodiscard]] std::uint32_t default_id(const std::string& interface);
// Random 32 bits / bytes from the kernel.
[[nodiscard]] std::uint32_t random_u32();
void random_fill(std::span<std::uint8_t> out);

// spdlog to stderr (and to `file` when given) at `level` (trace, debug, info, warn, error, off).
// False with *why when the level or file is unusable.
[[nodiscard]] bool setup_logging(const std::string& level, const std::string& file, bool quiet,
                                 std::string* why);

// SIGINT/SIGTERM set this flag (first time); a second signal exits at once.
void install_signal_handlers();
[[nodiscard]] const std::atomic<bool>& interrupted();

// JSON lines, one object per line, flushed per line. A no-op when the path is empty.
class StatusFile {
 public:
  [[nodiscard]] bool open(const std::string& path, std::string* why);
  void write(const nlohmann::json& j);
  ~StatusFile();

 private:
  std::FILE* f_ = nullptr;
};

// A one-line live status on a terminal (stderr), redrawn in place; log lines clear it first.
class ProgressLine {
 public:
  explicit ProgressLine(bool enabled);
  void show(const std::string& text);
  void clear();
  [[nodiscard]] bool enabled() const noexcept { return enabled_; }

 private:
  bool enabled_;
  bool shown_ = false;
};

[[nodiscard]] std::string human_bytes(double bytes);
[[nodiscard]] std::string human_rate(double bits_per_s);

}  // namespace volley::app
