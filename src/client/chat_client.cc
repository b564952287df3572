#include "client/chat_client.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <limits>

#include <fmt/format.h>

#include "client/format.h"
#include "client/login.h"
#include "client/signals.h"
#include "protocol/names.h"
#include "protocol/utf8.h"

namespace classchat::client {
namespace {

constexpr std::chrono::milliseconds kFirstRetry{500};
constexpr std::chrono::milliseconds kLongestRetry{15000};
constexpr std::size_t kUnlimited = std::numeric_limits<std::size_t>::max();
// Typed passwords the server may refuse before classchat gives up.
constexpr int kMaxPasswordTries = 3;
// A wrong password is answered after a second (PROTOCOL.md), on top of the usual wait.
constexpr std::chrono::milliseconds kLoginAnswerDelay{1000};
// A script is read no further while this much is waiting to be sent.
constexpr std::size_t kMaxQueuedBytes = 1 << 20;

// What /help shows; /help server shows the server's own list (JSON fields and all).
constexpr const char* kClientHelp =
    "Commands:\n"
    "@name text      a direct message to name\n"
    "/to name        plain lines then go to name (/to alone ends the conversation)\n"
    "/shout text     a message to everyone online\n"
    "/list [page]    who is online\n"
    "/time           the server's clock\n"
    "/standard       the message format, for programs\n"
    "//text          plain text that starts with /\n"
    "/help server    the server's own list of commands\n"
    "/login password log in to a protected name (the line stays out of the history)\n"
    "/quit           leave (Ctrl-D on an empty line and Ctrl-C too)\n"
    "Tab completes names and commands; Up, Down and Ctrl-R recall earlier lines.";

// The reason in "Error: reason".
std::string_view errorReason(std::string_view msg) {
  if (msg.starts_with("Error:")) msg.remove_prefix(6);
  while (msg.starts_with(' ')) msg.remove_prefix(1);
  return msg;
}

std::string secondsText(std::chrono::milliseconds delay) {
  return fmt::format("{:.1f} s", static_cast<double>(delay.count()) / 1000.0);
}

}  // namespace

std::optional<std::string> askName(LineEditor& editor) {
  for (;;) {
    std::optional<std::string> answer = editor.ask("Your name: ");
    if (!answer) return std::nullopt;
    const std::string problem = describeNameProblem(*answer);
    if (problem.empty()) return answer;
    editor.printAbove(problem);
  }
}

ChatClient::ChatClient(ClientOptions options, Mode mode, std::vector<net::InetAddress> addresses,
                       std::string name, bool nameWasTyped, LineEditor* editor)
    : options_(std::move(options)),
      mode_(mode),
      addresses_(std::move(addresses)),
      name_(std::move(name)),
      nameWasTyped_(nameWasTyped),
      password_(std::move(options_.password)),
      editor_(editor),
      // --send and --listen print plain text and JSON for other programs.
      colour_((mode == Mode::kInteractive || mode == Mode::kScript) &&
              shouldUseColour(options_.noColor, std::getenv("NO_COLOR"), ::isatty(STDOUT_FILENO))),
      output_(mode, colour_, editor),
      backoff_(kFirstRetry, kLongestRetry),
      random_(std::random_device{}()) {}

ChatClient::~ChatClient() {
  wipe(password_);
  wipe(options_.password);
}

int ChatClient::run() {
  connect();
  while (phase_ != Phase::kDone) {
    pollfd fds[3];
    nfds_t count = 0;
    fds[count++] = {signalFd(), POLLIN, 0};
    const int connectionIndex = connection_ ? static_cast<int>(count) : -1;
    if (connection_) fds[count++] = {connection_->fd(), connection_->wantedEvents(), 0};
    const int inputIndex = readingInput() ? static_cast<int>(count) : -1;
    if (inputIndex >= 0) {
      fds[count++] = {mode_ == Mode::kInteractive ? editor_->fd() : STDIN_FILENO, POLLIN, 0};
    }

    int timeoutMs = -1;
    if (const auto deadline = nextDeadline()) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now());
      timeoutMs = static_cast<int>(std::max<std::int64_t>(0, left.count()));
    }
    if (::poll(fds, count, timeoutMs) < 0 && errno != EINTR) {
      notice(fmt::format("poll failed: {}", std::strerror(errno)), true);
      finish(kExitConnection);
      break;
    }
    if (fds[0].revents & POLLIN) handleSignals();
    if (phase_ != Phase::kDone && connectionIndex >= 0 && connection_) {
      connection_->handleEvents(fds[connectionIndex].revents);
    }
    // A closed connection is dropped here, never inside its own callbacks.
    if (connection_ && connection_->state() == ServerConnection::State::kClosed) {
      connection_.reset();
    }
    if (phase_ != Phase::kDone && inputIndex >= 0 && fds[inputIndex].revents != 0) {
      if (mode_ == Mode::kInteractive) {
        handleTerminalInput(fds[inputIndex].revents);
      } else {
        handleScriptInput(fds[inputIndex].revents);
      }
    }
    if (phase_ != Phase::kDone) handleDeadlines();
  }
  if (connection_) connection_->close();
  if (editor_ != nullptr) editor_->stop();
  std::fflush(stdout);
  return status_;
}

