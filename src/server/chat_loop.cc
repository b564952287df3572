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

namespace classchat::server {
namespace {

Session& sessionOf(const net::TcpConnection& connection) {
  return *static_cast<Session*>(connection.context());
}

// Untrusted text quoted inside an error reply: valid UTF-8, short.
std::string quoted(std::string_view text) {
  return protocol::sanitizeForEcho(text, 40);
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
    if (session_.phase == Session::Phase::kAwaitingName) {
      registerFromObject(object);
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
                   fmt::format("first message larger than {} bytes", limit));
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
  Hub& hub() override { return chat_.hub_; }
  void reply(std::string_view text) override {
    chat_.frame_.clear();
    protocol::appendMessageFrame(chat_.frame_, protocol::kServerName, protocol::kServerIp,
                                 session_.name, text);
    connection_.send(chat_.frame_);
  }

 private:
  bool active() const {
    return connection_.state() == net::TcpConnection::State::kOpen &&
           session_.phase != Session::Phase::kRefused &&
           session_.phase != Session::Phase::kClaiming;
  }

  bool withinMessageBudget() {
    return session_.phase != Session::Phase::kRegistered ||
           chat_.withinBudget(connection_, session_, session_.messageBudget, chat_.now_, "messages",
                              chat_.options_.messageRate);
  }

  // A JSON-first client registers with its first object's from.name.
  void registerFromObject(std::string_view object) {
    protocol::ParseResult parsed = chat_.parser_.parseForRegistration(object);
    if (!parsed.message || !parsed.message->fromName) {
      chat_.refuse(connection_, session_, "",
                   "send your username first, or a JSON object whose from.name is your username");
      return;
    }
    if (!chat_.registerName(connection_, session_, *parsed.message->fromName)) return;
    // Registering does not touch the parser, so the views are still valid. The object is
    // processed as a message too when it has a `to`.
    if (parsed.message->hasTo) handleMessage(*parsed.message);
  }

  void handleMessage(const protocol::ClientMessage& message) {
    SPDLOG_DEBUG("conn {} {} -> {}", connection_.id(), session_.name, message.to);
    if (!message.to.empty() && message.to.front() == '/') {
      const Command* command = findCommand(message.to);
      if (command == nullptr) {
        reply(fmt::format("Error: unknown command '{}' (see /help)", quoted(message.to)));
        return;
      }
      if (command->rateClass == RateClass::kShout &&
          !chat_.withinBudget(connection_, session_, session_.shoutBudget, chat_.now_,
                              command->name == "/shout" ? "shouts" : "shouts and /list requests",
                              chat_.options_.shoutRate)) {
        return;
      }
      command->handler(*this, message);
      return;
    }
    sendDirect(message);
  }

  void sendDirect(const protocol::ClientMessage& message) {
    if (!message.msg) {
      reply(message.msgPresentButNotString
                ? std::string("Error: 'msg' must be a string")
                : fmt::format("Error: message to '{}' has no 'msg' field", quoted(message.to)));
      return;
    }
    const std::optional<OnlineUser> recipient = chat_.hub_.find(message.to);
    if (!recipient) {
      if (protocol::namesEqual(message.to, protocol::kEveryone)) {
        reply("Error: user 'Everyone' not found (to message everyone, use /shout)");
      } else {
        reply(fmt::format("Error: user '{}' not found", quoted(message.to)));
      }
      return;
    }
    std::string& frame = chat_.frame_;
    frame.clear();
    protocol::appendMessageFrame(frame, session_.name, connection_.peerIp(), recipient->name,
                                 *message.msg);
    if (chat_.hub_.sendTo(*recipient, frame) == SendResult::kShed) {
      reply(fmt::format("Error: the server is too busy; message to '{}' dropped", recipient->name));
    }
  }

  ChatLoop& chat_;
  net::TcpConnection& connection_;
  Session& session_;
};

ChatLoop::ChatLoop(net::EventLoop& loop, std::uint32_t loopIndex, const net::InetAddress& address,
                   NameRegistry& registry, ConnectionLimiter& limiter, const ServerOptions& options)
    : loop_(loop),
      options_(options),
      limiter_(limiter),
      tcp_(loop, loopIndex, address, *this,
           net::TcpServerOptions{options.maxOutputBytes, options.drainTimeout, true,
                                 options.keepAlive}),
      hub_(loop, loopIndex, registry, *this, LocalHubOptions{options.maxLoopQueueBytes}) {
  // The loop's own bound is a backstop above the hub's shares, which come first and tell
  // the sender; the slack covers directory updates queued beside the batches.
  if (options.maxLoopQueueBytes != 0) {
    loop_.setMaxPendingBytes(options.maxLoopQueueBytes + (1 << 20));
  }
  tcp_.setOverloadReply(
      protocol::serverFrame("", "Error: the server has no free connection slots; try again later"));
  loop_.addBeforeSleepHook([this] {
    if (shuttingDown_ && tcp_.connectionCount() == 0) loop_.quit();
  });
  if (options_.idleTimeout.count() > 0) scheduleIdleSweep();
}

void ChatLoop::onConnected(net::TcpConnection& connection) {
  const auto now = Session::Clock::now();
  auto owned = std::make_unique<Session>(options_.maxMessageBytes);
  Session& session = *owned;
  connection.setContext(std::move(owned));
  session.lastActivity = now;
  session.messageBudget = TokenBucket(options_.messageRate, options_.messageBurst, now);
  session.shoutBudget = TokenBucket(options_.shoutRate, options_.shoutBurst, now);
  spdlog::info("conn {} connected from {}:{}", connection.id(), connection.peerIp(),
               connection.peerPort());

  switch (limiter_.admit(connection.peerIp())) {
    case Admission::kAdmitted:
      session.counted = true;
      break;
    case Admission::kServerFull:
      refuse(connection, session, "",
             fmt::format("the server is full ({} connections); try again later",
                         options_.maxConnections));
      return;
    case Admission::kAddressFull:
      refuse(connection, session, "",
             fmt::format("too many connections from your address (limit {})",
                         options_.maxConnectionsPerIp));
      return;
  }
  if (options_.handshakeTimeout.count() > 0) {
    session.handshakeTimer = loop_.runAfter(
        options_.handshakeTimeout, [this, id = connection.id()] { handleHandshakeTimeout(id); });
  }
}

void ChatLoop::onData(net::TcpConnection& connection, std::string_view bytes) {
  Session& session = sessionOf(connection);
  if (session.phase == Session::Phase::kRefused) return;
  now_ = Session::Clock::now();
  session.lastActivity = now_;
  if (session.phase != Session::Phase::kRegistered) {
    if (!keepHandshakeRead(connection, session, bytes)) return;
    // While a taken name waits for its second try, reads are only kept, to be replayed.
    if (session.phase == Session::Phase::kClaiming) return;
  }
  if (session.phase == Session::Phase::kAwaitingName && !session.jsonFirst) {
    // The first read holds the bare name; whatever follows it is already messages.
    const protocol::HandshakeSplit split = protocol::splitHandshake(bytes);
    if (split.jsonFirst) {
      session.jsonFirst = true;
    } else if (!registerName(connection, session, split.name)) {
      return;
    }
    bytes = split.rest;
  }
  Dispatch dispatch(*this, connection, session);
  session.decoder.feed(bytes, dispatch);
}

void ChatLoop::onClosed(net::TcpConnection& connection) {
  Session& session = sessionOf(connection);
  if (session.handshakeTimer != 0) loop_.cancelTimer(session.handshakeTimer);
  if (session.counted) limiter_.release(connection.peerIp());
  if (session.phase == Session::Phase::kRegistered) {
    hub_.release(session.name, connection.id());
    spdlog::info("conn {} ({}) disconnected: {}", connection.id(), session.name,
                 connection.closeReason());
  } else {
    spdlog::info("conn {} disconnected before registering: {}", connection.id(),
                 connection.closeReason());
  }
}

bool ChatLoop::registerName(net::TcpConnection& connection, Session& session,
                            std::string_view name) {
  const protocol::NameVerdict verdict = protocol::checkName(name);
  if (verdict != protocol::NameVerdict::kValid) {
    refuse(connection, session, name, protocol::describeRefusal(verdict, name));
    return false;
  }
  if (hub_.claim(name, connection.id()) == ClaimResult::kTaken) {
    if (!session.claimRetried) {
      // Its owner may have closed already, with the close not yet read by the owner's
      // loop: the owner's loop checks, releases the name if the old peer is gone, and then
      // the handshake is replayed for one more try.
      session.phase = Session::Phase::kClaiming;
      session.claimRetried = true;
      hub_.checkOwnerGone(name, [this, id = connection.id()] { replayHandshake(id); });
      return false;
    }
    refuse(connection, session, name, fmt::format("username '{}' is already taken", name));
    return false;
  }
  session.name = std::string(name);
  session.phase = Session::Phase::kRegistered;
  std::vector<std::string>().swap(session.handshakeReads);
  session.handshakeBytes = 0;
  if (session.handshakeTimer != 0) {
    loop_.cancelTimer(session.handshakeTimer);
    session.handshakeTimer = 0;
  }
  spdlog::info("conn {} registered as {}", connection.id(), session.name);

  // One more than shown, in case the newcomer is among them.
  std::vector<std::string_view> others = hub_.firstOnlineNames(kWelcomeNames + 1);
  const std::size_t before = others.size();
  std::erase_if(others, [&](std::string_view other) { return protocol::namesEqual(other, name); });
  const bool selfListed = others.size() < before || hub_.find(name).has_value();
  const std::size_t othersCount = hub_.onlineCount() - (selfListed ? 1 : 0);
  connection.send(
      protocol::serverFrame(session.name, welcomeText(session.name, others, othersCount)));
  return true;
}

bool ChatLoop::keepHandshakeRead(net::TcpConnection& connection, Session& session,
                                 std::string_view bytes) {
  // The first object of a JSON-first client is at most maxMessageBytes; a bare name
  // comes in one read. More than that before registration is not a handshake.
  const std::size_t limit = options_.maxMessageBytes + loop_.readBufferSize();
  session.handshakeBytes += bytes.size();
  if (session.handshakeBytes > limit) {
    refuse(connection, session, "", fmt::format("more than {} bytes before the username", limit));
    return false;
  }
  session.handshakeReads.emplace_back(bytes);
  return true;
}

void ChatLoop::replayHandshake(net::ConnectionId id) {
  net::TcpConnection* connection = tcp_.find(id);
  if (connection == nullptr) return;
  Session& session = sessionOf(*connection);
  if (session.phase != Session::Phase::kClaiming) return;
  std::vector<std::string> reads;
  reads.swap(session.handshakeReads);
  session.handshakeBytes = 0;
  session.phase = Session::Phase::kAwaitingName;
  session.jsonFirst = false;
  session.decoder = protocol::FrameDecoder(options_.maxMessageBytes);
  for (const std::string& read : reads) {
    if (connection->state() != net::TcpConnection::State::kOpen) break;
    onData(*connection, read);
  }
}

void ChatLoop::refuse(net::TcpConnection& connection, Session& session,
                      std::string_view attemptedName, const std::string& reason) {
  session.phase = Session::Phase::kRefused;
  spdlog::info("conn {} refused: {}", connection.id(), reason);
  connection.send(
      protocol::serverFrame(protocol::sanitizeForEcho(attemptedName, 32), "Error: " + reason));
  connection.closeAfterFlush("refused: " + reason);
}

void ChatLoop::sendError(net::TcpConnection& connection, const Session& session,
                         std::string_view text) {
  frame_.clear();
  protocol::appendMessageFrame(frame_, protocol::kServerName, protocol::kServerIp, session.name,
                               fmt::format("Error: {}", text));
  connection.send(frame_);
}

void ChatLoop::handleHandshakeTimeout(net::ConnectionId id) {
  net::TcpConnection* connection = tcp_.find(id);
  if (connection == nullptr) return;
  Session& session = sessionOf(*connection);
  session.handshakeTimer = 0;
  if (session.phase != Session::Phase::kAwaitingName &&
      session.phase != Session::Phase::kClaiming) {
    return;
  }
  refuse(*connection, session, "",
         fmt::format("no username received within {} ms", options_.handshakeTimeout.count()));
}

bool ChatLoop::withinBudget(net::TcpConnection& connection, Session& session, TokenBucket& budget,
                            Session::Clock::time_point now, std::string_view what, double rate) {
  if (budget.tryTake(now)) return true;
  constexpr auto kFloodWindow = std::chrono::seconds(10);
  if (now - session.floodWindowStart > kFloodWindow) {
    session.floodWindowStart = now;
    session.droppedInWindow = 0;
  }
  ++session.droppedInWindow;
  if (options_.floodDisconnect != 0 && session.droppedInWindow > options_.floodDisconnect) {
    // Draining stops further reads; the session stays registered until the close, so
    // onClosed frees its name as usual.
    sendError(connection, session, "disconnected for flooding");
    connection.closeAfterFlush(
        fmt::format("flooding: more than {} messages over the rate "
                    "limits within 10 s",
                    options_.floodDisconnect));
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
  // Sweeping a few times per timeout bounds the overshoot to a quarter of it (at most 1 s).
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
  tcp_.forEachConnection([&](net::TcpConnection& connection) {
    Session& session = sessionOf(connection);
    if (session.phase != Session::Phase::kRegistered || session.lastActivity >= deadline) return;
    const auto seconds = std::chrono::duration<double>(options_.idleTimeout).count();
    sendError(connection, session,
              fmt::format("idle for more than {:g} s; disconnecting", seconds));
    connection.closeAfterFlush(fmt::format("idle for more than {:g} s", seconds));
  });
}

void ChatLoop::deliverLocal(net::ConnectionId id, std::string_view frame) {
  net::TcpConnection* connection = tcp_.find(id);
  if (connection == nullptr || sessionOf(*connection).phase != Session::Phase::kRegistered) return;
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
  hub_.release(session.name, id);  // onClosed releases again later, which is harmless
  return true;
}

void ChatLoop::deliverToAllLocal(std::string_view frame, net::ConnectionId except) {
  tcp_.forEachConnection([&](net::TcpConnection& connection) {
    if (connection.id() != except && sessionOf(connection).phase == Session::Phase::kRegistered) {
      connection.send(frame);
    }
  });
}

void ChatLoop::beginShutdown() {
  shuttingDown_ = true;
  tcp_.stopAccepting();
  tcp_.forEachConnection([&](net::TcpConnection& connection) {
    const Session& session = sessionOf(connection);
    if (session.phase == Session::Phase::kRegistered) {
      connection.send(protocol::serverFrame(session.name, "Server shutting down"));
    }
    connection.closeAfterFlush("server shutting down");
  });
  loop_.runAfter(options_.shutdownGrace, [this] { loop_.quit(); });
}

}  // namespace classchat::server
