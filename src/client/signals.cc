#include "client/signals.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

namespace classchat::client {
namespace {

int signalPipe[2] = {-1, -1};

void onSignal(int signo) {
  const int saved = errno;
  const char byte = static_cast<char>(signo);
  [[maybe_unused]] const ssize_t n = ::write(signalPipe[1], &byte, 1);
  errno = saved;
}

}  // namespace

void installSignalHandlers() {
  if (signalPipe[0] < 0 && ::pipe2(signalPipe, O_CLOEXEC | O_NONBLOCK) != 0) return;
  struct sigaction action {};
  action.sa_handler = onSignal;
  sigemptyset(&action.sa_mask);
  for (int signo : {SIGINT, SIGTERM, SIGHUP, SIGWINCH}) ::sigaction(signo, &action, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

int signalFd() {
  return signalPipe[0];
}

std::vector<int> takeSignals() {
  std::vector<int> signals;
  char bytes[16];
  ssize_t n = 0;
  while ((n = ::read(signalPipe[0], bytes, sizeof bytes)) > 0) {
    signals.insert(signals.end(), bytes, bytes + n);
  }
  return signals;
}

}  // namespace classchat::client
