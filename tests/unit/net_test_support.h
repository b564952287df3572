// Helpers for the net layer's unit tests: a loop on its own thread, and blocking loopback
// sockets for the peer's side.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <future>
#include <string>
#include <thread>
#include <utility>

#include <gtest/gtest.h>

#include "net/event_loop.h"
#include "net/fd.h"

namespace classchat::net::testing {

// Runs `loop` on its own thread; quits and joins on destruction.
class LoopThread {
 public:
  explicit LoopThread(EventLoop& loop) : loop_(loop), thread_([this] { loop_.run(); }) {}
  ~LoopThread() { stop(); }
  void stop() {
    if (!thread_.joinable()) return;
    loop_.quit();
    thread_.join();
  }
  std::thread::id id() const { return thread_.get_id(); }

 private:
  EventLoop& loop_;
  std::thread thread_;
};

// Runs `f` on the loop thread and returns its result.
template <typename F>
auto runOnLoop(EventLoop& loop, F f) {
  std::packaged_task<decltype(f())()> task(std::move(f));
  auto result = task.get_future();
  loop.post([&task] { task(); });
  return result.get();
}

// Polls `predicate` on the loop thread until it holds; false after `timeout`.
template <typename F>
bool eventuallyOnLoop(EventLoop& loop, F predicate,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (runOnLoop(loop, predicate)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

inline sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

// A blocking client socket connected to 127.0.0.1:`port`, reads timing out after 10 s.
// `receiveBuffer` (if not 0) is set before connecting, so the window starts small.
inline Fd connectTo(std::uint16_t port, int receiveBuffer = 0) {
  Fd socket(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  EXPECT_TRUE(socket.valid());
  if (receiveBuffer > 0) {
    ::setsockopt(socket.get(), SOL_SOCKET, SO_RCVBUF, &receiveBuffer, sizeof receiveBuffer);
  }
  const timeval timeout{10, 0};
  ::setsockopt(socket.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  const sockaddr_in address = loopback(port);
  EXPECT_EQ(::connect(socket.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address), 0)
      << std::strerror(errno);
  return socket;
}

// Both ends of a loopback TCP connection: {client, server side (non-blocking)}.
inline std::pair<Fd, Fd> tcpPair() {
  Fd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address = loopback(0);
  EXPECT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  EXPECT_EQ(::listen(listener.get(), 1), 0);
  socklen_t length = sizeof address;
  ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address), &length);
  Fd client = connectTo(ntohs(address.sin_port));
  Fd server(::accept4(listener.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
  EXPECT_TRUE(server.valid());
  return {std::move(client), std::move(server)};
}

enum class Ending { kEof, kReset, kTimeout, kOtherError };

// Reads from a blocking socket until EOF, an error or the receive timeout.
inline std::pair<std::string, Ending> readToEnd(int fd) {
  std::string data;
  char chunk[65536];
  while (true) {
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n > 0) {
      data.append(chunk, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0) return {data, Ending::kEof};
    if (errno == EINTR) continue;
    if (errno == ECONNRESET) return {data, Ending::kReset};
    if (errno == EAGAIN) return {data, Ending::kTimeout};
    return {data, Ending::kOtherError};
  }
}

// Whether the peer's reset or EOF has reached `fd` within `timeout`, without reading.
inline bool seesHangUp(int fd, std::chrono::milliseconds timeout) {
  pollfd entry{fd, POLLRDHUP, 0};
  return ::poll(&entry, 1, static_cast<int>(timeout.count())) == 1 &&
         (entry.revents & (POLLERR | POLLHUP | POLLRDHUP)) != 0;
}

}  // namespace classchat::net::testing
