// classchatd's HTTP port on one event loop: reads requests with HttpRequestReader and
// answers them through a handler.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <unordered_set>
#include "net/event_loop.h"
#include "net/tcp_server.h"

#include "transport/http_request.h"
#include "transport/websocket_handshake.h"

namespace classchat::transport {

struct HttpResponse {
  int status = 200;
  std::string contentType = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra fields
};

// Produces the response to one complete request. Runs on the endpoint's loop thread; it
// must not block (it is called on the same loop as that loop's chat connections).
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// Takes over a connection after a WebSocket upgrade on /ws: the chat loop of the same
// event loop. The connection stays owned by the endpoint's TcpServer (so it is flushed
// and destroyed like any other), but from the upgrade on its bytes and its close go to
// the adopter, which replaces the connection's context. All calls on the loop's thread.
class WebSocketAdopter {
 public:
  virtual ~WebSocketAdopter() = default;
  // The 101 is queued; `early` holds bytes the client sent after the request head.
  virtual void adoptWebSocket(net::TcpConnection& connection, std::string_view early) = 0;
  virtual void onAdoptedData(net::TcpConnection& connection, std::string_view bytes) = 0;
  virtual void onAdoptedClosed(net::TcpConnection& connection) = 0;
};

struct HttpEndpointOptions {
  HttpLimits limits;
  // Time allowed for the next whole request head: from the connection's start, and again
  // from each response (keep-alive). A client that trickles bytes (slowloris) or sits idle
  // gets 408 and is closed when it runs out.
  std::chrono::milliseconds requestTimeout{10'000};
  // HTTP connections open at once on this loop; more get 503 and are closed.
  std::size_t maxConnections = 64;
  std::size_t maxOutputBytes = 1 << 20;
  bool reusePort = true;
  OriginPolicy origins;  // which pages may open /ws
};

// One per event loop, like the chat listener: every loop accepts on the same port
// (SO_REUSEPORT) and owns its HTTP connections.
//
// Thread-safety: none; use from the loop's thread (or before the loop runs).
class HttpEndpoint final : public net::ConnectionHandler {
 public:
  HttpEndpoint(net::EventLoop& loop, std::uint32_t loopIndex, const net::InetAddress& address,
               HttpHandler handler, HttpEndpointOptions options);

  void start() { tcp_.start(); }
  void stopAccepting() { tcp_.stopAccepting(); }
  // Enables /ws: upgraded connections go to `adopter` (not owned; outlives the endpoint's
  // connections). Call before start().
  void setWebSocketAdopter(WebSocketAdopter* adopter) { adopter_ = adopter; }
  const net::InetAddress& localAddress() const { return tcp_.localAddress(); }
  // The port's TcpServer, to layer a codec (HTTPS: TcpServer::setCodecFactory) under it
  // before start().
  net::TcpServer& tcp() { return tcp_; }
  std::size_t connectionCount() const { return tcp_.connectionCount(); }
  // Bytes written on this port (responses, and WebSocket chat frames). Thread-safe.
  std::uint64_t bytesWritten() const { return tcp_.bytesWritten(); }

  // net::ConnectionHandler
  void onConnected(net::TcpConnection& connection) override;
  void onData(net::TcpConnection& connection, std::string_view bytes) override;
  void onClosed(net::TcpConnection& connection) override;

  // The bytes of a whole response; HEAD gets the head only.
  static std::string serialize(const HttpResponse& response, bool keepAlive, bool headOnly);

 private:
  void armRequestTimer(net::TcpConnection& connection);
  void answerError(net::TcpConnection& connection, int status, const std::string& reason);
  // /ws: checks the handshake, answers 101 and hands the connection to the adopter.
  void upgrade(net::TcpConnection& connection, const HttpRequest& request);

  net::EventLoop& loop_;
  HttpHandler handler_;
  HttpEndpointOptions options_;
  net::TcpServer tcp_;
  WebSocketAdopter* adopter_ = nullptr;
  std::unordered_set<net::ConnectionId> adopted_;  // connections now the adopter's
};

}  // namespace classchat::transport
