// The chat logic of one event loop: handshakes, parsing, dispatch and delivery for the
// connections that loop owns.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "hub/hub.h"
#include "net/event_loop.h"
#include "net/tcp_server.h"
#include "protocol/message_parser.h"
#include "server/accounts.h"
#include "server/commands.h"
#include "server/connection_limiter.h"
#include "server/metrics.h"
#include "server/moderation.h"
#include "server/options.h"
#include "server/password_verifier.h"
#include "server/session.h"
#include "server/shout_coalescer.h"
#include "transport/http_endpoint.h"
#include "transport/websocket_session.h"

namespace classchat::server {

// Thread-safety: everything runs on the loop's thread, except construction and hub
// wiring, which happen before the loop runs.
//
// The hub is injected (built by ChatServer's HubFactory), and any of its answers may come
// later: a claim pending keeps the session in Session::Phase::kClaiming, and command
// replies that wait for the hub go through LaterReply.
//
// Transports: the loop's own TcpServer brings plain TCP connections; the HTTP endpoint of
// the same loop hands over WebSocket connections after their upgrade (adoptWebSocket).
// Both kinds share one Session type, one dispatch and one hub; a WebSocket session differs
// only in its Session::webSocket, which decodes frames into onChatBytes and frames what is
// sent.
class ChatLoop final : public net::ConnectionHandler,
                       public LocalDelivery,
                       public transport::WebSocketAdopter,
                       public transport::WebSocketListener,
                       public LaterReplies {
 public:
  // `hubFactory` builds this loop's hub (called once, here).
  ChatLoop(net::EventLoop& loop, std::uint32_t loopIndex, const net::InetAddress& address,
           const HubFactory& hubFactory, ConnectionLimiter& limiter, const ServerOptions& options,
           const Accounts& accounts, Moderation& moderation, PasswordVerifier& verifier);

  net::EventLoop& loop() { return loop_; }
  Hub& hub() { return *hub_; }
  net::TcpServer& tcp() { return tcp_; }
  // Thread-safe to read from any thread (see LoopCounter).
  const LoopMetrics& metrics() const { return metrics_; }

  void start() { tcp_.start(); }
  // Stops accepting, says goodbye to every user and closes their connections once the
  // goodbye is written; the loop quits when the last one is gone or the grace runs out.
  void beginShutdown();

  // net::ConnectionHandler
  void onConnected(net::TcpConnection& connection) override;
  void onData(net::TcpConnection& connection, std::string_view bytes) override;
  void onClosed(net::TcpConnection& connection) override;

  // transport::WebSocketAdopter
  void adoptWebSocket(net::TcpConnection& connection, std::string_view early) override;
  void onAdoptedData(net::TcpConnection& connection, std::string_view bytes) override;
  void onAdoptedClosed(net::TcpConnection& connection) override;

  // transport::WebSocketListener
  void onWebSocketText(net::TcpConnection& connection, std::string_view text) override;
  std::uint16_t webSocketCloseCode(const net::TcpConnection& connection) override;

  // LocalDelivery
  void deliverLocal(net::ConnectionId connection, std::string_view frame) override;
  void deliverToAllLocal(std::string_view frame, net::ConnectionId except) override;
  void actLocal(net::ConnectionId connection, const SessionAction& action) override;
  void actOnAddressLocal(std::string_view address, const SessionAction& action) override;

  // After the accounts file was reloaded: sessions logged in to an account that no longer
  // exists are disconnected. Runs on the loop's thread.
  void dropRemovedAccounts();
  bool releaseIfPeerGone(net::ConnectionId connection) override;
  void directFailed(net::ConnectionId sender, std::string_view to, DirectStatus why) override;

  // LaterReplies
  void replyTo(net::ConnectionId connection, std::string_view text) override;

 private:
  class Dispatch;  // handles the frames of one read for one session

  // A chat connection of this loop, of either transport; nullptr if none.
  net::TcpConnection* findConnection(net::ConnectionId id) const;
  template <typename F>
  void forEachConnection(F&& f) {
    tcp_.forEachConnection(f);
    for (const auto& [id, connection] : webSockets_) f(*connection);
  }
  // Limits, bans and the handshake timer for a new session of either transport.
  void admit(net::TcpConnection& connection, Session& session);
  // Chat bytes: a TCP read, or one WebSocket text message.
  void onChatBytes(net::TcpConnection& connection, Session& session, std::string_view bytes);
  void scheduleWebSocketPings();

  // Validates and claims `name`. True if the session is now registered (or waits for
  // /login); false if refused, or if the claim's answer comes later (kClaiming: the reads
  // are kept and replayed by finishClaim).
  bool registerName(net::TcpConnection& connection, Session& session, std::string_view name);
  // A claim answered later: replays the handshake with the answer at hand, or undoes the
  // claim if the session has gone or no longer waits for it.
  void finishClaim(net::ConnectionId id, ClaimOutcome outcome);
  // Keeps a message that arrived while a command reply is owed by the hub; false (and the
  // connection closing) if too much is held.
  bool holdObject(net::TcpConnection& connection, Session& session, std::string_view object);
  // Handles the held messages once nothing is owed any more (posted by replyTo).
  void releaseHeld(net::ConnectionId id);
  // The error reply for a direct message that could not be sent.
  void replyDirectFailure(net::TcpConnection& connection, const Session& session,
                          std::string_view to, DirectStatus why);
  // Takes a bare name off the front of `bytes` and registers it, leaving `bytes` at what
  // follows it (messages). A name without a terminator waits up to --name-wait-ms for
  // more of it: its bytes are kept and false is returned, as on a refusal or a claim that
  // waits. `joined` holds the earlier pieces with this read appended, which `bytes` views.
  bool takeName(net::TcpConnection& connection, Session& session, std::string_view& bytes,
                std::string& joined);
  void handleNameWaitOver(net::ConnectionId id);
  // Keeps a read that arrived before registration; false if the session was refused for
  // sending too much before its name was accepted.
  bool keepHandshakeRead(net::TcpConnection& connection, Session& session, std::string_view bytes);
  // Runs the kept handshake reads again once closes in flight have released their names.
  void replayHandshake(net::ConnectionId id);
  void refuse(net::TcpConnection& connection, Session& session, std::string_view attemptedName,
              const std::string& reason, RefusalReason why);
  void sendError(net::TcpConnection& connection, const Session& session, std::string_view text);
  // The one way a reply from SERVER reaches a connection (built in frame_, no allocation).
  void sendServerReply(net::TcpConnection& connection, std::string_view to, std::string_view text);
  void handleHandshakeTimeout(net::ConnectionId id);
  // The welcome, after `prefix` (e.g. "Logged in. "), from the directory's first names.
  void sendWelcome(net::TcpConnection& connection, Session& session, const DirectoryPage& head,
                   std::string_view prefix = "");
  // The same once the hub has read the first names (inline or later).
  void sendWelcomeWhenRead(net::ConnectionId id, std::string prefix = "");
  // /login: checks the password off the loop; finishLogin runs back on it.
  void startLogin(net::TcpConnection& connection, Session& session, std::string_view password);
  void finishLogin(net::ConnectionId id, bool ok);
  void applyAction(net::TcpConnection& connection, Session& session, const SessionAction& action);
  // Applies a rate limit's verdict: true if the message may proceed. A drop gets an error
  // reply (at most one per second) and counts towards --flood-disconnect.
  bool withinBudget(net::TcpConnection& connection, Session& session, TokenBucket& budget,
                    Session::Clock::time_point now, std::string_view what, double rate);
  void scheduleIdleSweep();
  void closeIdleConnections();
  // To the registered sessions of this loop but `except`, among the first `audience`
  // registrations.
  void deliverShoutNow(std::string_view frame, net::ConnectionId except,
                       std::uint64_t audience = UINT64_MAX);
  // Every registration goes through here: it numbers them (Session::registeredOrder).
  void markRegistered(Session& session);
  // Delivers the shouts ShoutCoalescer holds, if any: when their window ends, and before
  // anything else is delivered here (a DM, an act), so that nothing overtakes them.
  void deliverHeldShouts();

  net::EventLoop& loop_;
  ServerOptions options_;
  ConnectionLimiter& limiter_;
  const Accounts& accounts_;
  Moderation& moderation_;
  PasswordVerifier& verifier_;
  net::TcpServer tcp_;
  std::unique_ptr<Hub> hub_;
  protocol::MessageParser parser_;
  std::string frame_;  // reused to build outgoing frames without allocating per message
  Session::Clock::time_point now_{};  // read once per onData, shared by its messages
  bool shuttingDown_ = false;
  LoopMetrics metrics_;
  ShoutCoalescer heldShouts_;
  std::uint64_t registrations_ = 0;  // registrations on this loop so far
  net::TimerId heldShoutsTimer_ = 0;
  // Adopted WebSocket connections, owned by the HTTP endpoint's TcpServer on this loop;
  // removed in onAdoptedClosed, just before that server destroys them.
  std::unordered_map<net::ConnectionId, net::TcpConnection*> webSockets_;
};

}  // namespace classchat::server
