// The chat state of one connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hub/hub.h"
#include "net/tcp_connection.h"
#include "net/timer_queue.h"
#include "protocol/frame_decoder.h"
#include "server/metrics.h"
#include "server/token_bucket.h"
#include "transport/websocket_session.h"

namespace classchat::server {

// Owned by its TcpConnection (as its context); used only on that connection's loop.
struct Session final : net::ConnectionContext {
  using Clock = std::chrono::steady_clock;

  enum class Phase : std::uint8_t {
    kAwaitingName,  // nothing read yet, or a JSON-first client's first object is incomplete
    // The claim's answer is pending (the hub answers later), or the name was taken and
    // closes in flight are being checked before one more try. Reads are only kept, then
    // replayed (replayHandshake).
    kClaiming,
    kAwaitingLogin,  // holds a protected name; only /login is accepted (--accounts)
    kRegistered,
    kRefused,  // an error was sent; the connection is closing
  };

  explicit Session(std::size_t maxMessageBytes) : decoder(maxMessageBytes) {}

  protocol::FrameDecoder decoder;
  std::string name;  // the registered spelling; empty until registered
  TokenBucket messageBudget;
  TokenBucket shoutBudget;
  Clock::time_point lastActivity{};  // last read from the client, for --idle-timeout
  // Flood accounting: messages dropped by the rate limits in the current 10 s window.
  Clock::time_point floodWindowStart{};
  Clock::time_point lastRateLimitReply{};
  std::uint32_t droppedInWindow = 0;
  net::TimerId handshakeTimer = 0;  // also the --login-timeout while kAwaitingLogin
  // Set by /mute (here or, at registration, from an earlier mute of the name).
  std::chrono::system_clock::time_point mutedUntil{};
  bool admin = false;         // logged in to an account with role admin
  bool loggedIn = false;      // logged in to a protected name (stays so across reloads)
  bool loginPending = false;  // a /login is being checked
  Phase phase = Phase::kAwaitingName;
  // The loop's count of registrations when this one registered (ChatLoop::markRegistered):
  // a shout held back before it (ShoutCoalescer) is not this session's to receive.
  std::uint64_t registeredOrder = 0;
  // Set when the server decides to close the connection; kClient otherwise.
  DisconnectReason disconnectReason = DisconnectReason::kClient;
  bool jsonFirst = false;     // registering through the first JSON object's from.name
  bool claimRetried = false;  // a taken name was already tried a second time
  bool counted = false;       // admitted by the ConnectionLimiter; release on close
  // The reads received before registration, kept so that the handshake can be replayed
  // when a taken name is tried again; released once registered.
  std::vector<std::string> handshakeReads;
  std::size_t handshakeBytes = 0;
  // A claim answered later, kept while the handshake is replayed: registerName takes it
  // instead of claiming again.
  std::unique_ptr<ClaimOutcome> decidedClaim;
  // Command replies still owed by the hub (LaterReply): while any is, the session's next
  // messages are held in heldObjects, so that its replies and its messages' effects keep
  // the order it sent them in, as with a hub that answers at once.
  std::uint32_t awaitingHub = 0;
  std::vector<std::string> heldObjects;
  std::size_t heldBytes = 0;
  // A bare name whose reads so far have no terminator: those bytes, kept while
  // --name-wait-ms gives the rest of the name time to arrive (nameWaitTimer).
  std::string namePieces;
  net::TimerId nameWaitTimer = 0;
  bool nameWaitOver = false;  // the name was decided: never wait for it again
  // Set for a WebSocket session (null on TCP): decodes its frames and frames what is sent.
  // Destroyed with the session, after the connection's last send.
  std::unique_ptr<transport::WebSocketSession> webSocket;
};

}  // namespace classchat::server
