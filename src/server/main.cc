// classchatd: the classchat server.
#include <sys/resource.h>

#include <csignal>
#include <cstdio>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "server/chat_server.h"
#include "server/options.h"

namespace {

void setUpLogging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("classchatd");
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ [t%t] %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
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
  spdlog::info("classchatd listening on {}:{} with {} event loop(s); open-file limit {}",
               options->host, server.port(), options->threads, openFileLimit());

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
