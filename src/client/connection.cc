#include "client/connection.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "protocol/json_writer.h"

namespace classchat::client {
namespace {

// Server frames are one message each; a DM is as long as its text, and the server
// refuses client objects over its --max-message-bytes (64 KiB by default), so this
// leaves ample room while still bounding what a broken server can make us buffer.
constexpr std::size_t kMaxFrameBytes = 16 << 20;

std::string describeErrno(int error) {
  return std::strerror(error);
}

}  // namespace

// Hands each complete frame to the parser and the owner.
class ServerConnection::Splitter final : public protocol::FrameSink {
 public:
  explicit Splitter(ServerConnection& connection) : connection_(connection) {}
  void onObject(std::string_view object) override {
    if (connection_.state_ != State::kOpen) return;
    protocol::ServerParseResult parsed = connection_.parser_.parse(object);
    if (parsed.ok) connection_.callbacks_.onMessage(parsed.message);
  }
  void onGarbage(std::string_view) override {}
  void onOversize(std::size_t) override {}

 private:
  ServerConnection& connection_;
};

std::string resolve(const std::string& host, std::uint16_t port,
                    std::vector<net::InetAddress>& addresses) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
    return fmt::format("Cannot find the server '{}': {}.", host, ::gai_strerror(rc));
  }
  for (const addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    sockaddr_storage storage{};
    std::memcpy(&storage, ai->ai_addr, ai->ai_addrlen);
    addresses.emplace_back(storage);
  }
  ::freeaddrinfo(found);
  return {};
}

ServerConnection::ServerConnection(std::vector<net::InetAddress> addresses, Callbacks callbacks)
    : addresses_(std::move(addresses)),
      callbacks_(std::move(callbacks)),
      decoder_(kMaxFrameBytes) {}

void ServerConnection::start() {
  startNextAddress();
}

void ServerConnection::startNextAddress() {
  tls_.reset();
  for (; current_ < addresses_.size(); ++current_) {
    const net::InetAddress& address = addresses_[current_];
    fd_.reset(::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd_.valid()) {
      lastError_ = describeErrno(errno);
      continue;
    }
    if (::connect(fd_.get(), address.get(), address.length()) == 0) {
      finishConnect();
      return;
    }
    if (errno == EINPROGRESS) return;  // handleEvents finishes it
    lastError_ = describeErrno(errno);
  }
  fd_.reset();
  state_ = State::kClosed;
  const std::string where =
      addresses_.empty() ? std::string("the server") : addresses_.front().toString();
  current_ = 0;
  callbacks_.onClosed(fmt::format("Cannot connect to {}: {}.", where, lastError_), false);
}

void ServerConnection::failAttempt(int error) {
  lastError_ = describeErrno(error);
  ++current_;
  startNextAddress();
}

void ServerConnection::finishConnect() {
  sockaddr_storage local{};
  socklen_t length = sizeof local;
  if (::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&local), &length) == 0) {
    localIp_ = net::InetAddress(local).ip();
  }
  if (tlsContext_) {
    tls_ = transport::TlsStream::connect(*tlsContext_, fd_.get(), tlsHost_);
    if (!tls_) {
      fail("Cannot set up TLS (out of memory?).", false);
      return;
    }
    continueHandshake();
    return;
  }
  state_ = State::kOpen;
  callbacks_.onConnected();
}

void ServerConnection::continueHandshake() {
  if (tls_->handshake() == 1) {
    state_ = State::kOpen;
    callbacks_.onConnected();
    return;
  }
  if (errno == EAGAIN) return;
  // Not worth trying the next address: it is the same server with the same certificate.
  fail(fmt::format("Cannot connect to {}: {}.", addresses_[current_].toString(), tls_->error()),
       false);
}