// --- connection ----------------------------------------------------------------------

void ChatClient::connect() {
  phase_ = Phase::kConnecting;
  answerDeadline_ = Clock::now() + waitTime();
  ServerConnection::Callbacks callbacks;
  callbacks.onConnected = [this] { onConnected(); };
  callbacks.onMessage = [this](const protocol::ServerMessage& m) { onMessage(m); };
  callbacks.onClosed = [this](const std::string& reason, bool byPeer) { onClosed(reason, byPeer); };
  connection_ = std::make_unique<ServerConnection>(addresses_, std::move(callbacks));
  if (tls_) connection_->useTls(tls_, options_.host);
  connection_->start();
}

void ChatClient::onConnected() {
  phase_ = Phase::kRegistering;
  // The contract: the bare name, alone, in one write.
  connection_->sendRaw(name_);
}

void ChatClient::onMessage(const protocol::ServerMessage& message) {
  if (phase_ == Phase::kRegistering) {
    if (message.fromServer() && classifyLoginReply(message.msg) == LoginReply::kPasswordRequested) {
      onPasswordRequested();
    } else if (message.isError()) {
      onRefused(message);
    } else {
      onWelcome(message);
    }
    return;
  }
  if (phase_ == Phase::kLoggingIn) {
    onLoginReply(message);
    return;
  }
  if (message.fromServer()) {
    names_.learnFromServerReply(message.msg);
    // Scripts learn from the exit status whether anything they sent was refused.
    const bool scripted = mode_ == Mode::kScript || mode_ == Mode::kSend;
    if (message.isError() && scripted) raiseStatus(kExitErrorReply);
  } else {
    names_.addWriter(message.fromName);
  }
  show(message);
}

void ChatClient::onWelcome(const protocol::ServerMessage& message) {
  phase_ = Phase::kChatting;
  answerDeadline_.reset();
  backoff_.reset();
  wrongPasswords_ = 0;
  names_.learnFromServerReply(welcomeAfterLogin(message.msg));
  const bool reconnected = welcomedOnce_;
  welcomedOnce_ = true;
  if (mode_ != Mode::kSend) show(message);
  if (reconnected) notice(fmt::format("Reconnected as {}.", name_), false);

  switch (mode_) {
    case Mode::kInteractive:
      if (!editor_->started()) editor_->start(prompt());
      break;
    case Mode::kSend:
      sendToServer(*options_.sendTo, options_.sendMsg);
      finishSession();
      break;
    case Mode::kScript:
      runScriptLines();
      break;
    case Mode::kListen:
      break;
  }
}

