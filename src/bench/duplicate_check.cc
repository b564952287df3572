#include "bench/duplicate_check.h"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "bench/driver_factory.h"

namespace classchat::bench {

DuplicateCheck checkDuplicateName(const ServerAddress& server, const std::string& name,
                                  TimeNs timeout, const TransportOptions& transport) {
  DuplicateCheck check{name, false, ""};
  const int fd = ::socket(server.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  // Bounds the blocking connect too (Linux applies the send timeout to it).
  const timeval limit{static_cast<time_t>(timeout / kSecond), 0};
  if (fd >= 0) ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  if (fd < 0 || ::connect(fd, server.get(), server.length) != 0) {
    check.detail = fmt::format("connect failed: {}", std::strerror(errno));
    if (fd >= 0) ::close(fd);
    return check;
  }
  // Over WebSocket: the upgrade and the name in one frame; the server's close is answered
  // (sendRaw) so that it closes at once.
  struct Collect final : IncomingSink {
    int fd = -1;
    std::vector<Incoming::Kind> kinds;
    std::string firstText;
    void onIncoming(const Incoming& incoming) override {
      if (kinds.empty()) firstText = std::string(incoming.text);
      kinds.push_back(incoming.kind);
    }
    void sendRaw(std::string_view bytes) override {
      (void)!::write(fd, bytes.data(), bytes.size());
    }
  } frames;
  frames.fd = fd;
  const std::unique_ptr<Driver> driver = makeDriver(Protocol::kClassChat, {}, transport);
  std::string login;
  driver->appendLogin(login, name);
  (void)!::write(fd, login.data(), login.size());
  std::string received;
  const TimeNs deadline = nowNs() + timeout;
  bool closed = false;
  while (!closed && nowNs() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::max<TimeNs>(1, (deadline - nowNs()) / kMillisecond))) <=
        0) {
      continue;
    }
    char buffer[4096];
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) {
      closed = true;
    } else {
      received.append(buffer, static_cast<std::size_t>(n));
      received.erase(0, driver->parse(received, frames));
    }
  }
  ::close(fd);
  const bool oneError = frames.kinds.size() == 1 && frames.kinds[0] == Incoming::Kind::kError;
  check.passed = oneError && closed;
  if (check.passed) {
    check.detail = "refused: " + frames.firstText;
  } else if (!frames.kinds.empty() && frames.kinds[0] == Incoming::Kind::kWelcome) {
    check.detail = "accepted a second login with a taken name";
  } else if (!closed) {
    check.detail = fmt::format("connection not closed after {} frame(s)", frames.kinds.size());
  } else {
    check.detail = fmt::format("expected one Error frame then close, got {} frame(s): {}",
                               frames.kinds.size(), frames.firstText.substr(0, 80));
  }
  return check;
}

}  // namespace classchat::bench
