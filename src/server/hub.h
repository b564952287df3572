// The name directory and message delivery as the chat logic of one loop sees them.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/tcp_connection.h"

namespace classchat::server {

// A registered user, as found in the directory.
struct OnlineUser {
  std::string_view name;  // the spelling that was registered; valid until the loop yields
  net::ConnectionId connection;
};

enum class ClaimResult { kClaimed, kTaken };

// What a teacher does to a session (/kick, /ban, /mute), carried to the loop that owns it.
struct SessionAction {
  enum class Kind : std::uint8_t { kDisconnect, kMute, kUnmute };
  Kind kind = Kind::kDisconnect;
  std::string notice;                             // what the user is told, as a SERVER message
  std::string logReason;                          // why, for the log and the close reason
  std::chrono::system_clock::time_point until{};  // kMute: when it ends
};

// What a loop's sessions need from "the rest of the chat": who is online and how to reach
// them. LocalHub implements it for one process; a clustered backend (names and delivery
// shared through an external broker) can implement the same interface later without the
// session code changing.
//
// Thread-safety: each loop has its own Hub object, used only on that loop's thread.
class Hub {
 public:
  virtual ~Hub() = default;

  // Reserves `name` for `connection`, unique across the whole server ignoring ASCII case.
  virtual ClaimResult claim(std::string_view name, net::ConnectionId connection) = 0;
  // Frees `name` if `connection` still holds it.
  virtual void release(std::string_view name, net::ConnectionId connection) = 0;
  // Runs `then` on this loop once every close that had already reached the server when
  // this was called has released its name. A taken name is claimed once more after this
  // before it is refused: a client that reconnects at once with its own name must not be
  // refused because another loop has not yet read its old connection's close. The
  // default suits a hub whose releases are immediate.
  virtual void afterPendingCloses(std::function<void()> then) { then(); }

  virtual std::optional<OnlineUser> find(std::string_view name) const = 0;
  virtual std::size_t onlineCount() const = 0;
  // Every online name, in nameLess order. Views are valid until the loop yields.
  virtual std::vector<std::string_view> onlineNamesSorted() const = 0;
  // The first `limit` online names in nameLess order: what a welcome shows, without
  // sorting everyone (a join would otherwise cost O(N log N)). Views as above.
  virtual std::vector<std::string_view> firstOnlineNames(std::size_t limit) const {
    std::vector<std::string_view> names = onlineNamesSorted();
    if (names.size() > limit) names.resize(limit);
    return names;
  }

  // Queues one frame for `user`, wherever it is connected. Frames from one sender to one
  // recipient arrive in the order they were sent.
  virtual void sendTo(const OnlineUser& user, std::string_view frame) = 0;
  // Queues one frame for every registered user except `except`.
  virtual void broadcast(std::string_view frame, net::ConnectionId except) = 0;

  // Applies `action` to `user`'s session, wherever it is connected (rare: moderation).
  virtual void act(const OnlineUser& user, SessionAction action) = 0;
  // Applies `action` to every session connected from `address`, on every loop.
  virtual void actOnAddress(std::string address, SessionAction action) = 0;
};

// How a Hub hands frames to the connections of its own loop. Implemented by ChatLoop.
class LocalDelivery {
 public:
  virtual ~LocalDelivery() = default;
  virtual void deliverLocal(net::ConnectionId connection, std::string_view frame) = 0;
  virtual void deliverToAllLocal(std::string_view frame, net::ConnectionId except) = 0;
  virtual void actLocal(net::ConnectionId connection, const SessionAction& action) = 0;
  virtual void actOnAddressLocal(std::string_view address, const SessionAction& action) = 0;
};

}  // namespace classchat::server
