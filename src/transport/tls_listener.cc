#include "transport/tls_listener.h"

#include <spdlog/spdlog.h>

namespace classchat::transport {
namespace {
// Refusals are logged at most this often, with how many there were: a flood must not
// become a flood of log lines.
constexpr auto kRefusalLogInterval = std::chrono::seconds(1);
}  // namespace

net::TcpServer::CodecFactory TlsListener::factory(net::TcpServer& tcp) {
  return [this, &tcp](int fd, net::ConnectionId id) { return make(tcp, fd, id); };
}

std::unique_ptr<net::StreamCodec> TlsListener::make(net::TcpServer& tcp, int fd,
                                                    net::ConnectionId id) {
  if (*inProgress_ >= options_.maxHandshakes) {
    ++refused_;
    ++refusedSinceLog_;
    const auto now = net::Clock::now();
    if (now - lastRefusalLog_ >= kRefusalLogInterval) {
      spdlog::warn(
          "TLS: {} handshake(s) in progress on this loop (the limit); closed {} new "
          "connection(s) at once ({} so far)",
          *inProgress_, refusedSinceLog_, refused_);
      refusedSinceLog_ = 0;
      lastRefusalLog_ = now;
    }
    return nullptr;
  }
  const std::shared_ptr<TlsContext> context = contexts_.current();
  std::unique_ptr<TlsStream> stream;
  if (context) stream = TlsStream::accept(*context, fd, inProgress_, &options_.plainTextReply);
  if (!stream) {
    spdlog::error("TLS: cannot set up a connection: {}", takeTlsErrors());
    return nullptr;
  }
  loop_.runAfter(options_.handshakeTimeout, [this, &tcp, id] { checkHandshake(tcp, id); });
  return stream;
}

void TlsListener::checkHandshake(net::TcpServer& tcp, net::ConnectionId id) {
  net::TcpConnection* connection = tcp.find(id);
  if (connection == nullptr || connection->state() == net::TcpConnection::State::kClosed) return;
  const auto* stream = dynamic_cast<const TlsStream*>(connection->codec());
  if (stream == nullptr || !stream->handshaking()) return;
  ++timeouts_;
  // Nothing useful can be said to a peer without a session key: reset it.
  connection->abort(
      fmt::format("TLS handshake not finished within {} ms", options_.handshakeTimeout.count()));
}

}  // namespace classchat::transport
