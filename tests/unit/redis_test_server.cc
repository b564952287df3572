#include "redis_test_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "net/fd.h"

namespace classchat::hub::testing {
namespace {

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

std::uint16_t freePort() {
  net::Fd socket(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address = loopback(0);
  ::bind(socket.get(), reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(socket.get(), reinterpret_cast<sockaddr*>(&address), &length);
  return ntohs(address.sin_port);
}

// The reply to `request` from 127.0.0.1:port; false when it cannot connect.
bool exchange(std::uint16_t port, const std::string& request, std::string& reply) {
  net::Fd socket(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const timeval timeout{5, 0};
  ::setsockopt(socket.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  const sockaddr_in address = loopback(port);
  if (::connect(socket.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    return false;
  }
  if (::send(socket.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    return false;
  }
  std::string data;
  char chunk[65536];
  while (true) {
    const std::size_t lineEnd = data.find("\r\n");
    if (lineEnd != std::string::npos) {
      if (data[0] != '$') {
        reply = data.substr(0, lineEnd);
        return true;
      }
      const long length = std::stol(data.substr(1, lineEnd - 1));
      if (length < 0) {
        reply.clear();
        return true;
      }
      if (data.size() >= lineEnd + 2 + static_cast<std::size_t>(length)) {
        reply = data.substr(lineEnd + 2, static_cast<std::size_t>(length));
        return true;
      }
    }
    const ssize_t n = ::recv(socket.get(), chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    data.append(chunk, static_cast<std::size_t>(n));
  }
}

}  // namespace

RedisServerProcess::RedisServerProcess() : port_(freePort()) {
  EXPECT_TRUE(start());
}

RedisServerProcess::~RedisServerProcess() {
  kill();
}

bool RedisServerProcess::start() {
  if (pid_ > 0) return true;
  const std::string port = std::to_string(port_);
  pid_ = ::fork();
  if (pid_ == 0) {
    // Dies with the test binary, even when a test crashes: no stray servers.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    // Its log (startup banner, warnings) would bury the test's output.
    const int devNull = ::open("/dev/null", O_WRONLY);
    if (devNull >= 0) ::dup2(devNull, STDOUT_FILENO);
    ::execlp("redis-server", "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--loglevel", "warning", "--daemonize", "no",
             static_cast<char*>(nullptr));
    ::_exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      ADD_FAILURE() << "redis-server exited at start (status " << status
                    << "); is it installed? scripts/install-deps.sh installs it";
      pid_ = -1;
      return false;
    }
    std::string reply;
    if (exchange(port_, "PING\r\n", reply) && reply == "+PONG") return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ADD_FAILURE() << "redis-server did not answer PING on port " << port_;
  return false;
}

void RedisServerProcess::signalAndWait(int signal) {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGCONT);  // a paused server cannot act on SIGTERM
  ::kill(pid_, signal);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void RedisServerProcess::stop() {
  signalAndWait(SIGTERM);
}
void RedisServerProcess::kill() {
  signalAndWait(SIGKILL);
}
void RedisServerProcess::pause() {
  if (pid_ > 0) ::kill(pid_, SIGSTOP);
}
void RedisServerProcess::resume() {
  if (pid_ > 0) ::kill(pid_, SIGCONT);
}

std::string RedisServerProcess::command(const std::vector<std::string>& argv) const {
  std::string request = "*" + std::to_string(argv.size()) + "\r\n";
  for (const std::string& arg : argv) {
    request += "$" + std::to_string(arg.size()) + "\r\n" + arg + "\r\n";
  }
  std::string reply;
  EXPECT_TRUE(exchange(port_, request, reply)) << "cannot reach redis-server on " << port_;
  return reply;
}

}  // namespace classchat::hub::testing
