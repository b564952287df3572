#include "transport/http_endpoint.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace classchat::transport {
namespace {

// The per-connection state: the request reader and the deadline for the next request.
struct HttpSession final : net::ConnectionContext {
  explicit HttpSession(const HttpLimits& limits) : reader(limits) {}
  HttpRequestReader reader;
  net::TimerId requestTimer = 0;
};

HttpSession& sessionOf(const net::TcpConnection& connection) {
  return *static_cast<HttpSession*>(connection.context());
}

}  // namespace

namespace {

net::TcpServerOptions makeServerOptions(const HttpEndpointOptions& options) {
  net::TcpServerOptions server;
  server.maxOutputBytes = options.maxOutputBytes;
  server.drainTimeout = std::chrono::milliseconds(2000);
  server.reusePort = options.reusePort;
  server.idTag = 1;  // the chat port's TcpServer on the same loop uses 0
  return server;
}

}  // namespace

HttpEndpoint::HttpEndpoint(net::EventLoop& loop, std::uint32_t loopIndex,
                           const net::InetAddress& address, HttpHandler handler,
                           HttpEndpointOptions options)
    : loop_(loop),
      handler_(std::move(handler)),
      options_(options),
      tcp_(loop, loopIndex, address, *this, makeServerOptions(options)) {}

std::string HttpEndpoint::serialize(const HttpResponse& response, bool keepAlive, bool headOnly) {
  std::string out = fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n"
      "X-Content-Type-Options: nosniff\r\nConnection: {}\r\n",
      response.status, httpReasonPhrase(response.status), response.contentType,
      response.body.size(), keepAlive ? "keep-alive" : "close");
  for (const auto& [name, value] : response.headers) {
    fmt::format_to(std::back_inserter(out), "{}: {}\r\n", name, value);
  }
  out += "\r\n";
  if (!headOnly) out += response.body;
  return out;
}

void HttpEndpoint::onConnected(net::TcpConnection& connection) {
  connection.setContext(std::make_unique<HttpSession>(options_.limits));
  // WebSocket chat connections count against the chat's limits, not this one.
  if (tcp_.connectionCount() - adopted_.size() > options_.maxConnections) {
    answerError(connection, 503, "too many HTTP connections");
    return;
  }
  armRequestTimer(connection);
}

void HttpEndpoint::armRequestTimer(net::TcpConnection& connection) {
  HttpSession& session = sessionOf(connection);
  if (session.requestTimer != 0) loop_.cancelTimer(session.requestTimer);
  session.requestTimer = loop_.runAfter(options_.requestTimeout, [this, id = connection.id()] {
    net::TcpConnection* c = tcp_.find(id);
    if (c == nullptr || c->state() != net::TcpConnection::State::kOpen) return;
    sessionOf(*c).requestTimer = 0;
    answerError(*c, 408,
                fmt::format("no whole request within {} ms", options_.requestTimeout.count()));
  });
}

void HttpEndpoint::answerError(net::TcpConnection& connection, int status,
                               const std::string& reason) {
  spdlog::info("http conn {} from {}: {} {}", connection.id(), connection.peerIp(), status, reason);
  HttpResponse response{status, "text/plain; charset=utf-8", reason + "\n", {}};
  if (status == 405) response.headers.emplace_back("Allow", "GET, HEAD");
  if (status == 426) response.headers.emplace_back("Sec-WebSocket-Version", "13");
  connection.send(serialize(response, false, false));
  connection.closeAfterFlush(fmt::format("http {}: {}", status, reason));
}

void HttpEndpoint::onData(net::TcpConnection& connection, std::string_view bytes) {
  if (!adopted_.empty() && adopted_.contains(connection.id())) {
    adopter_->onAdoptedData(connection, bytes);
    return;
  }
  HttpSession& session = sessionOf(connection);
  session.reader.append(bytes);
  while (connection.state() == net::TcpConnection::State::kOpen) {
    const HttpRequestReader::Status status = session.reader.next();
    if (status == HttpRequestReader::Status::kNeedMore) return;
    if (status == HttpRequestReader::Status::kError) {
      answerError(connection, session.reader.errorStatus(), session.reader.errorReason());
      return;
    }
    const HttpRequest& request = session.reader.request();
    if (request.path == "/ws" && adopter_ != nullptr) {
      upgrade(connection, request);
      return;
    }
    const bool head = request.method == "HEAD";
    if (request.method != "GET" && !head) {
      answerError(connection, 405, fmt::format("method {} not allowed", request.method));
      return;
    }
    const HttpResponse response = handler_(request);
    connection.send(serialize(response, request.keepAlive, head));
    if (!request.keepAlive) {
      connection.closeAfterFlush("http: the client asked to close");
      return;
    }
    armRequestTimer(connection);
  }
}

void HttpEndpoint::upgrade(net::TcpConnection& connection, const HttpRequest& request) {
  const WebSocketHandshake handshake = checkWebSocketHandshake(request, options_.origins);
  if (handshake.status != 101) {
    answerError(connection, handshake.status, handshake.reason);
    return;
  }
  HttpSession& session = sessionOf(connection);
  if (session.requestTimer != 0) loop_.cancelTimer(session.requestTimer);
  session.requestTimer = 0;
  const std::string early = session.reader.takeBuffered();
  connection.send(switchingProtocolsResponse(handshake.accept));
  if (connection.state() != net::TcpConnection::State::kOpen) return;
  spdlog::debug("http conn {} from {}: upgraded to WebSocket", connection.id(),
                connection.peerIp());
  adopted_.insert(connection.id());
  // Replaces the context (and so `session`): nothing of it is used below.
  adopter_->adoptWebSocket(connection, early);
}

void HttpEndpoint::onClosed(net::TcpConnection& connection) {
  if (adopted_.erase(connection.id()) != 0) {
    adopter_->onAdoptedClosed(connection);
    return;
  }
  HttpSession& session = sessionOf(connection);
  if (session.requestTimer != 0) loop_.cancelTimer(session.requestTimer);
}

}  // namespace classchat::transport
