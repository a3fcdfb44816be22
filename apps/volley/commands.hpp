// The `volley` subcommands: each registers its options on a CLI11 subcommand and runs from them.
#pragma once

#include <CLI/CLI.hpp>

namespace volley::app {

// Registers `volley send`; the returned callback runs it (after parsing) and gives the exit code.
[[nodiscard]] std::function<int()> add_send(CLI::App& app);
[[nodiscard]] std::function<int()> add_recv(CLI::App& app);
[[nodiscard]] std::function<int()> add_keys(CLI::App& app);

}  // namespace volley::app
