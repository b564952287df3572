#include "server/chat_loop.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "protocol/handshake.h"
#include "protocol/json_writer.h"
#include "protocol/names.h"
#include "protocol/utf8.h"
#include "protocol/wire.h"
#include "server/commands.h"
#include "server/replies.h"
#include "transport/websocket_session.h"

namespace classchat::server {
namespace {

// How long a wrong password waits for its answer.
constexpr auto kWrongPasswordDelay = std::chrono::seconds(1);
// Held shouts past this many bytes go at once rather than at the end of their window.
constexpr std::size_t kMaxHeldShoutBytes = 1u << 20;

Session& sessionOf(const net::TcpConnection& connection) {
  return *static_cast<Session*>(connection.context());
}

// Untrusted text quoted inside an error reply: valid UTF-8, short.
std::string quoted(std::string_view text) {
  return protocol::sanitizeForEcho(text, 40);
}

// Why a connection ended, for classchat_disconnects_total: what the server decided, else
// what the socket layer said.
DisconnectReason disconnectReasonOf(const Session& session, std::string_view closeReason) {
  if (session.disconnectReason != DisconnectReason::kClient) return session.disconnectReason;
  if (closeReason.starts_with("slow consumer")) return DisconnectReason::kSlowConsumer;
  if (closeReason.starts_with("read error") || closeReason.starts_with("write error")) {
    return DisconnectReason::kError;
  }
  return DisconnectReason::kClient;
}

}  // namespace

// Receives the frames of one read for one session and acts on them. Also the command
// context for commands that session sends.
class ChatLoop::Dispatch final : public protocol::FrameSink, public CommandContext {
 public:
  Dispatch(ChatLoop& chat, net::TcpConnection& connection, Session& session)
      : chat_(chat), connection_(connection), session_(session) {}

  void onObject(std::string_view object) override {
    if (!active()) return;
    if (session_.awaitingHub > 0 || !session_.heldObjects.empty()) {
      chat_.holdObject(connection_, session_, object);
      return;
    }
    handleObject(object);
  }

  // One whole JSON object from the client, in its turn.
  void handleObject(std::string_view object) {
    if (!active()) return;
    if (session_.phase == Session::Phase::kAwaitingName) {
      registerFromObject(object);
      return;
    }
    if (session_.phase == Session::Phase::kAwaitingLogin) {
      loginOnly(object);
      return;
    }
    // Budgets are checked before parsing, so a flood costs as little as possible.
    if (!withinMessageBudget()) return;
    protocol::ParseResult parsed = chat_.parser_.parse(object);
    if (!parsed.message) {
      chat_.sendError(connection_, session_, parsed.error);
      return;
    }
    handleMessage(*parsed.message);
  }

  void onGarbage(std::string_view text) override {
    if (!active() || !withinMessageBudget()) return;
    chat_.sendError(
        connection_, session_,
        fmt::format("expected a JSON object, skipped text starting '{}'", quoted(text)));
  }

  void onOversize(std::size_t limit) override {
    if (!active()) return;
    if (session_.phase == Session::Phase::kAwaitingName) {
      chat_.refuse(connection_, session_, "",
                   fmt::format("first message larger than {} bytes", limit),
                   RefusalReason::kHandshakeTooLarge);
      return;
    }
    if (!withinMessageBudget()) return;
    chat_.sendError(connection_, session_,
                    fmt::format("message larger than {} bytes skipped", limit));
  }

  // CommandContext
  std::string_view senderName() const override { return session_.name; }
  std::string_view senderIp() const override { return connection_.peerIp(); }
  net::ConnectionId senderConnection() const override { return connection_.id(); }
  Hub& hub() override { return *chat_.hub_; }
  bool senderIsAdmin() const override {
    return session_.admin && session_.phase == Session::Phase::kRegistered;
  }
  Moderation& moderation() override { return chat_.moderation_; }
  void login(std::string_view password) override {
    chat_.startLogin(connection_, session_, password);
  }
  void reply(std::string_view text) override {
    chat_.sendServerReply(connection_, session_.name, text);
  }
  // Each LaterReply handed out is used exactly once (replyTo counts it back).
  LaterReply replyLater() override {
    ++session_.awaitingHub;
    return LaterReply(chat_, connection_.id());
  }

 private:
  bool active() const {
    return connection_.state() == net::TcpConnection::State::kOpen &&
           session_.phase != Session::Phase::kRefused &&
           session_.phase != Session::Phase::kClaiming;
  }

  bool withinMessageBudget() {
    return (session_.phase != Session::Phase::kRegistered &&
            session_.phase != Session::Phase::kAwaitingLogin) ||
           chat_.withinBudget(connection_, session_, session_.messageBudget, chat_.now_, "messages",
                              chat_.options_.messageRate);
  }

  // A JSON-first client registers with its first object's from.name.
  void registerFromObject(std::string_view object) {
    protocol::ParseResult parsed = chat_.parser_.parseForRegistration(object);
    if (!parsed.message || !parsed.message->fromName) {
      chat_.refuse(connection_, session_, "",
                   "send your username first, or a JSON object whose from.name is your username",
                   RefusalReason::kInvalidName);
      return;
    }
    if (!chat_.registerName(connection_, session_, *parsed.message->fromName)) return;
    // Registering does not touch the parser, so the views are still valid. The object is
    // processed as a message too when it has a `to` (only /login for a protected name).
    if (!parsed.message->hasTo) return;
    if (session_.phase == Session::Phase::kRegistered) {
      handleMessage(*parsed.message);
    } else if (const Command* command = findCommand(parsed.message->to);
               command != nullptr && command->name == "/login") {
      command->handler(*this, *parsed.message);
    }
  }

