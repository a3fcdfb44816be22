// volley: encrypted bulk file distribution over UFTP's wire protocol.
#include <cstdio>

#include "apps/volley/commands.hpp"
#include "apps/volley/common.hpp"

int main(int argc, char** argv) {
  CLI::App app{
      "Volley: reliable bulk file distribution from one head-end to many receivers, by multicast\n"
      "or unicast, over UFTP's wire protocol (stock uftp/uftpd interoperate).\n\n"
      "  volley send [options] PATH...   push files and directories to receivers\n"
      "  volley recv -D DIR [options]    run a receiver in the foreground\n\n"
      "Run 'volley send --help' or 'volley recv --help' for each command's options.",
      "volley"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "volley 0.1.0");
  auto send = volley::app::add_send(app);
  auto recv = volley::app::add_recv(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    (void)app.exit(e);
    return volley::app::kExitUsage;
  }
  if (app.got_subcommand("send")) return send();
  return recv();
}
