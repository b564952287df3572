// A TcpServer on 127.0.0.1 with a scriptable handler, for the unit tests of TcpServer and
// TcpConnection.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "net/tcp_server.h"
#include "net_test_support.h"

namespace classchat::net::testing {

// Records what the server reports; the hooks let a test act on its connections. Everything
// runs on the loop thread; read the records through runOnLoop.
class ScriptedHandler final : public ConnectionHandler {
 public:
  struct Closed {
    ConnectionId id;
    std::string reason;
  };

  void onConnected(TcpConnection& connection) override {
    connected.push_back(connection.id());
    if (whenConnected) whenConnected(connection);
  }
  void onData(TcpConnection& connection, std::string_view bytes) override {
    received += bytes;
    if (whenData) whenData(connection, bytes);
  }
  void onClosed(TcpConnection& connection) override {
    closed.push_back({connection.id(), connection.closeReason()});
  }

  std::function<void(TcpConnection&)> whenConnected;
  std::function<void(TcpConnection&, std::string_view)> whenData;
  std::vector<ConnectionId> connected;
  std::string received;
  std::vector<Closed> closed;
};

// A server on loop index `kLoopIndex`, started and running on its own thread.
class TestServer {
 public:
  static constexpr std::uint32_t kLoopIndex = 3;

  explicit TestServer(TcpServerOptions options = {}, ScriptedHandler* handler = nullptr)
      : handler_(handler != nullptr ? *handler : ownHandler_),
        server_(loop_, kLoopIndex, *InetAddress::parse("127.0.0.1", 0), handler_, options) {
    server_.start();
    thread_ = std::make_unique<LoopThread>(loop_);
  }
  ~TestServer() { thread_->stop(); }

  EventLoop& loop() { return loop_; }
  TcpServer& server() { return server_; }
  std::uint16_t port() const { return server_.localAddress().port(); }
  // Runs `f(server, handler)` on the loop thread.
  template <typename F>
  auto on(F f) {
    return runOnLoop(loop_, [&] { return f(server_, handler_); });
  }
  template <typename F>
  bool eventually(F predicate) {
    return eventuallyOnLoop(loop_, [&] { return predicate(server_, handler_); });
  }

 private:
  EventLoop loop_;
  ScriptedHandler ownHandler_;
  ScriptedHandler& handler_;
  TcpServer server_;
  std::unique_ptr<LoopThread> thread_;
};

}  // namespace classchat::net::testing