  // A protected name before /login: nothing but /login is accepted.
  void loginOnly(std::string_view object) {
    if (!withinMessageBudget()) return;
    protocol::ParseResult parsed = chat_.parser_.parse(object);
    if (!parsed.message) {
      chat_.sendError(connection_, session_, parsed.error);
      return;
    }
    const Command* command = findCommand(parsed.message->to);
    if (command == nullptr || command->name != "/login") {
      reply(
          fmt::format("Error: '{}' is a protected name: log in first with "
                      "{{\"to\":\"/login\",\"msg\":\"PASSWORD\"}}",
                      session_.name));
      return;
    }
    command->handler(*this, *parsed.message);
  }

  // DMs and shouts are refused while the sender is muted; everything else works.
  bool muted() {
    if (session_.mutedUntil <= std::chrono::system_clock::now()) return false;
    const auto left = std::chrono::ceil<std::chrono::minutes>(session_.mutedUntil -
                                                              std::chrono::system_clock::now());
    reply(
        fmt::format("Error: you are muted for {} more minute(s); you can still read and use "
                    "/list, /time and /help",
                    left.count()));
    return true;
  }

  void handleMessage(const protocol::ClientMessage& message) {
    // Checked first: about 2 ns per message at the default level, where the unguarded
    // SPDLOG_DEBUG costs about 15 ns (it builds its arguments before spdlog looks).
    if (spdlog::should_log(spdlog::level::debug)) {
      spdlog::debug("conn {} {} -> {}", connection_.id(), session_.name, message.to);
    }
    if (!message.to.empty() && message.to.front() == '/') {
      const Command* command = findCommand(message.to);
      (command != nullptr && command->rateClass == RateClass::kShout ? chat_.metrics_.shouts
                                                                     : chat_.metrics_.commands)
          .add();
      if (command == nullptr) {
        reply(fmt::format("Error: unknown command '{}' (see /help)", quoted(message.to)));
        return;
      }
      if (command->adminOnly && !senderIsAdmin()) {
        reply(fmt::format("Error: {} is for the teacher: log in to an admin account first",
                          command->name));
        return;
      }
      if (command->name == "/shout" && muted()) return;
      if (command->rateClass == RateClass::kShout &&
          !chat_.withinBudget(connection_, session_, session_.shoutBudget, chat_.now_,
                              command->name == "/shout" ? "shouts" : "shouts and /list requests",
                              chat_.options_.shoutRate)) {
        return;
      }
      command->handler(*this, message);
      return;
    }
    chat_.metrics_.directMessages.add();
    if (muted()) return;
    sendDirect(message);
  }

  void sendDirect(const protocol::ClientMessage& message) {
    if (!message.msg) {
      reply(message.msgPresentButNotString
                ? std::string("Error: 'msg' must be a string")
                : fmt::format("Error: message to '{}' has no 'msg' field", quoted(message.to)));
      return;
    }
    const DirectOutcome sent = chat_.hub_->sendDirect(DirectMessage{
        message.to, session_.name, connection_.peerIp(), *message.msg, connection_.id()});
    if (sent.status != DirectStatus::kSent) {
      chat_.replyDirectFailure(connection_, session_, sent.name.empty() ? message.to : sent.name,
                               sent.status);
    }
  }

