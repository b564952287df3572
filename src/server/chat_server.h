// classchatd assembled: one ChatLoop per thread, sharing a NameRegistry.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "net/event_loop.h"
#include "server/chat_loop.h"
#include "server/connection_limiter.h"
#include "server/name_registry.h"
#include "server/options.h"

namespace classchat::server {

// Descriptors the server keeps for itself besides its connections: stdin, stdout and
// stderr; per loop a listener, an epoll instance, an eventfd and the spare for EMFILE; and a
// margin (as Redis keeps 32) for refusals in progress, log files and the like.
std::size_t reservedDescriptors(unsigned threads);

// What --max-connections becomes, as Redis sizes maxclients: 0 (the default) is the
// open-file limit less reservedDescriptors(), so that the clean "server is full" refusal,
// not EMFILE, is the normal path; a request above that is lowered to it. `note` says what
// was chosen and why, for the log; `lowered` is set when a request was cut.
std::size_t resolveMaxConnections(std::size_t requested, std::uint64_t openFileLimit,
                                  unsigned threads, std::string& note, bool& lowered);

// Owns the loops and their threads. start(), port() and shutdown() are called from the
// main thread only.
class ChatServer {
 public:
  explicit ChatServer(ServerOptions options);
  ~ChatServer();

  // Binds every loop's listener (throws std::runtime_error on failure) and starts the
  // loop threads.
  void start();
  std::uint16_t port() const;
  // Says goodbye to every client, waits for the loops to finish (at most the shutdown
  // grace plus a moment) and joins their threads.
  void shutdown();

 private:
  struct Unit {
    std::unique_ptr<net::EventLoop> loop;
    std::unique_ptr<ChatLoop> chat;
    std::thread thread;
  };

  ServerOptions options_;
  NameRegistry registry_;
  ConnectionLimiter limiter_;
  std::vector<Unit> units_;
};

}  // namespace classchat::server
