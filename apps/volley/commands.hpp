// The `volley` subcommands: each registers its options on a CLI11 subcommand and runs from them.
#pragma once

#include <CLI/CLI.hpp>

namespace volley::app {

// What every long-running subcommand reports and how: status file, log level and file, quiet.
struct OutputOptions {
  std::string status_file;
  std::string log_level = "info";
  std::string log_file;
  bool quiet = false;
};
inline void add_output_options(CLI::App* c, OutputOptions& o, const char* status_help,
                               const char* quiet_help) {
  c->add_option("--status-file", o.status_file, status_help);
  c->add_option("--log-level", o.log_level, "trace, debug, info, warn, error or off")
      ->capture_default_str();
  c->add_option("--log-file", o.log_file, "also write the log to FILE");
  c->add_flag("-q,--quiet", o.quiet, quiet_help);
}

// Registers `volley send`; the returned callback runs it (after parsing) and gives the exit code.
[[nodiscard]] std::function<int()> add_send(CLI::App& app);
[[nodiscard]] std::function<int()> add_recv(CLI::App& app);
[[nodiscard]] std::function<int()> add_keys(CLI::App& app);

}  // namespace volley::app
