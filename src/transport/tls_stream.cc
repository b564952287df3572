#include "transport/tls_stream.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <utility>

#include <fmt/format.h>

namespace classchat::transport {
namespace {

int clampToInt(std::size_t size) {
  return size > static_cast<std::size_t>(INT_MAX) ? INT_MAX : static_cast<int>(size);
}

bool isIpAddress(const std::string& host) {
  unsigned char scratch[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, host.c_str(), scratch) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), scratch) == 1;
}

}  // namespace

std::unique_ptr<TlsStream> TlsStream::accept(const TlsContext& context, int fd,
                                             HandshakeGauge gauge,
                                             const std::string* plainTextReply) {
  ERR_clear_error();
  SSL* ssl = SSL_new(context.get());
  if (ssl == nullptr) return nullptr;
  if (SSL_set_fd(ssl, fd) != 1) {
    SSL_free(ssl);
    return nullptr;
  }
  SSL_set_accept_state(ssl);
  auto stream = std::unique_ptr<TlsStream>(new TlsStream(ssl, std::move(gauge)));
  if (plainTextReply != nullptr && !plainTextReply->empty())
    stream->plainTextReply_ = plainTextReply;
  return stream;
}

std::unique_ptr<TlsStream> TlsStream::connect(const TlsContext& context, int fd,
                                              const std::string& host) {
  ERR_clear_error();
  SSL* ssl = SSL_new(context.get());
  if (ssl == nullptr) return nullptr;
  if (SSL_set_fd(ssl, fd) != 1) {
    SSL_free(ssl);
    return nullptr;
  }
  if (isIpAddress(host)) {
    // An address is checked against the certificate's IP subjectAltNames; no SNI.
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl, host.c_str());
    SSL_set1_host(ssl, host.c_str());
  }
  SSL_set_connect_state(ssl);
  return std::unique_ptr<TlsStream>(new TlsStream(ssl, nullptr));
}

TlsStream::TlsStream(SSL* ssl, HandshakeGauge gauge) : ssl_(ssl), gauge_(std::move(gauge)) {
  if (gauge_) ++*gauge_;
}

TlsStream::~TlsStream() {
  endHandshake();
  // The socket is the connection's: SSL_set_fd's BIO does not close it.
  SSL_free(ssl_);
}

void TlsStream::endHandshake() {
  if (gauge_) {
    --*gauge_;
    gauge_.reset();
  }
}

void TlsStream::checkEstablished() {
  if (!established_ && SSL_is_init_finished(ssl_)) {
    established_ = true;
    endHandshake();
  }
}

ssize_t TlsStream::read(char* buffer, std::size_t size) {
  if (failed_) {
    errno = EPROTO;
    return -1;
  }
  if (plainTextReply_ != nullptr && refusePlainText()) return -1;
  ERR_clear_error();
  const int n = SSL_read(ssl_, buffer, clampToInt(size));
  checkEstablished();
  if (n > 0) {
    readWaitsForWritable_ = false;
    readFoundSocketEmpty_ = false;
    return n;
  }
  readFoundSocketEmpty_ = SSL_get_error(ssl_, n) == SSL_ERROR_WANT_READ;
  return failure(n, readWaitsForWritable_, false);
}

int TlsStream::handshake() {
  if (established_) return 1;
  if (failed_) {
    errno = EPROTO;
    return -1;
  }
  ERR_clear_error();
  const int result = SSL_do_handshake(ssl_);
  checkEstablished();
  if (result == 1) {
    readWaitsForWritable_ = false;
    return 1;
  }
  const ssize_t n = failure(result, readWaitsForWritable_, false);
  if (n < 0 && errno == EAGAIN) return -1;
  // Everything else, even a clean EOF, ends the handshake as a failure.
  if (error_.empty()) {
    error_ = n == 0 ? std::string("TLS handshake failed: the server closed the connection")
                    : fmt::format("TLS handshake failed: {}", std::strerror(errno));
  }
  failed_ = true;
  errno = EPROTO;
  return -1;
}

ssize_t TlsStream::write(const char* data, std::size_t size) {
  if (failed_) {
    errno = EPROTO;
    return -1;
  }
  if (size == 0) return 0;
  ERR_clear_error();
  const int n = SSL_write(ssl_, data, clampToInt(size));
  checkEstablished();
  if (n > 0) {
    writeWaitsForReadable_ = false;
    return n;
  }
  return failure(n, writeWaitsForReadable_, true);
}

ssize_t TlsStream::failure(int result, bool& waitsForOtherDirection, bool writing) {
  const int savedErrno = errno;
  switch (SSL_get_error(ssl_, result)) {
    case SSL_ERROR_WANT_READ:
      waitsForOtherDirection = writing;
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_WANT_WRITE:
      waitsForOtherDirection = !writing;
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_ZERO_RETURN:
      // close_notify, or (SSL_OP_IGNORE_UNEXPECTED_EOF) a plain TCP end of input.
      if (!writing) return 0;
      errno = EPIPE;
      return -1;
    case SSL_ERROR_SYSCALL:
      failed_ = true;
      if (savedErrno != 0) {
        errno = savedErrno;  // ECONNRESET and friends: the caller words them
        return -1;
      }
      if (!writing && !established_) return 0;  // EOF during the handshake
      error_ =
          fmt::format("TLS {}: {}", established_ ? "error" : "handshake failed", takeTlsErrors());
      errno = EPROTO;
      return -1;
    default:  // SSL_ERROR_SSL and anything unexpected
      failed_ = true;
      error_ =
          fmt::format("TLS {}: {}", established_ ? "error" : "handshake failed", takeTlsErrors());
      if (error_.back() == ' ') error_ += "protocol error";
      if (const long verdict = SSL_get_verify_result(ssl_); verdict != X509_V_OK) {
        error_ += fmt::format(" ({})", X509_verify_cert_error_string(verdict));
      }
      errno = EPROTO;
      endHandshake();
      return -1;
  }
}

bool TlsStream::refusePlainText() {
  const int fd = SSL_get_fd(ssl_);
  unsigned char first = 0;
  const ssize_t peeked = ::recv(fd, &first, 1, MSG_PEEK);
  if (peeked != 1) return false;  // nothing yet (or EOF/error: SSL_read reports it)
  const std::string* reply = std::exchange(plainTextReply_, nullptr);
  constexpr unsigned char kHandshakeRecord = 0x16;  // every ClientHello starts with it
  if (first == kHandshakeRecord) return false;
  // Read what the peer sent (its name, typically) so that closing ends with a FIN, and
  // its reply is not destroyed by an RST; a bounded amount, the rest is its problem.
  char scratch[4096];
  for (int i = 0; i < 16 && ::recv(fd, scratch, sizeof scratch, MSG_DONTWAIT) > 0; ++i) {
  }
  [[maybe_unused]] const ssize_t sent =
      ::send(fd, reply->data(), reply->size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  failed_ = true;
  endHandshake();
  error_ = "TLS handshake failed: the client sent plain text (a plain client on the TLS port)";
  errno = EPROTO;
  return true;
}

void TlsStream::shutdown() {
  if (failed_ || !established_) return;
  ERR_clear_error();
  // One non-blocking attempt to send close_notify; its answer is not waited for.
  SSL_shutdown(ssl_);
  ERR_clear_error();
}

}  // namespace classchat::transport
