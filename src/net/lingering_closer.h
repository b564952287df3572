// Closing a socket so that the last reply reaches the peer ("lingering close").
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "net/event_loop.h"
#include "net/fd.h"

namespace classchat::net {

// Closes sockets the way web servers do after an error reply (nginx's lingering close).
// close() on a socket with unread input makes the kernel answer with an RST, and an RST
// throws away whatever the kernel still had to send: on a real link, the `Error:` line
// that explains the close. So a socket handed here is shut down for writing (the peer
// gets everything already queued, then a FIN), and what the peer still sends is read and
// thrown away until it closes its side too, or until the deadline; only then is it closed.
//
// Bounded: at most `maxSockets` linger at once; a socket beyond that is closed at once,
// as before. Each lingering socket costs a descriptor and its kernel buffers for at most
// `timeout`.
//
// Thread-safety: none; used on its loop's thread. Registers a before-sleep hook, so it must
// live as long as the loop runs.
class LingeringCloser {
 public:
  // `onSocketClosed` (optional) runs whenever a lingering socket is finally closed.
  LingeringCloser(EventLoop& loop, std::size_t maxSockets, Clock::duration timeout,
                  std::function<void()> onSocketClosed = {});
  ~LingeringCloser();
  LingeringCloser(const LingeringCloser&) = delete;
  LingeringCloser& operator=(const LingeringCloser&) = delete;

  // Takes a connected socket whose output has all been handed to the kernel. Returns false
  // if it was closed at once instead: the bound was reached, or the socket is already dead.
  bool add(Fd socket);
  // Ends every lingering socket now: reads the input that has already arrived (so that,
  // usually, no RST is needed) and closes it.
  void closeAll();
  std::size_t size() const { return lingering_.size(); }
  // Sockets closed at once because the bound was reached.
  std::uint64_t overflowed() const { return overflowed_; }

 private:
  class Entry;
  // Reads and discards; closes the socket at EOF or on an error.
  void discardInput(Entry& entry);
  void finish(Entry& entry);

  EventLoop& loop_;
  const std::size_t maxSockets_;
  const Clock::duration timeout_;
  std::function<void()> onSocketClosed_;
  std::unordered_map<Entry*, std::unique_ptr<Entry>> lingering_;
  // Finished entries, destroyed at the end of the iteration: an event for one of them may
  // still be waiting in the current epoll batch.
  std::vector<std::unique_ptr<Entry>> finished_;
  std::uint64_t overflowed_ = 0;
};

}  // namespace classchat::net
