// A listening socket that hands accepted connections to a callback.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "net/event_loop.h"
#include "net/fd.h"
#include "net/inet_address.h"
#include "net/lingering_closer.h"

namespace classchat::net {

// Owns one listening socket registered with one EventLoop. Used only on that loop's thread
// (or while the loop is not running); debug builds check it.
//
// When the process is out of descriptors (EMFILE/ENFILE) the acceptor releases a spare
// descriptor it holds for the purpose, accepts the pending connection, sends it the
// overload reply and closes it with a lingering close (in the spare's slot, which is
// taken back once that ends): the peer is refused cleanly and the level-triggered
// listener does not spin.
class Acceptor final : public IoHandler {
 public:
  using NewConnectionCallback = std::function<void(Fd socket, const InetAddress& peer)>;

  // Binds and listens; throws std::runtime_error when that fails. With `reusePort`, several
  // acceptors (one per loop) may listen on the same port and the kernel spreads connections.
  Acceptor(EventLoop& loop, const InetAddress& address, bool reusePort);
  ~Acceptor() override;

  // Binds a throw-away socket to `address` without SO_REUSEPORT, as a check before the
  // real listeners are created: SO_REUSEPORT would let them share a port that another
  // server already listens on. Returns 0 if the bind worked, else its errno (EADDRINUSE:
  // someone listens there). Sockets in TIME_WAIT from an earlier run do not count.
  static int probeBind(const InetAddress& address);

  void setOverloadReply(std::string bytes) { overloadReply_ = std::move(bytes); }
  void start(NewConnectionCallback callback);
  // Closes the listening socket; pending and future connects are refused by the kernel.
  void stop();
  // Stops watching the listener for a moment (used when descriptors run out and the
  // backlog cannot be drained). Accepting resumes by itself; if the listener cannot be
  // watched again, that is retried until it can.
  void pauseAccepting();

  const InetAddress& localAddress() const { return local_; }
  // The listening socket, for tests; owned by the acceptor.
  int fd() const { return socket_.get(); }
  bool paused() const { return paused_; }
  std::uint64_t refusedForDescriptors() const { return refusedForDescriptors_; }

  void handleEvent(std::uint32_t events) override;

 private:
  void refuseOneForDescriptors();
  void resumeAccepting();

  EventLoop& loop_;
  Fd socket_;
  Fd spare_;
  // The last connection refused for lack of descriptors, lingering in the spare's slot.
  LingeringCloser refusal_;
  InetAddress local_;
  NewConnectionCallback onNewConnection_;
  std::string overloadReply_;
  std::uint64_t refusedForDescriptors_ = 0;
  TimerId resumeTimer_ = 0;
  bool paused_ = false;
  Clock::time_point lastRefusalLog_{};
};

}  // namespace classchat::net
