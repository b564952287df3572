#include "client/options.h"

#include <cstdio>

#include <CLI/CLI.hpp>

#include "protocol/wire.h"

namespace classchat::client {
namespace {

constexpr const char* kDescription =
    "classchat: the command-line client for classchatd.\n"
    "Interactive when stdin and stdout are terminals (line editing, history, Tab completes\n"
    "usernames from the last /list and from people who wrote to you). Run with no options,\n"
    "it asks for the host, the port and your name; otherwise it asks only for a missing\n"
    "--name, and --host and --port keep their defaults.";

constexpr const char* kFooter = R"(Typing (interactive, and each line of a script):
  @NAME TEXT     direct message to NAME
  /to NAME       start a conversation: plain lines now go to NAME (/to alone ends it)
  TEXT           goes to the open conversation (without one you get a hint)
  //TEXT         plain text that starts with '/'
  /shout TEXT    everyone online
  /list [PAGE]   who is online       /time   the server's clock
  /help          these commands      /help server   the server's list (JSON-level)
  /standard      the JSON message format
  /CMD ARGS      any other command goes to the server as {"to":"/CMD","msg":"ARGS"}
  /quit          leave (Ctrl-D and Ctrl-C too)
  /login PASSWORD
                 log in to a protected name (the line is kept out of the history)

Protected names (a server started with --accounts):
  The server asks for the name's password before the welcome. With --password-file FILE,
  classchat sends the file's first line (FILE must be readable only by you, e.g. chmod
  600; a pipe such as <(pass show alice) works too), and again after each --reconnect.
  Without it, on a terminal, classchat asks "Password for NAME: " without echo, three
  times at most; with --reconnect it logs in again with the password it was given.
  Without it in a script, --send or --listen, classchat exits with status 3.
  The password is never printed, logged, or kept in the history.

Scripted use:
  classchat --name bot --send bob "hello"      send one message and exit
  printf '@bob hi\n/shout x\n' | classchat --name bot
                 otherwise each input line is handled as if typed
  classchat --name logger --listen | jq .msg   print every received message as one
                                               JSON line, until the server closes
  After --send, or at the end of a script's input, classchat half-closes the connection;
  the server answers everything it received and then closes, so every reply has arrived
  before classchat exits (it gives up after --wait seconds). Received messages are printed
  without colour when stdout is not a terminal, with --no-color, or when NO_COLOR is set.

Exit status:
  0  success
  1  the server answered with an error (e.g. "Error: user 'bob' not found")
  2  bad command line, or a script line that could not be sent (the hint is on stderr)
  3  the server refused the username (taken, invalid or reserved), or the login to a
     protected name failed (wrong password, too many tries, no password in a script)
  4  could not connect, the connection was lost, or no answer within --wait seconds)";

}  // namespace

ParsedOptions parseOptions(int argc, const char* const* argv) {
  ClientOptions options;
  std::vector<std::string> send;
  CLI::App app{kDescription, "classchat"};
  app.footer(kFooter);
  app.get_formatter()->column_width(30);
  auto* host = app.add_option("--host", options.host,
                              "Server address or host name (asked when no option is given)")
                   ->default_str(options.host)
                   ->type_name("HOST");
  auto* port =
      app.add_option("--port", options.port, "Server TCP port (asked when no option is given)")
          ->default_str(std::to_string(protocol::kDefaultPort))
          ->type_name("PORT")
          ->check(CLI::Range(1, 65535).description(""));
  app.add_option("--name", options.name, "Your username (asked if not given)")->type_name("NAME");
  app.add_flag("--no-color", options.noColor, "Never colour the output");
  auto* reconnect = app.add_flag(
      "--reconnect", options.reconnect,
      "When the connection is lost, retry with growing delays (0.5 s doubling to 15 s) "
      "and register again");
  app.add_option("--password-file", options.passwordFile,
                 "Log in to a protected name with FILE's first line (FILE readable only by you)")
      ->type_name("FILE");
  auto* sendOption =
      app.add_option("--send", send, "Send MSG to TO (a username or a /command) and exit")
          ->expected(2)
          ->type_name("TO MSG");
  auto* listen = app.add_flag("--listen", options.listen,
                              "Print each received message as one JSON line; read no input");
  app.add_option("--wait", options.waitSeconds,
                 "Seconds to wait for the server to connect and answer the name, and for its "
                 "last answers after --send or the end of input")
      ->capture_default_str()
      ->type_name("SECONDS")
      ->check(CLI::PositiveNumber.description(""));
  app.add_flag("--tls", options.tls,
               "Connect with TLS (the server's --tls-port; --port then defaults to 65433)");
  app.add_option("--ca", options.caPath,
                 "With --tls: trust the certificates in this PEM file instead of the system's")
      ->check(CLI::ExistingFile)
      ->type_name("FILE");
  app.add_flag("--insecure", options.insecure,
               "With --tls: do not verify the server's certificate (for tests only)");
  sendOption->excludes(listen);
  reconnect->excludes(sendOption);

  ParsedOptions result;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int status = app.exit(e);
    result.exitStatus = status == 0 ? kExitOk : kExitUsage;
    return result;
  }
  options.hostGiven = host->count() > 0;
  options.portGiven = port->count() > 0;
  if ((!options.caPath.empty() || options.insecure) && !options.tls) {
    std::fputs("classchat: --ca and --insecure go with --tls\n", stderr);
    result.exitStatus = kExitUsage;
    return result;
  }
  if (options.tls && !options.portGiven) options.port = kDefaultTlsPort;
  if (send.size() == 2) {
    options.sendTo = send[0];
    options.sendMsg = send[1];
  }
  result.options = std::move(options);
  return result;
}

}  // namespace classchat::client
