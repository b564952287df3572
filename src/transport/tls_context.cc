#include "transport/tls_context.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <fmt/format.h>

namespace classchat::transport {
namespace {

SSL_CTX* newContext(const SSL_METHOD* method) {
  SSL_CTX* ctx = SSL_CTX_new(method);
  if (ctx == nullptr) return nullptr;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // RELEASE_BUFFERS: the 16 KB+ read and write record buffers are freed whenever they are
  // empty, which is nearly always for an idle chat connection. PARTIAL_WRITE and
  // ACCEPT_MOVING_WRITE_BUFFER: TlsStream retries a write with its queue's current front,
  // which may have grown and moved since.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                            SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // A peer that closes the TCP connection without close_notify is an ordinary end of
  // input for a line protocol (the class's clients do it), not an error.
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
  // Read ahead: one recv() takes every record the kernel holds, instead of two per record
  // (header, then body). The buffer is still released once it is empty.
  SSL_CTX_set_read_ahead(ctx, 1);
  return ctx;
}

}  // namespace

TlsContext::~TlsContext() {
  SSL_CTX_free(ctx_);
}

std::shared_ptr<TlsContext> TlsContext::server(const std::string& certPath,
                                               const std::string& keyPath, std::string& error) {
  ERR_clear_error();
  SSL_CTX* ctx = newContext(TLS_server_method());
  if (ctx == nullptr) {
    error = "cannot create a TLS context: " + takeTlsErrors();
    return nullptr;
  }
  std::shared_ptr<TlsContext> context(new TlsContext(ctx));
  if (SSL_CTX_use_certificate_chain_file(ctx, certPath.c_str()) != 1) {
    error = fmt::format("cannot read the certificate {}: {}", certPath, takeTlsErrors());
    return nullptr;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, keyPath.c_str(), SSL_FILETYPE_PEM) != 1) {
    error = fmt::format("cannot read the private key {}: {}", keyPath, takeTlsErrors());
    return nullptr;
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    error = fmt::format("the key {} does not match the certificate {}: {}", keyPath, certPath,
                        takeTlsErrors());
    return nullptr;
  }
  // No server-side session cache: it would grow with every client (up to 20,000 sessions).
  // TLS 1.3 clients still resume with the stateless tickets.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  return context;
}

std::shared_ptr<TlsContext> TlsContext::client(const std::string& caPath, bool verify,
                                               std::string& error) {
  ERR_clear_error();
  SSL_CTX* ctx = newContext(TLS_client_method());
  if (ctx == nullptr) {
    error = "cannot create a TLS context: " + takeTlsErrors();
    return nullptr;
  }
  std::shared_ptr<TlsContext> context(new TlsContext(ctx));
  if (verify) {
    const int loaded = caPath.empty() ? SSL_CTX_set_default_verify_paths(ctx)
                                      : SSL_CTX_load_verify_locations(ctx, caPath.c_str(), nullptr);
    if (loaded != 1) {
      error = caPath.empty()
                  ? "cannot load the system's trusted certificates: " + takeTlsErrors()
                  : fmt::format("cannot read the CA file {}: {}", caPath, takeTlsErrors());
      return nullptr;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  return context;
}

std::string takeTlsErrors() {
  std::string text;
  while (const unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    if (!text.empty()) text += "; ";
    // "error:0A00010B:SSL routines::wrong version number": keep the reason, the last field.
    const std::string_view line(buffer);
    const auto colon = line.rfind(':');
    text += colon == std::string_view::npos ? line : line.substr(colon + 1);
  }
  return text;
}

}  // namespace classchat::transport
