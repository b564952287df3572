// classchatd assembled: one ChatLoop per thread, sharing a NameRegistry.
#pragma once

#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "net/event_loop.h"
#include "server/chat_loop.h"
#include "server/connection_limiter.h"
#include "server/name_registry.h"
#include "server/options.h"

namespace classchat::server {

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
  // SIGHUP's work: applies what can change while the server runs. Nothing can yet (later
  // issues give it work, such as re-reading a moderation list); it must never stop the
  // server.
  void reload();
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
