// The name directory and message delivery as the chat logic of one loop sees them: the seam
// between the chat (sessions, commands) and the engine that spans loops or nodes.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/tcp_connection.h"

namespace classchat::net {
class EventLoop;
}  // namespace classchat::net

namespace classchat::server {

// Which process of a cluster. 0 is "this process" for a hub without a cluster (LocalHub).
using NodeId = std::uint32_t;
inline constexpr NodeId kThisNode = 0;

// Where a user is connected: the node, and the connection on that node (whose low 8 bits
// name the loop there, see net::loopIndexOf). A route is only meaningful to the hub that
// handed it out; the chat logic never routes by hand.
struct Route {
  NodeId node = kThisNode;
  net::ConnectionId connection = 0;
  std::uint32_t loop() const { return net::loopIndexOf(connection); }
  friend bool operator==(const Route&, const Route&) = default;
};

// A registered user, as found in the directory.
struct OnlineUser {
  std::string_view name;  // the spelling that was registered; valid until the loop yields
  Route route;
};

// kUnavailable: the directory could not be reached (a cluster's Redis is down); the
// session is refused with "the chat directory is unavailable, try again".
enum class ClaimResult { kClaimed, kTaken, kUnavailable };

// How many names a claim's answer carries: what a welcome shows (kWelcomeNames in
// replies.h) plus one, in case the newcomer is among them.
inline constexpr std::size_t kClaimPageNames = 11;

// Online names from some position on, in nameLess order, with the count of everyone online
// read at the same moment.
struct DirectoryPage {
  std::size_t online = 0;
  std::vector<std::string> names;
  bool unavailable = false;  // the directory could not be read (a cluster's Redis is down)
};

struct ClaimOutcome {
  ClaimResult result = ClaimResult::kTaken;
  std::string name;  // the name as claimed (so a late answer can be undone if unwanted)
  // kClaimed: the directory right after the claim (the claimant included): the count and
  // the first kClaimPageNames names, which is what the welcome needs. A cluster reads them
  // in the same round trip as the claim.
  DirectoryPage welcome;
};

// What /list and the shout count need, without a pass over everyone online.
struct DirectoryStats {
  std::size_t online = 0;
  std::size_t nameBytes = 0;            // the sum of the lengths of all online names
  std::optional<std::size_t> selfRank;  // where the asked-for name sits in nameLess order
  // The directory could not be read; `online` is then the hub's best local knowledge.
  bool unavailable = false;
};

// What a teacher does to a session (/kick, /ban, /mute), carried to the loop that owns it.
struct SessionAction {
  enum class Kind : std::uint8_t { kDisconnect, kMute, kUnmute };
  Kind kind = Kind::kDisconnect;
  std::string notice;                             // what the user is told, as a SERVER message
  std::string logReason;                          // why, for the log and the close reason
  std::chrono::system_clock::time_point until{};  // kMute: when it ends
};

// The answer to acting on a user by name.
struct ActOutcome {
  bool found = false;
  std::string name;          // found: the registered spelling
  bool unavailable = false;  // the directory could not be asked; nothing was done
};

// Whether a frame handed to the hub will be delivered. kShed: the queue towards the
// recipient's loop was full (that loop is not keeping up), the frame was dropped and
// counted, and the sender should be told. kUnavailable: it could not leave this node
// (a cluster's Redis is down); only this node's users got it.
enum class SendResult { kQueued, kShed, kUnavailable };

// A direct message, stamped by the sender's node. Views valid for the call only.
struct DirectMessage {
  std::string_view to;  // as the sender wrote it
  std::string_view senderName;
  std::string_view senderIp;
  std::string_view msg;
  net::ConnectionId senderConnection = 0;  // on this loop: where a late failure is told
};

// kSent: delivered or queued (or handed to the cluster; a failure found later comes back
// through LocalDelivery::directFailed). The others are failures the sender is told of.
enum class DirectStatus { kSent, kShed, kNotFound, kUnavailable };
struct DirectOutcome {
  DirectStatus status = DirectStatus::kSent;
  // kSent and kShed on a local answer: the recipient's registered spelling, valid until
  // the loop yields; empty when the hub does not know it yet.
  std::string_view name;
};

// Completions of calls that may answer later. Each runs on the caller's loop thread, never
// inside the call that was given it, and only if that call returned nullopt; then exactly
// once, also when the directory cannot be reached (answer with `unavailable`): a session
// holds its next messages until a command's answer has come. An empty function means
// "the answer is not wanted".
using ClaimDone = std::function<void(ClaimOutcome)>;
using StatsDone = std::function<void(DirectoryStats)>;
using PageDone = std::function<void(DirectoryPage)>;
using ActDone = std::function<void(ActOutcome)>;

// What a loop's sessions need from "the rest of the chat": who is online and how to reach
// them. LocalHub implements it for one process (every answer at once); a clustered hub
// implements the same calls with round trips to a shared directory (answers later).
//
// "Inline or later": a call returning std::optional<T> answers at once with a value, or
// returns nullopt and then calls its `done` exactly once, later, on this loop's thread
// (never inside the call, which may come from a decoder that is still feeding). The caller
// must expect either, and must not assume that the session it asked for still exists when
// the answer comes (look the connection up again by id).
//
// Thread-safety: each loop has its own Hub object, used only on that loop's thread.
class Hub {
 public:
  virtual ~Hub() = default;

