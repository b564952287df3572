// One asynchronous Redis connection, owned by and used on one event loop.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "hub/redis_options.h"
#include "hub/redis_reply.h"
#include "hub/redis_script.h"
#include "net/event_loop.h"

struct redisAsyncContext;

namespace classchat::hub {

class RedisLink;

// Commands over hiredis's async API, attached to a net::EventLoop (RedisLoopAdapter).
//
// Connection: start() connects without blocking; a failed connect or a lost link is
// retried with backoff (100 ms doubling to 2 s, +-20% jitter). onUp runs when a link is
// ready (the first and every later one: the owner re-asserts its state there), onDown when
// it is lost. Both run at a safe point of the loop, never inside hiredis.
//
// Callbacks: the callback of command() ALWAYS runs exactly once, on the loop's thread:
//   - with Redis's reply, in the order the commands were issued;
//   - with an unavailable() error when the command was refused (not up, or past the
//     pending bounds) -- from a zero-delay timer (after the current I/O dispatch, at the
//     latest in the next iteration, without sleeping), never inside command() itself;
//   - with an unavailable() error when the link is lost with the command written or
//     buffered (it may or may not have run), in issue order;
//   - with an unavailable() error when the connection is destroyed (inside the
//     destructor: what the callbacks capture must still be valid then).
//
// Batching: commands issued during one loop iteration are written together, in one
// write(2), at the next iteration (see RedisLoopAdapter).
//
// Dead links: see Options::replyTimeout.
//
// Bounds: at most maxPendingCommands commands, holding at most maxPendingBytes of
// arguments, are pending (buffered or written, reply not yet read); past either, commands
// fail at once. A slow or unreachable Redis cannot make memory grow without limit.
//
// Thread-safety: none; everything, construction and destruction included, on the loop's
// thread (so there is nothing for TSan to see here; cross-thread use goes through
// EventLoop::post). It may be destroyed from inside any of its own callbacks: hiredis's
// context is then freed once hiredis has returned (redisAsyncFree's deferral inside a reply
// callback), and onUp/onDown run outside hiredis altogether.
class RedisConnection {
 public:
  using Callback = std::function<void(const RedisReply&)>;

  struct Options {
    RedisEndpoint endpoint;
    std::size_t maxPendingCommands = 100'000;
    std::size_t maxPendingBytes = 64 * 1024 * 1024;
    // A link with commands pending and no reply for this long is taken for dead (a host
    // gone silently would otherwise hold them for TCP's retransmission timeout, about 15
    // minutes) and rebuilt; the pending callbacks get unavailable() errors. So blocking
    // commands (BLPOP...) longer than this do not belong on this connection.
    std::chrono::milliseconds replyTimeout{5000};
  };

  RedisConnection(net::EventLoop& loop, Options options);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  void setOnUp(std::function<void()> callback) { onUp_ = std::move(callback); }
  void setOnDown(std::function<void()> callback) { onDown_ = std::move(callback); }
  // Starts connecting; call once, after the callbacks are set.
  void start();
  bool isUp() const;

  // Sends argv (binary-safe) and calls `callback` exactly once (see above). Returns false
  // when the command was refused (its callback then gets an unavailable() error).
  // (P)SUBSCRIBE, (P)UNSUBSCRIBE and MONITOR are refused: use RedisSubscriber.
  bool command(const std::vector<std::string_view>& argv, Callback callback);

  // Runs `script` with EVALSHA. A script this link has not yet run successfully is sent
  // with EVAL (which also caches it), so a Redis restart (always a new link) costs no
  // NOSCRIPT round trip. A NOSCRIPT error (SCRIPT FLUSH under a live link) is retried once
  // as EVAL, transparently.
  // Order: scripts execute in issue order, except a retried one, which runs after every
  // command sent before its NOSCRIPT reply came back (only right after a SCRIPT FLUSH).
  bool evalScript(const RedisScript& script, const std::vector<std::string_view>& keys,
                  const std::vector<std::string_view>& args, Callback callback);

  // Commands sent and not yet answered, and their argument bytes.
  std::size_t pendingCommands() const { return inflight_.size(); }
  std::size_t pendingBytes() const { return pendingBytes_; }
  // Write events of the current link (each one write(2) of everything buffered); 0 when
  // down. For tests and metrics.
  std::uint64_t linkWriteEvents() const;
  // Links established so far.
  std::uint64_t connects() const;

 private:
  struct Pending {
    Callback callback;
    std::size_t bytes;
  };
  static void handleReply(::redisAsyncContext* context, void* reply, void* privdata);
  void refuse(Callback callback, std::string_view why);
  void deliverRefused();
  void failAll(std::string_view why);
  void handleDown();
  void checkProgress();
  std::chrono::milliseconds progressPeriod() const;
  bool sendScript(const RedisScript& script, const std::vector<std::string_view>& keys,
                  const std::vector<std::string_view>& args, bool retryOnNoScript,
                  Callback callback);

  net::EventLoop& loop_;
  Options options_;
  std::unique_ptr<RedisLink> link_;
  std::deque<Pending> inflight_;  // in issue order, as Redis answers
  std::size_t pendingBytes_ = 0;
  std::vector<std::pair<Callback, std::string>> refused_;
  net::TimerId refusedTimer_ = 0;
  net::TimerId progressTimer_ = 0;
  net::Clock::time_point lastProgress_{};         // last reply, or when the queue became non-empty
  std::unordered_set<std::string> knownScripts_;  // SHA1s this link has run
  std::function<void()> onUp_;
  std::function<void()> onDown_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace classchat::hub
