// TlsStream over a non-blocking socketpair: handshake, data both ways (partial writes and
// WANT_READ/WANT_WRITE retries), certificate and host checks, a non-TLS peer, EOF, and the
// handshake gauge. The certificate is made here with OpenSSL's API.
#include "transport/tls_stream.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "net/fd.h"
#include "transport/tls_context.h"

namespace classchat::transport {
namespace {

// A self-signed certificate for localhost and 127.0.0.1, in PEM files under /tmp.
class SelfSigned {
 public:
  SelfSigned() {
    char dir[] = "/tmp/tls_stream_test.XXXXXX";
    dir_ = ::mkdtemp(dir);
    certPath_ = dir_ + "/cert.pem";
    keyPath_ = dir_ + "/key.pem";
    EVP_PKEY* key = EVP_EC_gen("prime256v1");
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509_EXTENSION* san =
        X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
    X509_add_ext(cert, san, -1);
    X509_EXTENSION_free(san);
    X509_sign(cert, key, EVP_sha256());
    FILE* f = std::fopen(certPath_.c_str(), "w");
    PEM_write_X509(f, cert);
    std::fclose(f);
    f = std::fopen(keyPath_.c_str(), "w");
    PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
    X509_free(cert);
    EVP_PKEY_free(key);
  }
  ~SelfSigned() {
    std::remove(certPath_.c_str());
    std::remove(keyPath_.c_str());
    ::rmdir(dir_.c_str());
  }
  const std::string& cert() const { return certPath_; }
  const std::string& key() const { return keyPath_; }

 private:
  std::string dir_, certPath_, keyPath_;
};

class TlsStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
    serverFd_.reset(fds[0]);
    clientFd_.reset(fds[1]);
    std::string error;
    serverContext_ = TlsContext::server(certs_.cert(), certs_.key(), error);
    ASSERT_NE(serverContext_, nullptr) << error;
    clientContext_ = TlsContext::client(certs_.cert(), true, error);
    ASSERT_NE(clientContext_, nullptr) << error;
  }

  // Runs both sides until the client's handshake ends; true if it succeeded.
  bool handshake(TlsStream& client, TlsStream& server) {
    char scratch[64];
    for (int i = 0; i < 100; ++i) {
      const int done = client.handshake();
      if (done != 1 && errno == EPROTO) return false;
      const ssize_t n = server.read(scratch, sizeof scratch);
      if (n < 0 && errno == EPROTO) return false;
      if (done == 1 && !server.handshaking()) return true;
    }
    return false;
  }

  SelfSigned certs_;
  net::Fd serverFd_, clientFd_;
  std::shared_ptr<TlsContext> serverContext_, clientContext_;
};

TEST_F(TlsStreamTest, HandshakeThenDataBothWays) {
  auto gauge = std::make_shared<std::size_t>(0);
  auto server = TlsStream::accept(*serverContext_, serverFd_.get(), gauge);
  auto client = TlsStream::connect(*clientContext_, clientFd_.get(), "127.0.0.1");
  ASSERT_TRUE(server && client);
  EXPECT_EQ(*gauge, 1u);
  ASSERT_TRUE(handshake(*client, *server)) << client->error() << server->error();
  EXPECT_EQ(*gauge, 0u) << "an established stream no longer counts as a handshake";
  EXPECT_EQ(std::string(server->version()).rfind("TLSv1.", 0), 0u);

  ASSERT_EQ(client->write("alice", 5), 5);
  char buffer[65536];
  ASSERT_EQ(server->read(buffer, sizeof buffer), 5);
  EXPECT_EQ(std::string(buffer, 5), "alice");
  // Nothing more: EAGAIN, waiting for input.
  EXPECT_EQ(server->read(buffer, sizeof buffer), -1);
  EXPECT_EQ(errno, EAGAIN);
  EXPECT_FALSE(server->readWaitsForWritable());

  // More than the socket buffer holds: partial writes and EAGAIN, retried with the rest
  // (the buffer is the same text, as TcpConnection's queue would present it).
  const std::string big(1 << 20, 'x');
  std::size_t written = 0;
  std::string received;
  int rounds = 0;
  while (received.size() < big.size() && ++rounds < 100000) {
    if (written < big.size()) {
      const ssize_t n = server->write(big.data() + written, big.size() - written);
      if (n > 0) {
        written += static_cast<std::size_t>(n);
      } else {
        ASSERT_EQ(errno, EAGAIN);
      }
    }
    const ssize_t n = client->read(buffer, sizeof buffer);
    if (n > 0) received.append(buffer, static_cast<std::size_t>(n));
    while (client->hasBufferedInput()) {
      const ssize_t more = client->read(buffer, sizeof buffer);
      ASSERT_GT(more, 0);
      received.append(buffer, static_cast<std::size_t>(more));
    }
  }
  EXPECT_EQ(received, big);
}

TEST_F(TlsStreamTest, CleanEofReadsAsZero) {
  auto server = TlsStream::accept(*serverContext_, serverFd_.get());
  auto client = TlsStream::connect(*clientContext_, clientFd_.get(), "localhost");
  ASSERT_TRUE(handshake(*client, *server));
  client->shutdown();  // close_notify
  char buffer[64];
  EXPECT_EQ(server->read(buffer, sizeof buffer), 0);
  // And a TCP close without close_notify (SSL_OP_IGNORE_UNEXPECTED_EOF) too.
  net::Fd fds[2];
  int raw[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, raw), 0);
  fds[0].reset(raw[0]);
  fds[1].reset(raw[1]);
  auto server2 = TlsStream::accept(*serverContext_, fds[0].get());
  auto client2 = TlsStream::connect(*clientContext_, fds[1].get(), "localhost");
  ASSERT_TRUE(handshake(*client2, *server2));
  // The client takes the session tickets first: closing with unread input would reset.
  EXPECT_EQ(client2->read(buffer, sizeof buffer), -1);
  EXPECT_EQ(errno, EAGAIN);
  client2.reset();
  fds[1].reset();
  EXPECT_EQ(server2->read(buffer, sizeof buffer), 0);
}

