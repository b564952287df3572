// The chat logic of one event loop: handshakes, parsing, dispatch and delivery for the
// connections that loop owns.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "net/event_loop.h"
#include "net/tcp_server.h"
#include "protocol/message_parser.h"
#include "server/connection_limiter.h"
#include "server/local_hub.h"
#include "server/options.h"
#include "server/session.h"

namespace classchat::server {

// Thread-safety: everything runs on the loop's thread, except construction and
// LocalHub wiring, which happen before the loop runs.
class ChatLoop final : public net::ConnectionHandler, public LocalDelivery {
 public:
  ChatLoop(net::EventLoop& loop, std::uint32_t loopIndex, const net::InetAddress& address,
           NameRegistry& registry, ConnectionLimiter& limiter, const ServerOptions& options);

  net::EventLoop& loop() { return loop_; }
  LocalHub& hub() { return hub_; }
  net::TcpServer& tcp() { return tcp_; }

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
  bool releaseIfPeerGone(net::ConnectionId connection) override;

 private:
  class Dispatch;  // handles the frames of one read for one session

  bool registerName(net::TcpConnection& connection, Session& session, std::string_view name);
  // Keeps a read that arrived before registration; false if the session was refused for
  // sending too much before its name was accepted.
  bool keepHandshakeRead(net::TcpConnection& connection, Session& session, std::string_view bytes);
  // Runs the kept handshake reads again once closes in flight have released their names.
  void replayHandshake(net::ConnectionId id);
  void refuse(net::TcpConnection& connection, Session& session, std::string_view attemptedName,
              const std::string& reason);
  void sendError(net::TcpConnection& connection, const Session& session, std::string_view text);
  void handleHandshakeTimeout(net::ConnectionId id);
  // Applies a rate limit's verdict: true if the message may proceed. A drop gets an error
  // reply (at most one per second) and counts towards --flood-disconnect.
  bool withinBudget(net::TcpConnection& connection, Session& session, TokenBucket& budget,
                    Session::Clock::time_point now, std::string_view what, double rate);
  void scheduleIdleSweep();
  void closeIdleConnections();

  net::EventLoop& loop_;
  ServerOptions options_;
  ConnectionLimiter& limiter_;
  net::TcpServer tcp_;
  LocalHub hub_;
  protocol::MessageParser parser_;
  std::string frame_;  // reused to build outgoing frames without allocating per message
  Session::Clock::time_point now_{};  // read once per onData, shared by its messages
  bool shuttingDown_ = false;
};

}  // namespace classchat::server
