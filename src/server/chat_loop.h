// The chat logic of one event loop: handshakes, parsing, dispatch and delivery for the
// connections that loop owns.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "net/event_loop.h"
#include "net/tcp_server.h"
#include "protocol/message_parser.h"
#include "server/accounts.h"
#include "server/connection_limiter.h"
#include "server/local_hub.h"
#include "server/metrics.h"
#include "server/moderation.h"
#include "server/options.h"
#include "server/password_verifier.h"
#include "server/session.h"

namespace classchat::server {

// Thread-safety: everything runs on the loop's thread, except construction and
// LocalHub wiring, which happen before the loop runs.
class ChatLoop final : public net::ConnectionHandler, public LocalDelivery {
 public:
  ChatLoop(net::EventLoop& loop, std::uint32_t loopIndex, const net::InetAddress& address,
           NameRegistry& registry, ConnectionLimiter& limiter, const ServerOptions& options,
           const Accounts& accounts, Moderation& moderation, PasswordVerifier& verifier);

  net::EventLoop& loop() { return loop_; }
  LocalHub& hub() { return hub_; }
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

  // LocalDelivery
  void deliverLocal(net::ConnectionId connection, std::string_view frame) override;
  void deliverToAllLocal(std::string_view frame, net::ConnectionId except) override;
  void actLocal(net::ConnectionId connection, const SessionAction& action) override;
  void actOnAddressLocal(std::string_view address, const SessionAction& action) override;

  // After the accounts file was reloaded: sessions logged in to an account that no longer
  // exists are disconnected. Runs on the loop's thread.
  void dropRemovedAccounts();
  bool releaseIfPeerGone(net::ConnectionId connection) override;

 private:
  class Dispatch;  // handles the frames of one read for one session

  bool registerName(net::TcpConnection& connection, Session& session, std::string_view name);
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
  // The welcome, after `prefix` (e.g. "Logged in. ").
  void sendWelcome(net::TcpConnection& connection, Session& session, std::string_view prefix = "");
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

  net::EventLoop& loop_;
  ServerOptions options_;
  ConnectionLimiter& limiter_;
  const Accounts& accounts_;
  Moderation& moderation_;
  PasswordVerifier& verifier_;
  net::TcpServer tcp_;
  LocalHub hub_;
  protocol::MessageParser parser_;
  std::string frame_;  // reused to build outgoing frames without allocating per message
  Session::Clock::time_point now_{};  // read once per onData, shared by its messages
  bool shuttingDown_ = false;
  LoopMetrics metrics_;
};

}  // namespace classchat::server
