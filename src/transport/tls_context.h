// OpenSSL contexts (SSL_CTX) for the TLS port and for clients, built from PEM files.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <mutex>
#include <string>

namespace classchat::transport {

// One SSL_CTX: TLS 1.2 and later only, SSL_MODE_RELEASE_BUFFERS (an idle connection keeps
// no record buffers) and partial, moving writes (TlsStream writes from a queue that may
// grow and move between retries). Immutable once built, so any thread may create SSLs
// from it at once (OpenSSL locks what it must). Each SSL holds a reference of its own on
// the SSL_CTX, so a context replaced by a reload lives on until its last connection ends.
class TlsContext {
 public:
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // A server context with the certificate chain and key of these PEM files. nullptr, and
  // one sentence in `error`, if they cannot be read or do not match.
  static std::shared_ptr<TlsContext> server(const std::string& certPath, const std::string& keyPath,
                                            std::string& error);
  // A client context that verifies the server against `caPath` (a PEM file of trusted
  // certificates) or, when that is empty, the system's trust store; `verify` false
  // accepts any certificate (tests only).
  static std::shared_ptr<TlsContext> client(const std::string& caPath, bool verify,
                                            std::string& error);

  SSL_CTX* get() const { return ctx_; }

 private:
  explicit TlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
};

// The context new server connections use; SIGHUP replaces it. Thread-safe.
class TlsContextSlot {
 public:
  std::shared_ptr<TlsContext> current() const {
    std::lock_guard lock(mutex_);
    return current_;
  }
  void replace(std::shared_ptr<TlsContext> context) {
    std::lock_guard lock(mutex_);
    current_ = std::move(context);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<TlsContext> current_;
};

// Drains OpenSSL's error queue of this thread into one line ("" if it is empty).
std::string takeTlsErrors();

}  // namespace classchat::transport
