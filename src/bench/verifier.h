// Exactly-once, intact, in-order delivery checks for the messages the bench sends.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <unordered_map>

#include "bench/payload.h"

namespace classchat::bench {

// What happened to one kind of traffic. `expected` counts deliveries that should have
// happened (a shout to 49 listeners expects 49).
struct Tally {
  std::uint64_t expected = 0;
  std::uint64_t delivered = 0;     // distinct, intact, to the right recipient
  std::uint64_t lost = 0;          // expected but never delivered
  std::uint64_t duplicated = 0;    // delivered more than once
  std::uint64_t reordered = 0;     // arrived after a later message of the same stream
  std::uint64_t corrupted = 0;     // text that is not an intact payload
  std::uint64_t misdelivered = 0;  // intact, but to the wrong user or from the wrong name
  std::uint64_t unexpected = 0;    // a sequence number that was never sent

  void add(const Tally& other);
  bool clean() const {
    return lost == 0 && duplicated == 0 && reordered == 0 && corrupted == 0 && misdelivered == 0 &&
           unexpected == 0;
  }
};

// Which sequence numbers of one stream (one sender, one recipient, one kind) arrived.
// A bitset whose fully-received prefix is dropped, so memory follows the gaps, not the
// length of the run. Not thread-safe.
class StreamTracker {
 public:
  enum class Verdict { kInOrder, kReordered, kDuplicate };
  Verdict onReceive(std::uint64_t seq);
  std::uint64_t distinct() const { return distinct_; }
  // Distinct sequence numbers received that are >= `sent` (never sent).
  std::uint64_t distinctAtOrAbove(std::uint64_t sent) const;

 private:
  bool test(std::uint64_t seq) const;
  std::deque<std::uint64_t> words_;  // bit i of word w: seq base_ + 64 * w + i
  std::uint64_t base_ = 0;           // every seq below base_ has arrived
  std::uint64_t next_ = 0;           // one past the highest seq seen
  std::uint64_t distinct_ = 0;
};

// Records what was sent and what arrived, and settles the accounts at the end.
// Stream keys are (sender id, receiver id) per kind. Not thread-safe: one per engine.
class Verifier {
 public:
  // A direct message or heartbeat `sender` -> `recipient` was written to the socket.
  void onSent(PayloadKind kind, std::uint32_t sender, std::uint32_t recipient);
  // A shout by `sender` was written; every listener should receive it.
  void onShoutSent(std::uint32_t sender);
  std::uint64_t sentBy(PayloadKind kind, std::uint32_t sender, std::uint32_t recipient) const;
  // Shouts sent per sender, to hand to the verifiers of listeners on other threads
  // (setShoutsSent) before they finish().
  const std::unordered_map<std::uint32_t, std::uint64_t>& shoutsSent() const { return shoutsSent_; }
  void setShoutsSent(std::uint32_t sender, std::uint64_t count) { shoutsSent_[sender] = count; }

  // An intact payload arrived at `receiver`. `fromMatches` says whether the frame's
  // sender name was the one belonging to payload.sender. Returns false if the message
  // was not a first, correct delivery (it is then counted as such in the tally).
  bool onReceived(const Payload& payload, std::uint32_t receiver, bool fromMatches);
  // A message text arrived that is not an intact payload.
  void onCorrupt(PayloadKind kind) { tally(kind).corrupted++; }

  // Settles the accounts: lost and unexpected per stream. For shouts, every listener in
  // `listeners` other than the sender should have received every shout. Call once.
  Tally finish(PayloadKind kind, std::span<const std::uint32_t> listeners = {});

  // Deliveries still outstanding (sent but not yet received), for drain loops. A shout
  // owes one delivery per listener, as set with setShoutListeners() before it is sent.
  std::uint64_t outstanding() const;
  void setShoutListeners(std::uint64_t listenersPerShout) {
    listenersPerShout_ = listenersPerShout;
  }
  // Counts so far (before finish(): no lost or unexpected yet), e.g. for progress reports.
  const Tally& running(PayloadKind kind) const;

 private:
  static std::uint64_t key(std::uint32_t sender, std::uint32_t receiver) {
    return (std::uint64_t{sender} << 32) | receiver;
  }
  Tally& tally(PayloadKind kind);
  std::unordered_map<std::uint64_t, StreamTracker>& streams(PayloadKind kind);

  std::unordered_map<std::uint64_t, std::uint64_t> sent_[2];  // direct, heartbeat
  std::unordered_map<std::uint32_t, std::uint64_t> shoutsSent_;
  std::unordered_map<std::uint64_t, StreamTracker> streams_[3];
  Tally tallies_[3];
  std::uint64_t totalSentDeliveries_ = 0;   // direct + heartbeat + shouts * listeners
  std::uint64_t totalFirstDeliveries_ = 0;  // distinct arrivals of every kind
  std::uint64_t listenersPerShout_ = 0;
};

}  // namespace classchat::bench