  // Reserves `name` for `connection`, unique across the whole chat ignoring ASCII case;
  // the first claim wins. Inline or later.
  virtual std::optional<ClaimOutcome> claim(std::string_view name, net::ConnectionId connection,
                                            ClaimDone done) = 0;
  // Frees `name` if `connection` still holds it. At once for this loop; other loops and
  // nodes see it shortly after.
  virtual void release(std::string_view name, net::ConnectionId connection) = 0;
  // For a claim of `name` that was refused as taken: asks whoever holds the connection
  // that owns it whether that connection's peer is already gone (a client that reconnects
  // at once with its own name while the server has not yet read its old connection's
  // close, for example because unread input came before the close). If it is gone, the
  // name is released at once. `then` runs afterwards on this loop, and always later.
  virtual void checkOwnerGone(std::string_view name, std::function<void()> then) = 0;

  // The count, the name bytes and `self`'s rank among the online names. Inline or later.
  virtual std::optional<DirectoryStats> readStats(std::string_view self, StatsDone done) = 0;
  // Up to `count` online names in nameLess order from position `first` (0-based): one
  // /list page or a welcome's first names, in O(page). Inline or later.
  virtual std::optional<DirectoryPage> readNames(std::size_t first, std::size_t count,
                                                 PageDone done) = 0;

  // Sends a direct message to the user named `message.to`, wherever connected; the hub
  // builds the frame where the recipient's registered spelling is known. Messages from one
  // sender to one recipient arrive in the order they were sent. Answers at once with what
  // it knows; a failure found later (a cluster's recipient left meanwhile) comes through
  // LocalDelivery::directFailed. No allocation per message on a local path.
  virtual DirectOutcome sendDirect(const DirectMessage& message) = 0;
  // Queues one frame for every registered user except `except` (on this loop), at once for
  // this loop's users. kShed: the users of at least one other loop will not get it.
  virtual SendResult broadcast(std::string_view frame, net::ConnectionId except) = 0;

  // Applies `action` to the session registered as `name`, wherever it is connected (rare:
  // moderation). Inline or later: found, and the registered spelling.
  virtual std::optional<ActOutcome> actOnName(std::string_view name, SessionAction action,
                                              ActDone done) = 0;
  // Applies `action` to every session connected from `address`, on every loop and node.
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
  // A direct message from `sender` (a connection of this loop) to `to` failed after
  // sendDirect had answered kSent: the sender is told as if sendDirect had answered `why`.
  // Nothing happens if the sender has gone. (LocalHub never calls it.)
  virtual void directFailed(net::ConnectionId sender, std::string_view to, DirectStatus why) = 0;
};

// Builds the Hub of one loop. The one place that chooses the engine (ChatServer's): a
// LocalHub per loop in one process, a cluster's hub with --redis.
using HubFactory = std::function<std::unique_ptr<Hub>(net::EventLoop& loop, std::uint32_t loopIndex,
                                                      LocalDelivery& delivery)>;

}  // namespace classchat::server
