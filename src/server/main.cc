// classchatd: the classchat server.
#include <sys/resource.h>

#include <sodium.h>
#include <termios.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "server/accounts.h"
#include "server/chat_server.h"
#include "server/options.h"

namespace {

void setUpLogging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("classchatd");
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ [t%t] %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
}

// classchatd --hash-password: one line from stdin (not echoed on a terminal) to a line for
// the accounts file's HASH field.
int printPasswordHash() {
  termios saved{};
  const bool terminal = ::isatty(STDIN_FILENO) && ::tcgetattr(STDIN_FILENO, &saved) == 0;
  if (terminal) {
    std::fputs("Password: ", stderr);
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string password;
  const bool read = static_cast<bool>(std::getline(std::cin, password));
  if (terminal) {
    ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    std::fputs("\n", stderr);
  }
  if (!password.empty() && password.back() == '\r') password.pop_back();
  if (!read || password.empty()) {
    std::fputs("classchatd: --hash-password reads a non-empty password from stdin\n", stderr);
    return 2;
  }
  const std::optional<std::string> hash = classchat::server::hashPassword(password);
  sodium_memzero(password.data(), password.size());
  if (!hash) {
    std::fputs("classchatd: hashing failed (out of memory?)\n", stderr);
    return 1;
  }
  std::printf("%s\n", hash->c_str());
  return 0;
}

rlim_t openFileLimit() {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  return limit.rlim_cur;
}

}  // namespace

int main(int argc, char** argv) {
  int exitCode = 0;
  const auto options = classchat::server::parseOptions(argc, argv, exitCode);
  if (!options) return exitCode;
  if (options->hashPassword) return printPasswordHash();
  setUpLogging(options->logLevel);

  // Block the shutdown signals before any thread starts, so that only sigwait below
  // receives them; writes use MSG_NOSIGNAL, and SIGPIPE is ignored for anything else.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  classchat::server::ChatServer server(*options);
  try {
    server.start();
  } catch (const std::exception& e) {
    spdlog::critical("cannot start: {}", e.what());
    return 1;
  }
  spdlog::info("classchatd listening on {}:{}{} with {} event loop(s); open-file limit {}",
               options->host, server.port(), options->plain ? "" : " (TLS only)", options->threads,
               openFileLimit());
  if (options->tls()) spdlog::info("TLS on {}:{}", options->host, server.tlsPort());
  if (options->http) {
    spdlog::info(
        "HTTP{} on {}:{}: the chat page at /, health at /healthz, Prometheus metrics "
        "at /metrics",
        options->tls() ? "S" : "", options->httpHost, server.httpPort());
  }

  int received = 0;
  // SIGHUP (also what a closed SSH session sends) reloads and never stops the server.
  while (sigwait(&signals, &received) == 0 && received == SIGHUP) {
    spdlog::info("received SIGHUP: reloading");
    server.reload();
  }
  spdlog::info("received {}: shutting down", received == SIGINT ? "SIGINT" : "SIGTERM");
  server.shutdown();
  spdlog::info("classchatd stopped");
  return 0;
}
