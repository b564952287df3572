// classchat: the command-line client.
#include <unistd.h>

#include <langinfo.h>
#include <clocale>
#include <cstdio>
#include <cstring>

#include <charconv>

#include "client/chat_client.h"
#include "client/completion.h"
#include "client/connection.h"
#include "client/line_editor.h"
#include "client/login.h"
#include "client/options.h"
#include "client/signals.h"
#include "transport/tls_context.h"

namespace {

using namespace classchat::client;

// libedit decodes keystrokes with the C library's multibyte functions, and the contract
// is UTF-8: use the user's locale, or C.UTF-8 when that is not UTF-8.
void setUpLocale() {
  std::setlocale(LC_CTYPE, "");
  if (std::strcmp(::nl_langinfo(CODESET), "UTF-8") != 0) std::setlocale(LC_CTYPE, "C.UTF-8");
}

std::optional<std::uint16_t> parsePort(std::string_view text) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value == 0 || value > 65535) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(value);
}

// Asks for what the command line did not say. A bare `classchat` is a guided start
// that asks for the host and the port too (Enter keeps the default); once the command
// line says any of --host, --port or --name, what it leaves out keeps its default, and
// only a missing name, which has none, is asked for. False at the end of input.
bool askForMissing(LineEditor& editor, ClientOptions& options, bool& nameWasTyped) {
  const bool guided = !options.hostGiven && !options.portGiven && options.name.empty();
  if (guided) {
    const auto host = editor.ask("Server host [" + options.host + "]: ");
    if (!host) return false;
    if (!host->empty()) options.host = *host;
  }
  while (guided) {
    const auto port = editor.ask("Server port [" + std::to_string(options.port) + "]: ");
    if (!port) return false;
    if (port->empty()) break;
    if (const auto value = parsePort(*port)) {
      options.port = *value;
      break;
    }
    editor.printAbove("A port is a number from 1 to 65535.");
  }
  if (options.name.empty()) {
    auto name = askName(editor);
    if (!name) return false;
    options.name = std::move(*name);
    nameWasTyped = true;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  ParsedOptions parsed = parseOptions(argc, argv);
  if (!parsed.options) return parsed.exitStatus;
  ClientOptions options = std::move(*parsed.options);
  if (!options.passwordFile.empty()) {
    // Read now, so that a bad file is reported before anything is asked or sent.
    if (const std::string problem = readPasswordFile(options.passwordFile, options.password);
        !problem.empty()) {
      std::fprintf(stderr, "classchat: %s\n", problem.c_str());
      return kExitUsage;
    }
  }
  setUpLocale();

  Mode mode = Mode::kScript;
  if (options.sendTo) {
    mode = Mode::kSend;
  } else if (options.listen) {
    mode = Mode::kListen;
  } else if (::isatty(STDIN_FILENO) && ::isatty(STDOUT_FILENO)) {
    // With stdout in a pipe or a file, lines typed on the terminal are read like a
    // script's, so the output holds messages and no prompts or cursor movements.
    mode = Mode::kInteractive;
  }

  installSignalHandlers();
  const NameBook* names = nullptr;  // set once the client exists; Tab only works after that
  std::unique_ptr<LineEditor> editor;
  bool nameWasTyped = false;
  if (mode == Mode::kInteractive) {
    editor =
        std::make_unique<LineEditor>(argv[0], stdin, stdout, [&names](std::string_view before) {
          return names != nullptr ? complete(before, *names) : Completion{};
        });
    if (!askForMissing(*editor, options, nameWasTyped)) return kExitOk;
  } else if (options.name.empty()) {
    std::fprintf(stderr, "classchat: --name is required when stdin or stdout is not a terminal\n");
    return kExitUsage;
  }

  std::vector<classchat::net::InetAddress> addresses;
  if (const std::string problem = resolve(options.host, options.port, addresses);
      !problem.empty()) {
    std::fprintf(stderr, "classchat: %s\n", problem.c_str());
    return kExitConnection;
  }
  std::shared_ptr<classchat::transport::TlsContext> tls;
  if (options.tls) {
    std::string error;
    tls = classchat::transport::TlsContext::client(options.caPath, !options.insecure, error);
    if (!tls) {
      std::fprintf(stderr, "classchat: %s\n", error.c_str());
      return kExitUsage;
    }
    if (options.insecure) {
      std::fprintf(stderr,
                   "classchat: WARNING: --insecure: the server's certificate is not checked, so "
                   "anyone on the network can read and change this chat. For tests only.\n");
    }
  }
  std::string name = options.name;
  ChatClient client(std::move(options), mode, std::move(addresses), std::move(name), nameWasTyped,
                    editor.get());
  names = &client.names();
  if (tls) client.useTls(std::move(tls));
  return client.run();
}