void ChatClient::onRefused(const protocol::ServerMessage& message) {
  connection_->close();
  const std::string_view reason = errorReason(message.msg);
  // After a lost connection the server may not have noticed yet that the old one is
  // gone, so our own name can look taken for a moment: keep trying.
  if (welcomedOnce_ && options_.reconnect &&
      reason.find("already taken") != std::string_view::npos) {
    scheduleReconnect(fmt::format("The server still holds the name {} ({}).", name_, reason));
    return;
  }
  // Every name refusal talks about the username; anything else (a server out of
  // connection slots) turns the connection away, not the name.
  if (reason.find("username") == std::string_view::npos) {
    const std::string sentence =
        asSentence(fmt::format("The server turned the connection away: {}", reason));
    reconnectOrEnd(sentence, options_.reconnect);
    return;
  }
  if (mode_ == Mode::kInteractive && nameWasTyped_ && !welcomedOnce_) {
    notice(asSentence(fmt::format("The server refused that name: {}", reason)), true);
    std::optional<std::string> answer = askName(*editor_);
    if (!answer) {
      finish(kExitRefused);
      return;
    }
    name_ = std::move(*answer);
    // Connect again from the poll loop, not from inside this connection's callback.
    phase_ = Phase::kWaitingToReconnect;
    reconnectAt_ = Clock::now();
    return;
  }
  notice(asSentence(fmt::format("The server refused the name {}: {}", name_, reason)), true);
  finish(kExitRefused);
}

void ChatClient::onPasswordRequested() {
  phase_ = Phase::kLoggingIn;
  answerDeadline_.reset();
  if (!password_.empty()) {
    sendLogin();
    return;
  }
  if (mode_ != Mode::kInteractive) {
    notice(fmt::format("{} is a protected name: give --password-file FILE to log in "
                       "(or run classchat on a terminal to type the password).",
                       name_),
           true);
    finish(kExitRefused);
    return;
  }
  askPasswordAndLogin();
}

void ChatClient::askPasswordAndLogin() {
  // After a reconnect the line editor is running: the question needs the terminal.
  const bool wasEditing = editor_->started();
  if (wasEditing) editor_->stop();
  std::optional<std::string> typed;
  do {
    typed = editor_->askSecret(fmt::format("Password for {}: ", name_));
  } while (typed && typed->empty());
  if (!typed) {
    notice(fmt::format("Not logged in: {} is a protected name.", name_), true);
    finish(kExitRefused);
    return;
  }
  wipe(password_);
  password_ = std::move(*typed);
  wipe(*typed);
  passwordTyped_ = true;
  if (wasEditing) editor_->start(prompt());
  sendLogin();
}

void ChatClient::sendLogin() {
  if (!connection_) return;
  sendToServer("/login", password_);
  answerDeadline_ = Clock::now() + waitTime() + kLoginAnswerDelay;
}

void ChatClient::onLoginReply(const protocol::ServerMessage& message) {
  const LoginReply kind =
      message.fromServer() ? classifyLoginReply(message.msg) : LoginReply::kOther;
  const std::string_view reason = errorReason(message.msg);
  switch (kind) {
    case LoginReply::kLoggedIn:
      onWelcome(message);
      return;
    case LoginReply::kWrongPassword:
      answerDeadline_.reset();
      wipe(password_);
      if (!passwordTyped_) {
        notice(fmt::format("The server refused the password in {}: {}.", options_.passwordFile,
                           reason),
               true);
        finish(kExitRefused);
        return;
      }
      if (++wrongPasswords_ >= kMaxPasswordTries) {
        notice(fmt::format("Wrong password for {}, {} times: giving up.", name_, wrongPasswords_),
               true);
        finish(kExitRefused);
        return;
      }
      notice(fmt::format("Wrong password for {}: try again.", name_), true);
      askPasswordAndLogin();
      return;
    case LoginReply::kTooManyAttempts:
    case LoginReply::kOtherError:
      notice(asSentence(fmt::format("The server refused to log you in as {}: {}", name_, reason)),
             true);
      finish(kExitRefused);
      return;
    case LoginReply::kTimedOut:
      notice(asSentence(fmt::format("Not logged in: the server stopped waiting for the password "
                                    "for {} ({})",
                                    name_, reason)),
             true);
      finish(kExitRefused);
      return;
    case LoginReply::kBusy: {
      const std::string sentence =
          asSentence(fmt::format("The server could not check the password: {}", reason));
      reconnectOrEnd(sentence, options_.reconnect);
      return;
    }
    case LoginReply::kPasswordRequested:
    case LoginReply::kOther:
      break;
  }
  show(message);
}