short ServerConnection::wantedEvents() const {
  switch (state_) {
    case State::kConnecting:
      if (tls_) return tls_->readWaitsForWritable() ? POLLOUT : POLLIN;  // handshaking
      return POLLOUT;
    case State::kOpen:
      if (tls_) {
        const bool writable = (outputStart_ < output_.size() && !tls_->writeWaitsForReadable()) ||
                              tls_->readWaitsForWritable();
        return static_cast<short>(POLLIN | (writable ? POLLOUT : 0));
      }
      return static_cast<short>(POLLIN | (outputStart_ < output_.size() ? POLLOUT : 0));
    case State::kClosed:
      break;
  }
  return 0;
}

void ServerConnection::handleEvents(short revents) {
  if (state_ == State::kConnecting && tls_) {
    if (revents != 0) continueHandshake();
    return;
  }
  if (state_ == State::kConnecting) {
    if ((revents & (POLLOUT | POLLERR | POLLHUP)) == 0) return;
    int error = 0;
    socklen_t length = sizeof error;
    ::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) {
      failAttempt(error);
    } else {
      finishConnect();
    }
    return;
  }
  if (state_ != State::kOpen) return;
  // Read first: a server that refuses us writes its reason and then closes.
  if (revents & (POLLIN | POLLHUP | POLLERR)) readSome();
  if (tls_ && state_ == State::kOpen && (revents & POLLOUT) && tls_->readWaitsForWritable()) {
    readSome();
  }
  if (state_ == State::kOpen &&
      ((revents & POLLOUT) || (tls_ && (revents & POLLIN) && tls_->writeWaitsForReadable()))) {
    flush();
  }
}

void ServerConnection::readSome() {
  char buffer[65536];
  const ssize_t n =
      tls_ ? tls_->read(buffer, sizeof buffer) : ::recv(fd_.get(), buffer, sizeof buffer, 0);
  if (n > 0) {
    Splitter splitter(*this);
    decoder_.feed(std::string_view(buffer, static_cast<std::size_t>(n)), splitter);
    // Decrypted bytes TLS still holds would not wake poll() again.
    if (tls_ && state_ == State::kOpen && tls_->hasBufferedInput()) readSome();
    return;
  }
  if (n < 0 && tls_ && errno == EPROTO) {
    fail(fmt::format("The connection to the server was lost: {}.", tls_->error()), false);
    return;
  }
  if (n == 0) {
    fail("The server closed the connection.", true);
  } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    fail(fmt::format("The connection to the server was lost: {}.", describeErrno(errno)), false);
  }
}

void ServerConnection::sendRaw(std::string_view bytes) {
  if (state_ != State::kOpen || finishing_) return;
  output_.append(bytes);
  flush();
}

void ServerConnection::sendMessage(std::string_view fromName, std::string_view to,
                                   std::string_view msg) {
  if (state_ != State::kOpen || finishing_) return;
  protocol::appendMessageFrame(output_, fromName, localIp_, to, msg);
  flush();
}

void ServerConnection::finishSending() {
  if (state_ != State::kOpen) return;
  finishing_ = true;
  flush();
}

void ServerConnection::flush() {
  while (outputStart_ < output_.size()) {
    const ssize_t n =
        tls_ ? tls_->write(output_.data() + outputStart_, output_.size() - outputStart_)
             : ::send(fd_.get(), output_.data() + outputStart_, output_.size() - outputStart_,
                      MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EINTR) continue;
      if (tls_ && errno == EPROTO) {
        fail(fmt::format("The connection to the server was lost: {}.", tls_->error()), false);
        return;
      }
      fail(fmt::format("The connection to the server was lost: {}.", describeErrno(errno)), false);
      return;
    }
    outputStart_ += static_cast<std::size_t>(n);
  }
  output_.clear();
  outputStart_ = 0;
  if (finishing_ && !shutDown_) {
    if (tls_) tls_->shutdown();  // close_notify; the server's answers can still be read
    ::shutdown(fd_.get(), SHUT_WR);
    shutDown_ = true;
  }
}

void ServerConnection::fail(std::string reason, bool byPeer) {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  tls_.reset();
  fd_.reset();
  callbacks_.onClosed(reason, byPeer);
}

void ServerConnection::close() {
  state_ = State::kClosed;
  tls_.reset();
  fd_.reset();
}

}  // namespace classchat::client
