// A listening socket that hands accepted connections to a callback.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "net/event_loop.h"
#include "net/fd.h"
#include "net/inet_address.h"

namespace classchat::net {

// Owns one listening socket registered with one EventLoop. Used only on that loop's thread
// (constructed before the loop runs).
//
// When the process is out of descriptors (EMFILE/ENFILE) the acceptor releases a spare
// descriptor it holds for the purpose, accepts the pending connection, sends it the
// overload reply, closes it and takes the spare back: the peer is refused cleanly and
// the level-triggered listener does not spin.
class Acceptor final : public IoHandler {
 public:
  using NewConnectionCallback = std::function<void(Fd socket, const InetAddress& peer)>;

  // Binds and listens; throws std::runtime_error when that fails. With `reusePort`, several
  // acceptors (one per loop) may listen on the same port and the kernel spreads connections.
  Acceptor(EventLoop& loop, const InetAddress& address, bool reusePort);
  ~Acceptor() override;

  void setOverloadReply(std::string bytes) { overloadReply_ = std::move(bytes); }
  void start(NewConnectionCallback callback);
  // Closes the listening socket; pending and future connects are refused by the kernel.
  void stop();

  const InetAddress& localAddress() const { return local_; }
  std::uint64_t refusedForDescriptors() const { return refusedForDescriptors_; }

  void handleEvent(std::uint32_t events) override;

 private:
  void refuseOneForDescriptors();
  void pauseAccepting();

  EventLoop& loop_;
  Fd socket_;
  Fd spare_;
  InetAddress local_;
  NewConnectionCallback onNewConnection_;
  std::string overloadReply_;
  std::uint64_t refusedForDescriptors_ = 0;
  bool paused_ = false;
  Clock::time_point lastRefusalLog_{};
};

}  // namespace classchat::net