TEST_F(TlsStreamTest, WrongHostFailsVerification) {
  auto server = TlsStream::accept(*serverContext_, serverFd_.get());
  auto client = TlsStream::connect(*clientContext_, clientFd_.get(), "example.org");
  EXPECT_FALSE(handshake(*client, *server));
  EXPECT_NE(client->error().find("certificate verify failed"), std::string::npos)
      << client->error();
  EXPECT_NE(client->error().find("hostname mismatch"), std::string::npos) << client->error();
}

TEST_F(TlsStreamTest, UntrustedCertificateFailsVerification) {
  std::string error;
  SelfSigned other;
  auto otherContext = TlsContext::client(other.cert(), true, error);
  ASSERT_NE(otherContext, nullptr) << error;
  auto server = TlsStream::accept(*serverContext_, serverFd_.get());
  auto client = TlsStream::connect(*otherContext, clientFd_.get(), "localhost");
  EXPECT_FALSE(handshake(*client, *server));
  EXPECT_NE(client->error().find("certificate verify failed"), std::string::npos)
      << client->error();
  // --insecure: the same certificate is accepted.
  int raw[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, raw), 0);
  net::Fd a(raw[0]), b(raw[1]);
  auto insecure = TlsContext::client("", false, error);
  auto server2 = TlsStream::accept(*serverContext_, a.get());
  auto client2 = TlsStream::connect(*insecure, b.get(), "localhost");
  EXPECT_TRUE(handshake(*client2, *server2)) << client2->error();
}

TEST_F(TlsStreamTest, PlainTextPeerIsAProtocolError) {
  auto gauge = std::make_shared<std::size_t>(0);
  auto server = TlsStream::accept(*serverContext_, serverFd_.get(), gauge);
  ASSERT_EQ(::write(clientFd_.get(), "alice", 5), 5);
  char buffer[64];
  EXPECT_EQ(server->read(buffer, sizeof buffer), -1);
  EXPECT_EQ(errno, EPROTO);
  EXPECT_EQ(server->error().rfind("TLS handshake failed: ", 0), 0u) << server->error();
  EXPECT_EQ(*gauge, 0u) << "a failed handshake no longer counts";
  // The stream stays failed; shutdown() must not touch a failed SSL.
  EXPECT_EQ(server->read(buffer, sizeof buffer), -1);
  server->shutdown();
}

TEST_F(TlsStreamTest, PlainTextPeerGetsTheReplyInTheClear) {
  const std::string reply = "Error: this port speaks TLS\n";
  auto server = TlsStream::accept(*serverContext_, serverFd_.get(), nullptr, &reply);
  char buffer[64];
  // Nothing sent yet: an ordinary wait, not a refusal.
  EXPECT_EQ(server->read(buffer, sizeof buffer), -1);
  EXPECT_EQ(errno, EAGAIN);
  ASSERT_EQ(::write(clientFd_.get(), "alice", 5), 5);
  EXPECT_EQ(server->read(buffer, sizeof buffer), -1);
  EXPECT_EQ(errno, EPROTO);
  EXPECT_NE(server->error().find("plain text"), std::string::npos) << server->error();
  const ssize_t n = ::read(clientFd_.get(), buffer, sizeof buffer);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buffer, static_cast<std::size_t>(n)), reply);
  // The peer's bytes were read, so closing will not reset the reply away.
  EXPECT_EQ(::recv(serverFd_.get(), buffer, sizeof buffer, MSG_DONTWAIT), -1);
  EXPECT_EQ(errno, EAGAIN);
}

TEST_F(TlsStreamTest, TlsPeerIsNotTakenForPlainText) {
  const std::string reply = "Error: this port speaks TLS\n";
  auto server = TlsStream::accept(*serverContext_, serverFd_.get(), nullptr, &reply);
  auto client = TlsStream::connect(*clientContext_, clientFd_.get(), "localhost");
  ASSERT_TRUE(handshake(*client, *server)) << server->error();
}

TEST_F(TlsStreamTest, GaugeCountsStreamsDestroyedMidHandshake) {
  auto gauge = std::make_shared<std::size_t>(0);
  {
    auto server = TlsStream::accept(*serverContext_, serverFd_.get(), gauge);
    EXPECT_EQ(*gauge, 1u);
  }
  EXPECT_EQ(*gauge, 0u);
}

TEST(TlsContextTest, MissingOrMismatchedFilesAreOneSentence) {
  std::string error;
  EXPECT_EQ(TlsContext::server("/nonexistent.pem", "/nonexistent.key", error), nullptr);
  EXPECT_NE(error.find("/nonexistent.pem"), std::string::npos) << error;
  SelfSigned a, b;
  EXPECT_EQ(TlsContext::server(a.cert(), b.key(), error), nullptr);
  EXPECT_NE(error.find("mismatch"), std::string::npos) << error;
  EXPECT_EQ(TlsContext::client("/nonexistent-ca.pem", true, error), nullptr);
  EXPECT_NE(error.find("/nonexistent-ca.pem"), std::string::npos) << error;
}

}  // namespace
}  // namespace classchat::transport