void ChatClient::onClosed(const std::string& reason, bool byPeer) {
  switch (phase_) {
    case Phase::kFinishing:
      if (byPeer) {
        finish(status_);
        return;
      }
      break;
    case Phase::kConnecting:
    case Phase::kRegistering:
    case Phase::kLoggingIn:
    case Phase::kChatting:
      break;
    case Phase::kWaitingToReconnect:
    case Phase::kDone:
      return;
  }
  std::string sentence = reason;
  if (phase_ == Phase::kConnecting && !welcomedOnce_ && !options_.reconnect &&
      sentence.find("TLS handshake failed") == std::string::npos) {
    sentence.pop_back();  // the full stop
    sentence += " (is classchatd running there?).";
  } else if (phase_ == Phase::kRegistering) {
    sentence = "The server closed the connection before answering the name.";
  } else if (phase_ == Phase::kLoggingIn) {
    sentence = "The server closed the connection before answering the login.";
  }
  // Lines already in the script, or the rest of a --send, cannot be delivered now.
  reconnectOrEnd(sentence, options_.reconnect && phase_ != Phase::kFinishing);
}

void ChatClient::reconnectOrEnd(const std::string& sentence, bool canRetry) {
  if (canRetry) {
    scheduleReconnect(sentence);
    return;
  }
  notice(sentence, true);
  finish(kExitConnection);
}

void ChatClient::scheduleReconnect(const std::string& reason) {
  const auto delay = backoff_.next(std::uniform_real_distribution<double>(0.0, 1.0)(random_));
  notice(fmt::format("{} Reconnecting in {}...", reason, secondsText(delay)), true);
  if (connection_) connection_->close();
  phase_ = Phase::kWaitingToReconnect;
  answerDeadline_.reset();
  reconnectAt_ = Clock::now() + delay;
}

void ChatClient::finishSession() {
  if (!connection_ || phase_ == Phase::kFinishing) return;
  phase_ = Phase::kFinishing;
  answerDeadline_ = Clock::now() + waitTime();
  connection_->finishSending();
}

std::chrono::milliseconds ChatClient::waitTime() const {
  return std::chrono::milliseconds(static_cast<std::int64_t>(options_.waitSeconds * 1000));
}

void ChatClient::finish(int status) {
  raiseStatus(status);
  phase_ = Phase::kDone;
}

void ChatClient::raiseStatus(int status) {
  // The most serious problem decides the exit status.
  status_ = std::max(status_, status);
}

std::optional<ChatClient::Clock::time_point> ChatClient::nextDeadline() const {
  if (reconnectAt_ && answerDeadline_) return std::min(*reconnectAt_, *answerDeadline_);
  return reconnectAt_ ? reconnectAt_ : answerDeadline_;
}

void ChatClient::handleDeadlines() {
  const auto now = Clock::now();
  if (reconnectAt_ && now >= *reconnectAt_) {
    reconnectAt_.reset();
    connect();
    return;
  }
  if (answerDeadline_ && now >= *answerDeadline_) {
    answerDeadline_.reset();
    const bool waitingForEnd = phase_ == Phase::kFinishing;
    const std::string sentence =
        waitingForEnd
            ? fmt::format("The server did not finish answering within {} s.", options_.waitSeconds)
            : fmt::format("The server did not answer within {} s.", options_.waitSeconds);
    if (connection_) connection_->close();
    reconnectOrEnd(sentence, !waitingForEnd && options_.reconnect);
  }
}

// --- input ---------------------------------------------------------------------------

bool ChatClient::readingInput() const {
  switch (mode_) {
    case Mode::kInteractive:
      return editor_->started();
    case Mode::kScript:
      // Lines are only read while they can be sent (a reconnecting script waits), and
      // not faster than the server takes them.
      return phase_ == Phase::kChatting && !inputEnded_ && connection_ &&
             connection_->queuedBytes() < kMaxQueuedBytes;
    case Mode::kSend:
    case Mode::kListen:
      break;
  }
  return false;
}

void ChatClient::handleSignals() {
  for (const int signo : takeSignals()) {
    if (signo == SIGWINCH) {
      if (editor_ != nullptr) editor_->resize();
      continue;
    }
    // Interactive sessions and listeners are normally ended this way.
    const bool normalEnd = mode_ == Mode::kInteractive || mode_ == Mode::kListen;
    finish(normalEnd ? status_ : 128 + signo);
    return;
  }
}

