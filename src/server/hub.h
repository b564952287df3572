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

// Whether a frame handed to the hub will be delivered. kShed: the queue towards the
// recipient's loop was full (that loop is not keeping up), the frame was dropped and
// counted, and the sender should be told.
enum class SendResult { kQueued, kShed };

// What a loop's sessions need from "the rest of the chat": who is online and how to reach
// them. LocalHub implements it for one process. A clustered backend would need more than
// another implementation of this interface: claims answered later (a round trip to the
// shared directory, so claim() could not return its verdict at once), the hub injected
// into ChatLoop instead of built by it, and a route to a recipient that is more than a
// local ConnectionId (ARCHITECTURE.md, "For a cluster").
//
// Thread-safety: each loop has its own Hub object, used only on that loop's thread.
class Hub {
 public:
  virtual ~Hub() = default;

  // Reserves `name` for `connection`, unique across the whole server ignoring ASCII case.
  virtual ClaimResult claim(std::string_view name, net::ConnectionId connection) = 0;
  // Frees `name` if `connection` still holds it.
  virtual void release(std::string_view name, net::ConnectionId connection) = 0;
  // For a claim of `name` that was refused as taken: asks the loop of the connection that
  // holds it whether that connection's peer is already gone (a client that reconnects at
  // once with its own name while the server has not yet read its old connection's close,
  // for example because unread input came before the close). If it is gone, that loop
  // releases the name at once. `then` runs afterwards on this loop, and always later:
  // never inside this call, which usually comes from a decoder that is still feeding.
  virtual void checkOwnerGone(std::string_view name, std::function<void()> then) = 0;

  virtual std::optional<OnlineUser> find(std::string_view name) const = 0;
  virtual std::size_t onlineCount() const = 0;
  // The sum of the lengths of all online names (what a one-page /list would hold).
  virtual std::size_t onlineNameBytes() const = 0;
  // The 0-based position of `name` among the online names in nameLess order, or nullopt.
  virtual std::optional<std::size_t> rankOf(std::string_view name) const = 0;
  // Up to `count` online names in nameLess order, starting at position `first`: one
  // /list page or a welcome's first names without a pass over everyone online. Views are
  // valid until the loop yields.
  virtual std::vector<std::string_view> onlineNamesFrom(std::size_t first,
                                                        std::size_t count) const = 0;
  // Every online name, in nameLess order (O(N); for tests and tools).
  std::vector<std::string_view> onlineNamesSorted() const {
    return onlineNamesFrom(0, onlineCount());
  }
  // The first `limit` online names in nameLess order: what a welcome shows.
  std::vector<std::string_view> firstOnlineNames(std::size_t limit) const {
    return onlineNamesFrom(0, limit);
  }

  // Queues one frame for `user`, wherever it is connected. Frames from one sender to one
  // recipient arrive in the order they were sent.
  virtual SendResult sendTo(const OnlineUser& user, std::string_view frame) = 0;
  // Queues one frame for every registered user except `except`. kShed: the users of at
  // least one other loop will not get it.
  virtual SendResult broadcast(std::string_view frame, net::ConnectionId except) = 0;

  // Applies `action` to `user`'s session, wherever it is connected (rare: moderation).
  virtual void act(const OnlineUser& user, SessionAction action) = 0;
  // Applies `action` to every session connected from `address`, on every loop.
  virtual void actOnAddress(std::string address, SessionAction action) = 0;
};

// How a Hub reaches the connections of its own loop. Implemented by ChatLoop; called on
// that loop's thread only.
class LocalDelivery {
 public:
  virtual ~LocalDelivery() = default;
  virtual void deliverLocal(net::ConnectionId connection, std::string_view frame) = 0;
  virtual void deliverToAllLocal(std::string_view frame, net::ConnectionId except) = 0;
  virtual void actLocal(net::ConnectionId connection, const SessionAction& action) = 0;
  virtual void actOnAddressLocal(std::string_view address, const SessionAction& action) = 0;
  // If `connection` is on this loop and its peer has hung up (the close may still sit
  // behind unread input), handles what the peer sent before leaving, releases its name
  // through the hub now and returns true. False if it is still connected or already gone.
  virtual bool releaseIfPeerGone(net::ConnectionId connection) = 0;
};

}  // namespace classchat::server
