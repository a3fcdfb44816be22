// volley: encrypted bulk file distribution over UFTP's wire protocol.
#include <cstdio>

#include "apps/volley/commands.hpp"
#include "apps/volley/common.hpp"

int main(int argc, char** argv) {
  CLI::App app{
      "Volley: reliable bulk file distribution from one head-end to many receivers, by multicast\n"
      "or unicast, over UFTP's wire protocol (stock uftp/uftpd interoperate).\n\n"
      "  volley send [options] PATH...   push files and directories to receivers\n"
      "  volley recv -D DIR [options]    run a receiver in the foreground\n"
      "  volley keys gen|show ...        make and inspect signing keys\n\n"
      "Run 'volley send --help' (or recv, keys) for each command's options.",
      "volley"};
  app.footer(
      "Examples:\n"
      "  volley recv -D /srv/incoming --sessions 1\n"
      "      receive one session on 230.4.4.1, port 1044, then exit\n"
      "  volley send -R 800M /srv/images/disk.img\n"
      "      multicast a file at 800 Mbit/s to every receiver that answers\n\n"
      "Exit status: 0 success; 1 incomplete; 2 bad command line; 3 could not start;\n"
      "130 interrupted.");
  app.require_subcommand(1);
  app.set_version_flag("--version", "volley 0.1.0");
  auto send = volley::app::add_send(app);
  auto recv = volley::app::add_recv(app);
  auto keys = volley::app::add_keys(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // CLI11 reports an unknown command word as "A subcommand is required": name it instead.
    if (app.get_subcommands().empty() && !app.remaining().empty() &&
        !app.remaining().front().starts_with('-')) {
      std::fprintf(stderr, "volley: unknown command '%s' (commands: send, recv, keys)\n%s\n",
                   app.remaining().front().c_str(), "Run with --help for more information.");
      return volley::app::kExitUsage;
    }
    (void)app.exit(e);
    return volley::app::kExitUsage;
  }
  if (app.got_subcommand("send")) return send();
  if (app.got_subcommand("keys")) return keys();
  return recv();
}