void ChatClient::handleTerminalInput(short revents) {
  if (revents & (POLLHUP | POLLERR | POLLNVAL)) {
    finish(status_);  // the terminal went away
    return;
  }
  std::string line;
  switch (editor_->readChar(line)) {
    case LineEditor::Event::kNone:
      break;
    case LineEditor::Event::kLine:
      handleLine(line);
      break;
    case LineEditor::Event::kEndOfInput:
      finish(status_);
      break;
  }
}

void ChatClient::handleScriptInput(short revents) {
  if (revents & POLLNVAL) {
    script_.finish();
  } else if (revents & (POLLIN | POLLHUP | POLLERR)) {
    char buffer[65536];
    const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
    if (n > 0) {
      script_.feed(std::string_view(buffer, static_cast<std::size_t>(n)));
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      script_.finish();
    }
  }
  runScriptLines();
}

void ChatClient::runScriptLines() {
  while (phase_ == Phase::kChatting && !inputEnded_ && connection_ &&
         connection_->queuedBytes() < kMaxQueuedBytes) {
    std::optional<std::string> line = script_.next();
    if (!line) break;
    ++scriptLineNumber_;
    handleLine(*line);
  }
  if (phase_ == Phase::kChatting && !inputEnded_ && script_.exhausted()) inputEnded_ = true;
  if (phase_ == Phase::kChatting && inputEnded_) finishSession();
}

void ChatClient::handleLine(const std::string& line) {
  const InputAction action = parseInput(line, conversation_);
  switch (action.kind) {
    case InputKind::kNothing:
      return;
    case InputKind::kQuit:
      if (mode_ == Mode::kInteractive) {
        finish(status_);
      } else {
        inputEnded_ = true;
      }
      return;
    case InputKind::kHelp:
      notice(kClientHelp, false);
      return;
    case InputKind::kHint:
      if (mode_ == Mode::kScript) {
        notice(fmt::format("line {}: {}", scriptLineNumber_, action.hint), true);
        raiseStatus(kExitUsage);
      } else {
        notice(action.hint, false);
      }
      return;
    case InputKind::kOpenConversation:
      conversation_ = action.to;
      if (mode_ == Mode::kInteractive) {
        editor_->setPrompt(prompt());
        notice(fmt::format("Plain lines now go to {}. /to alone ends the conversation.",
                           conversation_),
               false);
      }
      return;
    case InputKind::kCloseConversation:
      if (mode_ == Mode::kInteractive) {
        if (!conversation_.empty()) notice("Conversation ended.", false);
        conversation_.clear();
        editor_->setPrompt(prompt());
      }
      conversation_.clear();
      return;
    case InputKind::kSend:
      break;
  }
  if (phase_ != Phase::kChatting || !connection_) {
    notice("Not connected: not sent.", true);
    return;
  }
  sendToServer(action.to, action.msg);
}

void ChatClient::sendToServer(const std::string& to, const std::string& msg) {
  // The contract is UTF-8; a stray byte from the terminal or a script becomes U+FFFD.
  if (!protocol::isValidUtf8(msg) || !protocol::isValidUtf8(to)) {
    connection_->sendMessage(name_, protocol::sanitizeForEcho(to, kUnlimited),
                             protocol::sanitizeForEcho(msg, kUnlimited));
    return;
  }
  connection_->sendMessage(name_, to, msg);
}

// --- output --------------------------------------------------------------------------

void ChatClient::show(const protocol::ServerMessage& message) {
  output_.message(message);
  if (output_.readerGone()) finish(status_);  // nobody reads us any more: stop too
}

void ChatClient::notice(const std::string& text, bool problem) {
  output_.notice(text, problem);
}

std::string ChatClient::prompt() const {
  std::string text = name_;
  if (!conversation_.empty()) text += " -> " + conversation_;
  if (!colour_) return text + "> ";
  // "\1" brackets bytes that take no room on screen (see LineEditor::start).
  return fmt::format("\1\033[1m\1{}\1\033[0m\1> ", text);
}

}  // namespace classchat::client
