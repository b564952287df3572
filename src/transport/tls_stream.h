// TLS on one non-blocking socket, as a net::StreamCodec.
#pragma once

#include <openssl/ssl.h>

#include <cstddef>
#include <memory>
#include <string>

#include "net/tcp_connection.h"
#include "transport/tls_context.h"

namespace classchat::transport {

// One SSL on a connected, non-blocking socket it does not own. The handshake runs inside
// the first reads and writes, as nginx does it: SSL_ERROR_WANT_READ / WANT_WRITE become
// EAGAIN, and readWaitsForWritable() / writeWaitsForReadable() tell the connection which
// socket readiness to wait for. OpenSSL's error queue is cleared before every call, so
// that an error left by another connection on this thread is never blamed on this one.
//
// Thread-safety: none; one thread at a time (a connection's loop, or the client).
class TlsStream final : public net::StreamCodec {
 public:
  // Counts handshakes in progress: incremented by the constructor of a server stream,
  // decremented once when its handshake ends (done, failed, or the stream destroyed).
  using HandshakeGauge = std::shared_ptr<std::size_t>;

  // The server side of an accepted socket. nullptr if OpenSSL cannot make an SSL (out of
  // memory).
  // `plainTextReply`, if not empty, is written in the clear to a peer whose first byte
  // cannot start a TLS record (a plain client on the TLS port), before the stream fails;
  // it must outlive the stream.
  static std::unique_ptr<TlsStream> accept(const TlsContext& context, int fd,
                                           HandshakeGauge gauge = nullptr,
                                           const std::string* plainTextReply = nullptr);
  // The client side of a connected socket: sends `host` as SNI (unless it is an address)
  // and, if the context verifies, checks that the certificate names `host` (a DNS name
  // or an IP address).
  static std::unique_ptr<TlsStream> connect(const TlsContext& context, int fd,
                                            const std::string& host);
  ~TlsStream() override;

  // net::StreamCodec
  ssize_t read(char* buffer, std::size_t size) override;
  ssize_t write(const char* data, std::size_t size) override;
  bool readWaitsForWritable() const override { return readWaitsForWritable_; }
  bool writeWaitsForReadable() const override { return writeWaitsForReadable_; }
  // With read-ahead, OpenSSL may hold whole records the socket will not announce again;
  // a partial one needs the socket, which the last read found empty.
  bool hasBufferedInput() const override {
    return !readFoundSocketEmpty_ && SSL_has_pending(ssl_) == 1;
  }
  void shutdown() override;
  std::string error() const override { return error_; }

  // Client side: drives the handshake without application data. 1 once it is done, else
  // -1 with errno EAGAIN (wait for the socket to be writable if readWaitsForWritable(),
  // else readable) or EPROTO (error() says why: a certificate that does not verify...).
  int handshake();
  bool handshaking() const { return !established_; }
  // The negotiated protocol, e.g. "TLSv1.3".
  const char* version() const { return SSL_get_version(ssl_); }

 private:
  TlsStream(SSL* ssl, HandshakeGauge gauge);
  // After every SSL call: notices the end of the handshake.
  void checkEstablished();
  // Turns a failed SSL_read/SSL_write into the recv()/send() convention.
  ssize_t failure(int result, bool& waitsForOtherDirection, bool writing);
  void endHandshake();
  // Server side, before the first SSL_read: true (and the stream failed) if the peer
  // speaks plain text; it is answered with plainTextReply_.
  bool refusePlainText();

  SSL* ssl_;
  HandshakeGauge gauge_;
  const std::string* plainTextReply_ = nullptr;  // not owned; null once checked
  std::string error_;
  bool established_ = false;
  bool failed_ = false;  // a fatal error: no SSL_shutdown may follow
  bool readWaitsForWritable_ = false;
  bool writeWaitsForReadable_ = false;
  bool readFoundSocketEmpty_ = false;  // the last read ended in WANT_READ
};

}  // namespace classchat::transport