  ChatLoop& chat_;
  net::TcpConnection& connection_;
  Session& session_;
};

ChatLoop::ChatLoop(net::EventLoop& loop, std::uint32_t loopIndex, const net::InetAddress& address,
                   const HubFactory& hubFactory, ConnectionLimiter& limiter,
                   const ServerOptions& options, const Accounts& accounts, Moderation& moderation,
                   PasswordVerifier& verifier)
    : loop_(loop),
      options_(options),
      limiter_(limiter),
      accounts_(accounts),
      moderation_(moderation),
      verifier_(verifier),
      tcp_(loop, loopIndex, address, *this,
           net::TcpServerOptions{options.maxOutputBytes, options.drainTimeout, true,
                                 options.keepAlive, options.sendBufferBytes}),
      hub_(hubFactory(loop, loopIndex, *this)),
      heldShouts_(options.shoutBatchWindow, kMaxHeldShoutBytes) {
  // The loop's own bound is a backstop above the hub's shares, which come first and tell
  // the sender; the slack covers directory updates queued beside the batches.
  if (options.maxLoopQueueBytes != 0) {
    loop_.setMaxPendingBytes(options.maxLoopQueueBytes + (1 << 20));
  }
  tcp_.setOverloadReply(
      protocol::serverFrame("", "Error: the server has no free connection slots; try again later"));
  loop_.addBeforeSleepHook([this] {
    if (shuttingDown_ && tcp_.connectionCount() == 0 && tcp_.lingeringCount() == 0 &&
        webSockets_.empty()) {
      loop_.quit();
    }
  });
  if (options_.idleTimeout.count() > 0) scheduleIdleSweep();
  if (options_.http && options_.webSocketPingInterval.count() > 0) scheduleWebSocketPings();
}

net::TcpConnection* ChatLoop::findConnection(net::ConnectionId id) const {
  if (net::TcpConnection* connection = tcp_.find(id)) return connection;
  if (webSockets_.empty()) return nullptr;
  const auto found = webSockets_.find(id);
  return found == webSockets_.end() ? nullptr : found->second;
}

void ChatLoop::adoptWebSocket(net::TcpConnection& connection, std::string_view early) {
  // From here on the connection is a chat connection like a TCP one, whose bytes are
  // WebSocket frames: the WebSocketSession turns them into text messages for
  // onChatBytes, and frames everything the chat sends.
  auto owned = std::make_unique<Session>(options_.maxMessageBytes);
  owned->webSocket =
      std::make_unique<transport::WebSocketSession>(connection, *this, options_.maxMessageBytes);
  // A text message arrives whole: a name in it never waits for more pieces (--name-wait-ms
  // is for byte streams).
  owned->nameWaitOver = true;
  connection.setContext(std::move(owned));
  webSockets_.emplace(connection.id(), &connection);
  metrics_.webSocketConnections.add();
  if (shuttingDown_) {
    // The HTTP port still answers while the chat drains; a new chat session is not begun.
    sessionOf(connection).disconnectReason = DisconnectReason::kShutdown;
    connection.closeAfterFlush("server shutting down");
    return;
  }
  admit(connection, sessionOf(connection));
  if (!early.empty()) onAdoptedData(connection, early);
}

void ChatLoop::onAdoptedData(net::TcpConnection& connection, std::string_view bytes) {
  metrics_.bytesReceived.add(bytes.size());
  // One clock read per read, shared by the messages in it (as on TCP).
  now_ = Session::Clock::now();
  sessionOf(connection).webSocket->receive(bytes);
}

void ChatLoop::onAdoptedClosed(net::TcpConnection& connection) {
  onClosed(connection);
  webSockets_.erase(connection.id());
  // The HTTP server's before-sleep hook runs after the one that checks whether the loop
  // may quit: wake the loop once more so that the check sees this close.
  if (shuttingDown_ && webSockets_.empty()) loop_.post([] {});
}

void ChatLoop::onWebSocketText(net::TcpConnection& connection, std::string_view text) {
  Session& session = sessionOf(connection);
  onChatBytes(connection, session, text);
  // Each text frame carries whole JSON objects: an unfinished one is not carried over to
  // the next frame, where it would swallow a well-formed message.
  if (session.decoder.insideObject() && connection.state() == net::TcpConnection::State::kOpen &&
      session.phase != Session::Phase::kClaiming) {
    session.decoder = protocol::FrameDecoder(options_.maxMessageBytes);
    sendError(connection, session, "a text frame must hold one whole JSON object; skipped");
  }
}

std::uint16_t ChatLoop::webSocketCloseCode(const net::TcpConnection& connection) {
  switch (sessionOf(connection).disconnectReason) {
    case DisconnectReason::kShutdown:
      return transport::kWsGoingAway;
    case DisconnectReason::kRefused:
    case DisconnectReason::kKicked:
    case DisconnectReason::kFlood:
    case DisconnectReason::kIdle:
    case DisconnectReason::kSlowConsumer:
      return transport::kWsPolicy;
    case DisconnectReason::kError:
    case DisconnectReason::kCount:
      return transport::kWsInternalError;
    case DisconnectReason::kClient:
      break;
  }
  return transport::kWsNormal;
}

void ChatLoop::scheduleWebSocketPings() {
  loop_.runAfter(options_.webSocketPingInterval, [this] {
    if (shuttingDown_) return;
    for (const auto& [id, connection] : webSockets_) {
      if (connection->state() != net::TcpConnection::State::kOpen) continue;
      if (!sessionOf(*connection).webSocket->heartbeat()) {
        connection->closeAfterFlush("websocket: no answer to a ping");
      }
    }
    scheduleWebSocketPings();
  });
}

void ChatLoop::onConnected(net::TcpConnection& connection) {
  connection.setContext(std::make_unique<Session>(options_.maxMessageBytes));
  metrics_.tcpConnections.add();
  admit(connection, sessionOf(connection));
}

void ChatLoop::admit(net::TcpConnection& connection, Session& session) {
  const auto now = Session::Clock::now();
  session.lastActivity = now;
  session.messageBudget = TokenBucket(options_.messageRate, options_.messageBurst, now);
  session.shoutBudget = TokenBucket(options_.shoutRate, options_.shoutBurst, now);
  spdlog::info("conn {} connected from {}:{}{}", connection.id(), connection.peerIp(),
               connection.peerPort(), session.webSocket ? " (WebSocket)" : "");

  switch (limiter_.admit(connection.peerIp())) {
    case Admission::kAdmitted:
      session.counted = true;
      break;
    case Admission::kServerFull:
      refuse(connection, session, "",
             fmt::format("the server is full ({} connections); try again later",
                         options_.maxConnections),
             RefusalReason::kServerFull);
      return;
    case Admission::kAddressFull:
      refuse(connection, session, "",
             fmt::format("too many connections from your address (limit {})",
                         options_.maxConnectionsPerIp),
             RefusalReason::kAddressFull);
      return;
  }
  if (const std::optional<Ban> ban = moderation_.banOn(connection.peerIp(), true)) {
    refuse(connection, session, "",
           fmt::format("your address is banned {}{}{}", describeUntil(ban->until),
                       ban->reason.empty() ? "" : ": ", ban->reason),
           RefusalReason::kBanned);
    return;
  }
  if (options_.handshakeTimeout.count() > 0) {
    session.handshakeTimer = loop_.runAfter(
        options_.handshakeTimeout, [this, id = connection.id()] { handleHandshakeTimeout(id); });
  }
}

void ChatLoop::onData(net::TcpConnection& connection, std::string_view bytes) {
  metrics_.bytesReceived.add(bytes.size());
  now_ = Session::Clock::now();
  onChatBytes(connection, sessionOf(connection), bytes);
}

void ChatLoop::onChatBytes(net::TcpConnection& connection, Session& session,
                           std::string_view bytes) {
  if (session.phase == Session::Phase::kRefused) return;
  session.lastActivity = now_;
  if (session.phase == Session::Phase::kAwaitingName ||
      session.phase == Session::Phase::kClaiming) {
    if (!keepHandshakeRead(connection, session, bytes)) return;
    // While a taken name waits for its second try, reads are only kept, to be replayed.
    if (session.phase == Session::Phase::kClaiming) return;
  }
  std::string joined;  // a name's earlier pieces and this read, viewed by `bytes`
  if (session.phase == Session::Phase::kAwaitingName && !session.jsonFirst &&
      !takeName(connection, session, bytes, joined)) {
    return;
  }
  Dispatch dispatch(*this, connection, session);
  session.decoder.feed(bytes, dispatch);
}

bool ChatLoop::takeName(net::TcpConnection& connection, Session& session, std::string_view& bytes,
                        std::string& joined) {
  if (!session.namePieces.empty()) {
    joined = std::move(session.namePieces);
    session.namePieces.clear();
    joined.append(bytes);
    bytes = joined;
  }
  // The first read holds the bare name; whatever follows it is already messages.
  const protocol::HandshakeSplit split = protocol::splitHandshake(bytes);
  if (!split.terminated && !session.nameWaitOver && options_.nameWait.count() > 0) {
    // Perhaps only the first piece of the name: wait (once, from the first piece) for
    // the rest or a terminator. A client that sends its name whole and waits for the
    // welcome loses only this wait.
    session.namePieces.assign(bytes);
    if (session.nameWaitTimer == 0) {
      session.nameWaitTimer = loop_.runAfter(
          options_.nameWait, [this, id = connection.id()] { handleNameWaitOver(id); });
    }
    return false;
  }
  session.nameWaitOver = true;
  if (session.nameWaitTimer != 0) {
    loop_.cancelTimer(session.nameWaitTimer);
    session.nameWaitTimer = 0;
  }
  if (!joined.empty()) {
    // A replay after a taken name must see the pieces as the one name they were.
    session.handshakeReads.assign(1, joined);
  }
  if (split.jsonFirst) {
    session.jsonFirst = true;
  } else if (!registerName(connection, session, split.name)) {
    return false;
  }
  bytes = split.rest;
  return true;
}

void ChatLoop::handleNameWaitOver(net::ConnectionId id) {
  net::TcpConnection* connection = findConnection(id);
  if (connection == nullptr) return;
  Session& session = sessionOf(*connection);
  session.nameWaitTimer = 0;
  session.nameWaitOver = true;
  if (session.phase != Session::Phase::kAwaitingName || session.jsonFirst ||
      session.namePieces.empty() || connection->state() != net::TcpConnection::State::kOpen) {
    return;
  }
  // No terminator came: the name is what arrived.
  now_ = Session::Clock::now();
  std::string joined;
  std::string_view bytes;
  if (!takeName(*connection, session, bytes, joined)) return;
  Dispatch dispatch(*this, *connection, session);
  session.decoder.feed(bytes, dispatch);
}

void ChatLoop::onClosed(net::TcpConnection& connection) {
  Session& session = sessionOf(connection);
  if (session.handshakeTimer != 0) loop_.cancelTimer(session.handshakeTimer);
  if (session.nameWaitTimer != 0) loop_.cancelTimer(session.nameWaitTimer);
  if (session.counted) limiter_.release(connection.peerIp());
  (session.webSocket ? metrics_.webSocketConnections : metrics_.tcpConnections).subtract();
  metrics_.disconnected(disconnectReasonOf(session, connection.closeReason()));
  if (session.phase == Session::Phase::kAwaitingLogin) {
    hub_->release(session.name, connection.id());
    spdlog::info("conn {} ({}) disconnected before logging in: {}", connection.id(), session.name,
                 connection.closeReason());
  } else if (session.phase == Session::Phase::kRegistered) {
    metrics_.registeredUsers.subtract();
    hub_->release(session.name, connection.id());
    spdlog::info("conn {} ({}) disconnected: {}", connection.id(), session.name,
                 connection.closeReason());
  } else {
    spdlog::info("conn {} disconnected before registering: {}", connection.id(),
                 connection.closeReason());
  }
}

bool ChatLoop::registerName(net::TcpConnection& connection, Session& session,
                            std::string_view name) {
  // A claim answered later comes back here with the replayed handshake.
  std::unique_ptr<ClaimOutcome> decided = std::move(session.decidedClaim);
  if (decided && decided->name != name) {  // not the name it was for: ask again
    if (decided->result == ClaimResult::kClaimed) hub_->release(decided->name, connection.id());
    decided.reset();
  }
  // A name already granted is given back when the session is refused before using it.
  auto undoClaim = [&] {
    if (decided && decided->result == ClaimResult::kClaimed) {
      hub_->release(decided->name, connection.id());
    }
  };
  const protocol::NameVerdict verdict = protocol::checkName(name);
  if (verdict != protocol::NameVerdict::kValid) {
    undoClaim();
    refuse(connection, session, name, protocol::describeRefusal(verdict, name),
           RefusalReason::kInvalidName);
    return false;
  }
  if (const std::optional<Ban> ban = moderation_.banOn(name, false)) {
    undoClaim();
    refuse(connection, session, name,
           fmt::format("'{}' is banned {}{}{}", name, describeUntil(ban->until),
                       ban->reason.empty() ? "" : ": ", ban->reason),
           RefusalReason::kBanned);
    return false;
  }
  std::optional<ClaimOutcome> outcome;
  if (decided) {
    outcome = std::move(*decided);
  } else {
    outcome = hub_->claim(name, connection.id(), [this, id = connection.id()](ClaimOutcome answer) {
      finishClaim(id, std::move(answer));
    });
  }
  if (!outcome) {
    // The answer comes later: reads are kept meanwhile and replayed with it.
    session.phase = Session::Phase::kClaiming;
    return false;
  }
  if (outcome->result == ClaimResult::kUnavailable) {
    refuse(connection, session, name, "the chat directory is unavailable, try again",
           RefusalReason::kDirectoryUnavailable);
    return false;
  }
  if (outcome->result == ClaimResult::kTaken) {
    if (!session.claimRetried) {
      // Its owner may have closed already, with the close not yet read by the owner's
      // loop: the owner's loop checks, releases the name if the old peer is gone, and then
      // the handshake is replayed for one more try.
      session.phase = Session::Phase::kClaiming;
      session.claimRetried = true;
      hub_->checkOwnerGone(name, [this, id = connection.id()] { replayHandshake(id); });
      return false;
    }
    refuse(connection, session, name, fmt::format("username '{}' is already taken", name),
           RefusalReason::kNameTaken);
    return false;
  }
  session.name = std::string(name);
  std::vector<std::string>().swap(session.handshakeReads);
  session.handshakeBytes = 0;
  if (session.handshakeTimer != 0) {
    loop_.cancelTimer(session.handshakeTimer);
    session.handshakeTimer = 0;
  }
  if (const std::optional<WallClock::time_point> until = moderation_.mutedUntil(name)) {
    session.mutedUntil = *until;
  }
  if (accounts_.snapshot()->find(name) != nullptr) {
    // A protected name: held (nobody else can take it) but unusable until /login.
    session.phase = Session::Phase::kAwaitingLogin;
    spdlog::info("conn {} claimed protected name {}; waiting for /login", connection.id(),
                 session.name);
    const auto seconds = std::chrono::duration<double>(options_.loginTimeout).count();
    sendServerReply(connection, session.name,
                    fmt::format("'{}' is a protected name: log in within {:g} s with "
                                "{{\"to\":\"/login\",\"msg\":\"PASSWORD\"}}",
                                session.name, seconds));
    session.handshakeTimer = loop_.runAfter(
        options_.loginTimeout, [this, id = connection.id()] { handleHandshakeTimeout(id); });
    return true;
  }
  markRegistered(session);
  spdlog::info("conn {} registered as {}", connection.id(), session.name);
  sendWelcome(connection, session, outcome->welcome);
  return true;
}

void ChatLoop::finishClaim(net::ConnectionId id, ClaimOutcome outcome) {
  net::TcpConnection* connection = findConnection(id);
  Session* session = connection != nullptr ? &sessionOf(*connection) : nullptr;
  if (session == nullptr || connection->state() != net::TcpConnection::State::kOpen ||
      session->phase != Session::Phase::kClaiming || session->decidedClaim) {
    // Closed, refused (the handshake timeout) or otherwise moved on: nobody will use it.
    if (outcome.result == ClaimResult::kClaimed) hub_->release(outcome.name, id);
    return;
  }
  session->decidedClaim = std::make_unique<ClaimOutcome>(std::move(outcome));
  replayHandshake(id);
}

void ChatLoop::sendWelcome(net::TcpConnection& connection, Session& session,
                           const DirectoryPage& head, std::string_view prefix) {
  static_assert(kClaimPageNames >= kWelcomeNames + 1);
  const std::string_view name = session.name;
  std::vector<std::string_view> others(head.names.begin(), head.names.end());
  std::erase_if(others, [&](std::string_view other) { return protocol::namesEqual(other, name); });
  // The session holds its name, so the count includes it.
  const std::size_t othersCount = head.online > 0 ? head.online - 1 : 0;
  sendServerReply(connection, session.name,
                  std::string(prefix) + welcomeText(session.name, others, othersCount));
}

void ChatLoop::sendWelcomeWhenRead(net::ConnectionId id, std::string prefix) {
  auto send = [this, id, prefix = std::move(prefix)](const DirectoryPage& head) {
    net::TcpConnection* connection = findConnection(id);
    if (connection == nullptr || connection->state() != net::TcpConnection::State::kOpen) return;
    Session& session = sessionOf(*connection);
    if (session.phase != Session::Phase::kRegistered) return;
    sendWelcome(*connection, session, head, prefix);
  };
  if (const std::optional<DirectoryPage> head = hub_->readNames(0, kClaimPageNames, send)) {
    send(*head);
  }
}

void ChatLoop::startLogin(net::TcpConnection& connection, Session& session,
                          std::string_view password) {
  auto reply = [&](std::string_view text) { sendServerReply(connection, session.name, text); };
  if (session.phase != Session::Phase::kAwaitingLogin) {
    reply(session.loggedIn ? "Error: you are already logged in"
                           : fmt::format("Error: '{}' is not a protected name; there is nothing "
                                         "to log in to",
                                         session.name));
    return;
  }
  if (session.loginPending) {
    reply("Error: your last /login is still being checked");
    return;
  }
  const auto blocked = moderation_.loginBlockedFor(session.name, connection.peerIp());
  if (blocked.count() > 0) {
    spdlog::warn("conn {}: login for {} from {} refused: too many wrong passwords", connection.id(),
                 session.name, connection.peerIp());
    reply(
        fmt::format("Error: too many wrong passwords for '{}' or from your address; try again "
                    "in {} s",
                    session.name, blocked.count()));
    return;
  }
  const auto table = accounts_.snapshot();
  const Account* account = table->find(session.name);
  if (account == nullptr) {  // removed by a reload meanwhile: the name is no longer protected
    finishLogin(connection.id(), true);
    return;
  }
  session.loginPending = true;
  session.admin = account->role == Role::kAdmin;
  const bool queued = verifier_.submit(account->hash, std::string(password),
                                       [loop = &loop_, this, id = connection.id()](bool ok) {
                                         loop->post([this, id, ok] { finishLogin(id, ok); });
                                       });
  if (!queued) {
    session.loginPending = false;
    reply("Error: the server is busy checking passwords; try again in a moment");
  }
}

void ChatLoop::finishLogin(net::ConnectionId id, bool ok) {
  net::TcpConnection* connection = findConnection(id);
  if (connection == nullptr || connection->state() != net::TcpConnection::State::kOpen) return;
  Session& session = sessionOf(*connection);
  session.loginPending = false;
  if (session.phase != Session::Phase::kAwaitingLogin) return;
  if (!ok) {
    moderation_.loginFailed(session.name, connection->peerIp());
    spdlog::warn("conn {}: wrong password for {} from {}", id, session.name, connection->peerIp());
    // The answer waits, so guessing costs the guesser time as well as attempts.
    loop_.runAfter(kWrongPasswordDelay, [this, id] {
      net::TcpConnection* c = findConnection(id);
      if (c == nullptr || c->state() != net::TcpConnection::State::kOpen) return;
      Session& s = sessionOf(*c);
      sendServerReply(*c, s.name, fmt::format("Error: wrong password for '{}'", s.name));
    });
    return;
  }
  moderation_.loginSucceeded(session.name);
  if (session.handshakeTimer != 0) {
    loop_.cancelTimer(session.handshakeTimer);
    session.handshakeTimer = 0;
  }
  markRegistered(session);
  session.loggedIn = true;
  spdlog::info("conn {} logged in as {}{}", id, session.name, session.admin ? " (admin)" : "");
  // One frame: the class's clients read each recv() as one object.
  sendWelcomeWhenRead(id, session.admin
                              ? "Logged in as admin (/help lists the teacher's commands). "
                              : "Logged in. ");
}

void ChatLoop::actLocal(net::ConnectionId id, const SessionAction& action) {
  deliverHeldShouts();  // before a kick's notice, say
  net::TcpConnection* connection = findConnection(id);
  if (connection == nullptr || connection->state() != net::TcpConnection::State::kOpen) return;
  applyAction(*connection, sessionOf(*connection), action);
}

void ChatLoop::actOnAddressLocal(std::string_view address, const SessionAction& action) {
  deliverHeldShouts();
  forEachConnection([&](net::TcpConnection& connection) {
    if (connection.peerIp() == address && connection.state() == net::TcpConnection::State::kOpen) {
      applyAction(connection, sessionOf(connection), action);
    }
  });
}

void ChatLoop::applyAction(net::TcpConnection& connection, Session& session,
                           const SessionAction& action) {
  switch (action.kind) {
    case SessionAction::Kind::kDisconnect:
      sendServerReply(connection, session.name, action.notice);
      session.disconnectReason = DisconnectReason::kKicked;
      connection.closeAfterFlush(action.logReason);
      return;
    case SessionAction::Kind::kMute:
      session.mutedUntil = action.until;
      sendServerReply(connection, session.name, action.notice);
      return;
    case SessionAction::Kind::kUnmute:
      session.mutedUntil = {};
      sendServerReply(connection, session.name, action.notice);
      return;
  }
}

void ChatLoop::dropRemovedAccounts() {
  const auto table = accounts_.snapshot();
  forEachConnection([&](net::TcpConnection& connection) {
    Session& session = sessionOf(connection);
    const bool holdsAccount = session.loggedIn || session.phase == Session::Phase::kAwaitingLogin;
    if (!holdsAccount || table->find(session.name) != nullptr) return;
    if (session.phase == Session::Phase::kAwaitingLogin) {
      // No longer protected: nothing to log in to.
      if (session.handshakeTimer != 0) loop_.cancelTimer(session.handshakeTimer);
      session.handshakeTimer = 0;
      markRegistered(session);
      sendWelcomeWhenRead(connection.id());
      return;
    }
    spdlog::info("conn {} ({}): account removed from the accounts file; disconnecting",
                 connection.id(), session.name);
    applyAction(connection, session,
                SessionAction{SessionAction::Kind::kDisconnect,
                              "Error: your account was removed by the server's operator",
                              "account removed",
                              {}});
  });
}

bool ChatLoop::keepHandshakeRead(net::TcpConnection& connection, Session& session,
                                 std::string_view bytes) {
  // The first object of a JSON-first client is at most maxMessageBytes; a bare name
  // comes in one read. More than that before registration is not a handshake.
  const std::size_t limit = options_.maxMessageBytes + loop_.readBufferSize();
  session.handshakeBytes += bytes.size();
  if (session.handshakeBytes > limit) {
    refuse(connection, session, "", fmt::format("more than {} bytes before the username", limit),
           RefusalReason::kHandshakeTooLarge);
    return false;
  }
  session.handshakeReads.emplace_back(bytes);
  return true;
}

void ChatLoop::replayHandshake(net::ConnectionId id) {
  net::TcpConnection* connection = findConnection(id);
  if (connection == nullptr) return;
  Session& session = sessionOf(*connection);
  if (session.phase != Session::Phase::kClaiming) return;
  std::vector<std::string> reads;
  reads.swap(session.handshakeReads);
  session.handshakeBytes = 0;
  session.phase = Session::Phase::kAwaitingName;
  session.jsonFirst = false;
  session.decoder = protocol::FrameDecoder(options_.maxMessageBytes);
  now_ = Session::Clock::now();
  for (const std::string& read : reads) {
    if (connection->state() != net::TcpConnection::State::kOpen) break;
    onChatBytes(*connection, session, read);
  }
  // A late claim's answer that the replay did not use (the connection closed meanwhile).
  if (session.decidedClaim) {
    if (session.decidedClaim->result == ClaimResult::kClaimed) {
      hub_->release(session.decidedClaim->name, id);
    }
    session.decidedClaim.reset();
  }
}

void ChatLoop::refuse(net::TcpConnection& connection, Session& session,
                      std::string_view attemptedName, const std::string& reason,
                      RefusalReason why) {
  session.phase = Session::Phase::kRefused;
  session.disconnectReason = DisconnectReason::kRefused;
  metrics_.refused(why);
  spdlog::info("conn {} refused: {}", connection.id(), reason);
  sendServerReply(connection, protocol::sanitizeForEcho(attemptedName, 32), "Error: " + reason);
  connection.closeAfterFlush("refused: " + reason);
}

void ChatLoop::replyTo(net::ConnectionId id, std::string_view text) {
  net::TcpConnection* connection = findConnection(id);
  if (connection == nullptr) return;
  Session& session = sessionOf(*connection);
  if (session.awaitingHub > 0) --session.awaitingHub;
  if (connection->state() != net::TcpConnection::State::kOpen) return;
  sendServerReply(*connection, session.name, text);
  // Held messages go on in a task of their own: this may run inside a handler.
  if (session.awaitingHub == 0 && !session.heldObjects.empty()) {
    loop_.post([this, id] { releaseHeld(id); });
  }
}

bool ChatLoop::holdObject(net::TcpConnection& connection, Session& session,
                          std::string_view object) {
  // A hub answers within milliseconds; a client that sends this much meanwhile floods.
  if (session.heldBytes + object.size() > options_.maxOutputBytes) {
    sendError(connection, session,
              "too much sent while an earlier command was being answered; disconnecting");
    session.disconnectReason = DisconnectReason::kFlood;
    connection.closeAfterFlush("flooding while a command was being answered");
    return false;
  }
  session.heldBytes += object.size();
  session.heldObjects.emplace_back(object);
  return true;
}

void ChatLoop::releaseHeld(net::ConnectionId id) {
  net::TcpConnection* connection = findConnection(id);
  if (connection == nullptr) return;
  Session& session = sessionOf(*connection);
  now_ = Session::Clock::now();
  Dispatch dispatch(*this, *connection, session);
  std::size_t handled = 0;
  // Stops again as soon as a held message's command owes a reply in turn.
  while (handled < session.heldObjects.size() && session.awaitingHub == 0 &&
         connection->state() == net::TcpConnection::State::kOpen) {
    const std::string object = std::move(session.heldObjects[handled++]);
    session.heldBytes -= object.size();
    dispatch.handleObject(object);
  }
  session.heldObjects.erase(session.heldObjects.begin(),
                            session.heldObjects.begin() + static_cast<std::ptrdiff_t>(handled));
  if (connection->state() != net::TcpConnection::State::kOpen) {
    std::vector<std::string>().swap(session.heldObjects);
    session.heldBytes = 0;
  }
}

void ChatLoop::directFailed(net::ConnectionId sender, std::string_view to, DirectStatus why) {
  net::TcpConnection* connection = findConnection(sender);
  if (connection == nullptr || connection->state() != net::TcpConnection::State::kOpen) return;
  replyDirectFailure(*connection, sessionOf(*connection), to, why);
}

void ChatLoop::replyDirectFailure(net::TcpConnection& connection, const Session& session,
                                  std::string_view to, DirectStatus why) {
  switch (why) {
    case DirectStatus::kSent:
      return;
    case DirectStatus::kNotFound:
      if (protocol::namesEqual(to, protocol::kEveryone)) {
        sendServerReply(connection, session.name,
                        "Error: user 'Everyone' not found (to message everyone, use /shout)");
      } else {
        sendServerReply(connection, session.name,
                        fmt::format("Error: user '{}' not found", quoted(to)));
      }
      return;
    case DirectStatus::kShed:
      sendServerReply(connection, session.name,
                      fmt::format("Error: the server is too busy; message to '{}' dropped", to));
      return;
    case DirectStatus::kUnavailable:
      sendServerReply(
          connection, session.name,
          fmt::format("Error: the chat directory is unavailable; message to '{}' not sent, try "
                      "again",
                      quoted(to)));
      return;
  }
}

void ChatLoop::sendError(net::TcpConnection& connection, const Session& session,
                         std::string_view text) {
  sendServerReply(connection, session.name, fmt::format("Error: {}", text));
}

void ChatLoop::sendServerReply(net::TcpConnection& connection, std::string_view to,
                               std::string_view text) {
  // A shout held back for this session arrived before this reply, so it goes first. Not
  // for a shouter's own "Message sent to N users", which would undo the batching.
  if (heldShouts_.holding()) {
    const Session& session = sessionOf(connection);
    if (session.phase == Session::Phase::kRegistered &&
        heldShouts_.holdsFor(connection.id(), session.registeredOrder)) {
      deliverHeldShouts();
    }
  }
  frame_.clear();
  protocol::appendServerFrame(frame_, to, text);
  connection.send(frame_);
}

void ChatLoop::handleHandshakeTimeout(net::ConnectionId id) {
  net::TcpConnection* connection = findConnection(id);
  if (connection == nullptr) return;
  Session& session = sessionOf(*connection);
  session.handshakeTimer = 0;
  if (session.phase == Session::Phase::kAwaitingLogin) {
    // Refusing leaves the login phase, so the name is released here, not in onClosed.
    hub_->release(session.name, connection->id());
    refuse(*connection, session, session.name,
           fmt::format("no /login within {} ms", options_.loginTimeout.count()),
           RefusalReason::kLoginTimeout);
    return;
  }
  if (session.phase != Session::Phase::kAwaitingName &&
      session.phase != Session::Phase::kClaiming) {
    return;
  }
  refuse(*connection, session, "",
         fmt::format("no username received within {} ms", options_.handshakeTimeout.count()),
         RefusalReason::kHandshakeTimeout);
}

bool ChatLoop::withinBudget(net::TcpConnection& connection, Session& session, TokenBucket& budget,
                            Session::Clock::time_point now, std::string_view what, double rate) {
  if (budget.tryTake(now)) return true;
  metrics_.rateLimited.add();
  constexpr auto kFloodWindow = std::chrono::seconds(10);
  if (now - session.floodWindowStart > kFloodWindow) {
    session.floodWindowStart = now;
    session.droppedInWindow = 0;
  }
  ++session.droppedInWindow;
  if (options_.floodDisconnect != 0 && session.droppedInWindow > options_.floodDisconnect) {
    // Aborted, not drained: a flooder is not owed its backlog. The error line goes out if
    // the kernel takes it at once; onClosed frees the name as usual. A WebSocket is
    // drained instead, so that its close frame (1008) says why; --drain-timeout still
    // bounds how long it may take to read it.
    sendError(connection, session, "disconnected for flooding");
    session.disconnectReason = DisconnectReason::kFlood;
    std::string reason =
        fmt::format("flooding: more than {} messages over the rate limits within 10 s",
                    options_.floodDisconnect);
    if (session.webSocket) {
      connection.closeAfterFlush(std::move(reason));
    } else {
      connection.abort(std::move(reason));
    }
    return false;
  }
  if (now - session.lastRateLimitReply >= std::chrono::seconds(1)) {
    session.lastRateLimitReply = now;
    sendError(connection, session,
              fmt::format("rate limit: at most {:g} {} per second; {} dropped", rate, what,
                          what == "shouts"     ? "shout"
                          : what == "messages" ? "message"
                                               : "/list"));
  }
  return false;
}

void ChatLoop::scheduleIdleSweep() {
  // One sweep every quarter of the timeout, but at least once a second and at most every
  // 10 ms: a silent client is closed at most min(timeout / 4, 1 s) late. (So a 300 s
  // timeout sweeps 300 times per timeout, each a pass over this loop's connections.)
  const auto interval =
      std::min<std::chrono::milliseconds>(options_.idleTimeout / 4, std::chrono::seconds(1));
  loop_.runAfter(std::max(interval, std::chrono::milliseconds(10)), [this] {
    if (shuttingDown_) return;
    closeIdleConnections();
    scheduleIdleSweep();
  });
}

void ChatLoop::closeIdleConnections() {
  const auto deadline = Session::Clock::now() - options_.idleTimeout;
  forEachConnection([&](net::TcpConnection& connection) {
    Session& session = sessionOf(connection);
    if (session.phase != Session::Phase::kRegistered || session.lastActivity >= deadline) return;
    const auto seconds = std::chrono::duration<double>(options_.idleTimeout).count();
    sendError(connection, session,
              fmt::format("idle for more than {:g} s; disconnecting", seconds));
    session.disconnectReason = DisconnectReason::kIdle;
    connection.closeAfterFlush(fmt::format("idle for more than {:g} s", seconds));
  });
}

void ChatLoop::deliverLocal(net::ConnectionId id, std::string_view frame) {
  deliverHeldShouts();  // a sender's shout, then its DM: in order
  net::TcpConnection* connection = findConnection(id);
  if (connection == nullptr || sessionOf(*connection).phase != Session::Phase::kRegistered) return;
  metrics_.deliveries.add();
  connection->send(frame);
}

bool ChatLoop::releaseIfPeerGone(net::ConnectionId id) {
  using State = net::TcpConnection::State;
  net::TcpConnection* connection = tcp_.find(id);
  // Not here any more: its name was released when it closed.
  if (connection == nullptr) return false;
  Session& session = sessionOf(*connection);
  if (session.phase != Session::Phase::kRegistered) return false;
  // Reads what the peer sent (a bounded number of reads) until the kernel can tell: the
  // peer hung up (its end of stream may sit behind input, or behind data its kernel has
  // not sent yet for want of window), or nothing more is waiting, so it is still there.
  // What a leaving peer sent before leaving still counts as sent.
  constexpr int kMaxCatchUpReads = 64;
  for (int reads = 0;; ++reads) {
    if (connection->state() == State::kClosed) break;
    const net::TcpConnection::PeerStatus status = connection->peerStatus();
    if (status.hungUp) {
      for (; reads < kMaxCatchUpReads && connection->state() == State::kOpen; ++reads) {
        connection->handleEvent(EPOLLIN);  // the last read sees the end and starts the close
      }
      if (connection->state() == State::kOpen) {
        connection->close("peer closed the connection (input left unread)");
      }
      break;
    }
    if (!status.inputWaiting || reads >= kMaxCatchUpReads || connection->state() != State::kOpen) {
      return false;
    }
    connection->handleEvent(EPOLLIN);
  }
  spdlog::info("conn {} ({}) left before its close was read; name released for a reconnect", id,
               session.name);
  hub_->release(session.name, id);  // onClosed releases again later, which is harmless
  return true;
}

void ChatLoop::markRegistered(Session& session) {
  session.phase = Session::Phase::kRegistered;
  session.registeredOrder = ++registrations_;
  metrics_.registeredUsers.add();
}

void ChatLoop::deliverToAllLocal(std::string_view frame, net::ConnectionId except) {
  if (heldShouts_.enabled()) {
    const auto now = ShoutCoalescer::Clock::now();
    if (heldShouts_.mustHold(now)) {
      heldShouts_.hold(frame, except, registrations_);
      metrics_.shoutsHeld.add();
      if (heldShouts_.full()) {
        deliverHeldShouts();
      } else if (heldShoutsTimer_ == 0) {
        const auto wait = std::max(heldShouts_.dueAt() - now, ShoutCoalescer::Clock::duration{});
        heldShoutsTimer_ = loop_.runAfter(wait, [this] {
          heldShoutsTimer_ = 0;
          deliverHeldShouts();
        });
      }
      return;
    }
    heldShouts_.delivered(now);
  }
  deliverShoutNow(frame, except);
}

void ChatLoop::deliverHeldShouts() {
  if (!heldShouts_.holding()) return;  // the common case: one test on the DM path
  if (heldShoutsTimer_ != 0) {         // armed only while something is held
    loop_.cancelTimer(heldShoutsTimer_);
    heldShoutsTimer_ = 0;
  }
  // All in this iteration: each listener's output gets every frame, and one write at its end.
  const ShoutCoalescer::Held held = heldShouts_.take(ShoutCoalescer::Clock::now());
  for (const ShoutCoalescer::Held::Item& item : held.items) {
    deliverShoutNow(held.frame(item), item.except, item.audience);
  }
}

void ChatLoop::deliverShoutNow(std::string_view frame, net::ConnectionId except,
                               std::uint64_t audience) {
  forEachConnection([&](net::TcpConnection& connection) {
    const Session& session = sessionOf(connection);
    if (connection.id() != except && session.phase == Session::Phase::kRegistered &&
        session.registeredOrder <= audience) {
      metrics_.deliveries.add();
      connection.send(frame);
    }
  });
}

void ChatLoop::beginShutdown() {
  deliverHeldShouts();  // before the goodbye
  shuttingDown_ = true;
  tcp_.stopAccepting();
  forEachConnection([&](net::TcpConnection& connection) {
    Session& session = sessionOf(connection);
    session.disconnectReason = DisconnectReason::kShutdown;
    if (session.phase == Session::Phase::kRegistered) {
      sendServerReply(connection, session.name, "Server shutting down");
    }
    connection.closeAfterFlush("server shutting down");
  });
  loop_.runAfter(options_.shutdownGrace, [this] { loop_.quit(); });
}

}  // namespace classchat::server
