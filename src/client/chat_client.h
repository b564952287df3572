// The classchat program: one connection, the terminal or a script, and the rules that
// tie them together.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "client/backoff.h"
#include "client/completion.h"
#include "client/connection.h"
#include "client/input.h"
#include "client/line_editor.h"
#include "client/line_splitter.h"
#include "client/options.h"
#include "client/output.h"

namespace classchat::client {

// Asks for a username on the terminal until it passes the name rules; nullopt at the
// end of input.
std::optional<std::string> askName(LineEditor& editor);

// Runs a session until the user quits, the input ends, or the connection is lost for
// good. Single-threaded: everything happens in run()'s poll loop.
class ChatClient {
 public:
  // `editor` is required in interactive mode and unused otherwise. `name` is the
  // username to register; `nameWasTyped` allows asking for another when it is refused.
  ChatClient(ClientOptions options, Mode mode, std::vector<net::InetAddress> addresses,
             std::string name, bool nameWasTyped, LineEditor* editor);
  ~ChatClient();

  // Connect with TLS using `context` (--tls). Before run().
  void useTls(std::shared_ptr<transport::TlsContext> context) { tls_ = std::move(context); }

  // Returns the exit status (see ExitStatus).
  int run();

  // The names Tab completes.
  const NameBook& names() const { return names_; }

 private:
  enum class Phase {
    kConnecting,   // TCP connect in progress
    kRegistering,  // name sent, waiting for the welcome or a refusal
    kLoggingIn,    // the name is protected: waiting for the password or the login's answer
    kChatting,
    kFinishing,  // our side is shut; waiting for the server to answer and close
    kWaitingToReconnect,
    kDone,
  };
  using Clock = std::chrono::steady_clock;

  void connect();
  void onConnected();
  void onMessage(const protocol::ServerMessage& message);
  void onClosed(const std::string& reason, bool byPeer);
  void onWelcome(const protocol::ServerMessage& message);
  void onRefused(const protocol::ServerMessage& message);
  void onPasswordRequested();
  void onLoginReply(const protocol::ServerMessage& message);
  // Asks the terminal for the password (without echo), then sends it.
  void askPasswordAndLogin();
  void sendLogin();
  void scheduleReconnect(const std::string& reason);
  // The connection cannot go on: reconnect when `canRetry`, else say `sentence` and end with
  // the connection's exit status.
  void reconnectOrEnd(const std::string& sentence, bool canRetry);
  void finishSession();
  void finish(int status);
  void raiseStatus(int status);
  std::chrono::milliseconds waitTime() const;

  void handleSignals();
  void handleTerminalInput(short revents);
  void handleScriptInput(short revents);
  void runScriptLines();
  void handleLine(const std::string& line);
  void sendToServer(const std::string& to, const std::string& msg);
  bool readingInput() const;
  std::optional<Clock::time_point> nextDeadline() const;
  void handleDeadlines();

  void show(const protocol::ServerMessage& message);
  void notice(const std::string& text, bool problem);
  std::string prompt() const;

  ClientOptions options_;
  Mode mode_;
  std::vector<net::InetAddress> addresses_;
  std::string name_;
  bool nameWasTyped_;
  // The protected name's password: --password-file's, or the one typed, kept so that
  // --reconnect can log in again. Wiped by the destructor; never printed.
  std::string password_;
  bool passwordTyped_ = false;
  int wrongPasswords_ = 0;  // typed passwords the server refused in a row
  LineEditor* editor_;
  bool colour_;
  Output output_;

  std::unique_ptr<ServerConnection> connection_;
  std::shared_ptr<transport::TlsContext> tls_;  // null: plain TCP
  Phase phase_ = Phase::kConnecting;
  int status_ = kExitOk;
  bool welcomedOnce_ = false;
  bool inputEnded_ = false;
  std::size_t scriptLineNumber_ = 0;
  std::string conversation_;
  NameBook names_;
  LineSplitter script_;
  Backoff backoff_;
  std::mt19937 random_;
  std::optional<Clock::time_point> reconnectAt_;
  std::optional<Clock::time_point> answerDeadline_;
};

}  // namespace classchat::client
