// classchatd's HTTP port on one event loop: reads requests with HttpRequestReader and
// answers them through a handler.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "net/event_loop.h"
#include "net/tcp_server.h"
#include "transport/http_request.h"

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
  const net::InetAddress& localAddress() const { return tcp_.localAddress(); }
  std::size_t connectionCount() const { return tcp_.connectionCount(); }

  // net::ConnectionHandler
  void onConnected(net::TcpConnection& connection) override;
  void onData(net::TcpConnection& connection, std::string_view bytes) override;
  void onClosed(net::TcpConnection& connection) override;

  // The bytes of a whole response; HEAD gets the head only.
  static std::string serialize(const HttpResponse& response, bool keepAlive, bool headOnly);

 private:
  void armRequestTimer(net::TcpConnection& connection);
  void answerError(net::TcpConnection& connection, int status, const std::string& reason);

  net::EventLoop& loop_;
  HttpHandler handler_;
  HttpEndpointOptions options_;
  net::TcpServer tcp_;
};

}  // namespace classchat::transport
