// The client's TCP connection to classchatd: non-blocking connect, the handshake,
// buffered writes and frame splitting on the way in.
#pragma once

#include <netdb.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "net/fd.h"
#include "net/inet_address.h"
#include "protocol/frame_decoder.h"
#include "protocol/server_message.h"
#include "transport/tls_context.h"
#include "transport/tls_stream.h"

namespace classchat::client {

// Resolves `host` (a numeric address or a host name) for TCP on `port`. Fills
// `addresses`, or returns a sentence explaining why it could not.
std::string resolve(const std::string& host, std::uint16_t port,
                    std::vector<net::InetAddress>& addresses);

// One connection attempt and, once connected, the session. The owner polls fd() for
// the events wantedEvents() asks for and calls handleEvents(). Callbacks run inside
// start() and handleEvents(); they must not destroy the connection (the owner drops a
// closed connection after handleEvents returns). Not thread-safe.
class ServerConnection {
 public:
  enum class State { kConnecting, kOpen, kClosed };

  struct Callbacks {
    std::function<void()> onConnected;
    std::function<void(const protocol::ServerMessage&)> onMessage;
    // The connection ended. `reason` is one human sentence; `byPeer` is true when the
    // server closed it cleanly (EOF) rather than through an error.
    std::function<void(const std::string& reason, bool byPeer)> onClosed;
  };

  ServerConnection(std::vector<net::InetAddress> addresses, Callbacks callbacks);

  // Speaks TLS once connected, checking the certificate against `host` when `context`
  // verifies. Before start(). onConnected then means: TLS handshake done.
  void useTls(std::shared_ptr<transport::TlsContext> context, std::string host) {
    tlsContext_ = std::move(context);
    tlsHost_ = std::move(host);
  }

  // Starts connecting to the first address; later ones are tried when it fails.
  void start();

  State state() const { return state_; }
  int fd() const { return fd_.get(); }
  short wantedEvents() const;
  void handleEvents(short revents);

  // The address this end of the connection has, as the server would print it.
  const std::string& localIp() const { return localIp_; }
  // Bytes queued and not yet written to the socket.
  std::size_t queuedBytes() const { return output_.size() - outputStart_; }

  // Queues raw bytes (the handshake) or one message frame, and writes what it can.
  void sendRaw(std::string_view bytes);
  void sendMessage(std::string_view fromName, std::string_view to, std::string_view msg);
  // Ends our side once everything queued is written (shutdown SHUT_WR). The server then
  // answers what it received and closes, which onClosed reports with byPeer = true.
  void finishSending();
  // Closes without telling the owner (no onClosed).
  void close();

 private:
  class Splitter;

  void startNextAddress();
  void failAttempt(int error);
  void finishConnect();
  // TLS: one more step of the handshake (state_ stays kConnecting until it is done).
  void continueHandshake();
  void readSome();
  void flush();
  void fail(std::string reason, bool byPeer);

  std::vector<net::InetAddress> addresses_;
  std::size_t current_ = 0;
  Callbacks callbacks_;
  net::Fd fd_;
  State state_ = State::kConnecting;
  std::string lastError_;
  std::string localIp_;
  std::string output_;
  std::size_t outputStart_ = 0;
  bool finishing_ = false;
  bool shutDown_ = false;
  protocol::FrameDecoder decoder_;
  protocol::ServerMessageParser parser_;
  std::shared_ptr<transport::TlsContext> tlsContext_;  // null: plain TCP
  std::string tlsHost_;
  std::unique_ptr<transport::TlsStream> tls_;  // set once the TCP connection is up
};

}  // namespace classchat::client
