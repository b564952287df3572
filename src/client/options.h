// The classchat command line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace classchat::client {

// Exit statuses, documented in --help.
enum ExitStatus : int {
  kExitOk = 0,
  kExitErrorReply = 1,  // the server answered something with "Error: ..."
  kExitUsage = 2,       // bad command line, or a script line that could not be sent
  kExitRefused = 3,     // the server refused the username, or its login (protected names)
  kExitConnection = 4,  // could not connect, lost the connection, or no answer in time
};

// classchatd's default --tls-port.
inline constexpr std::uint16_t kDefaultTlsPort = 65433;

struct ClientOptions {
  std::string host = "127.0.0.1";
  bool hostGiven = false;
  std::uint16_t port = 65432;
  bool portGiven = false;
  std::string name;  // empty: ask
  bool noColor = false;
  bool reconnect = false;
  bool listen = false;
  // --password-file: logs in to a protected name with the file's first line.
  std::string passwordFile;
  // Its first line, read by main() before connecting; never printed.
  std::string password;
  // --send TO MSG
  std::optional<std::string> sendTo;
  std::string sendMsg;
  // Seconds to wait for the connection and the welcome, and for the server's last
  // answers after the end of the input.
  double waitSeconds = 10.0;
  // --tls: verify the server against caPath (empty: the system's trust store), or not at
  // all with --insecure (tests only).
  bool tls = false;
  std::string caPath;
  bool insecure = false;
};

struct ParsedOptions {
  std::optional<ClientOptions> options;  // empty: exit with `exitStatus`
  int exitStatus = kExitOk;
};

// Parses the command line; prints --help or the problem itself. Not thread-safe
// (CLI11 writes to stdout/stderr).
ParsedOptions parseOptions(int argc, const char* const* argv);

}  // namespace classchat::client
