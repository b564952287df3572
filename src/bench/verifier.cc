#include "bench/verifier.h"

namespace classchat::bench {
namespace {

int indexOf(PayloadKind kind) {
  switch (kind) {
    case PayloadKind::kDirect:
      return 0;
    case PayloadKind::kHeartbeat:
      return 1;
    case PayloadKind::kShout:
      return 2;
  }
  return 0;
}

}  // namespace

void Tally::add(const Tally& other) {
  expected += other.expected;
  delivered += other.delivered;
  lost += other.lost;
  duplicated += other.duplicated;
  reordered += other.reordered;
  corrupted += other.corrupted;
  misdelivered += other.misdelivered;
  unexpected += other.unexpected;
}

bool StreamTracker::test(std::uint64_t seq) const {
  if (seq < base_) return true;
  const std::uint64_t offset = seq - base_;
  const std::uint64_t word = offset / 64;
  return word < words_.size() && (words_[word] >> (offset % 64) & 1) != 0;
}

StreamTracker::Verdict StreamTracker::onReceive(std::uint64_t seq) {
  if (test(seq)) return Verdict::kDuplicate;
  const std::uint64_t offset = seq - base_;
  const std::uint64_t word = offset / 64;
  if (word >= words_.size()) words_.resize(word + 1, 0);
  words_[word] |= std::uint64_t{1} << (offset % 64);
  while (!words_.empty() && words_.front() == ~std::uint64_t{0}) {
    words_.pop_front();
    base_ += 64;
  }
  ++distinct_;
  const bool inOrder = seq + 1 >= next_;
  if (inOrder) next_ = seq + 1;
  return inOrder ? Verdict::kInOrder : Verdict::kReordered;
}

std::uint64_t StreamTracker::distinctAtOrAbove(std::uint64_t sent) const {
  std::uint64_t count = 0;
  for (std::uint64_t seq = std::max(sent, base_); seq < next_; ++seq) count += test(seq) ? 1 : 0;
  return count;
}

Tally& Verifier::tally(PayloadKind kind) {
  return tallies_[indexOf(kind)];
}

const Tally& Verifier::running(PayloadKind kind) const {
  return tallies_[indexOf(kind)];
}

std::unordered_map<std::uint64_t, StreamTracker>& Verifier::streams(PayloadKind kind) {
  return streams_[indexOf(kind)];
}

void Verifier::onSent(PayloadKind kind, std::uint32_t sender, std::uint32_t recipient) {
  ++sent_[indexOf(kind) == 0 ? 0 : 1][key(sender, recipient)];
  ++totalSentDeliveries_;
}

void Verifier::onShoutSent(std::uint32_t sender) {
  ++shoutsSent_[sender];
  totalSentDeliveries_ += listenersPerShout_;
}

std::uint64_t Verifier::sentBy(PayloadKind kind, std::uint32_t sender,
                               std::uint32_t recipient) const {
  if (kind == PayloadKind::kShout) {
    const auto it = shoutsSent_.find(sender);
    return it == shoutsSent_.end() ? 0 : it->second;
  }
  const auto& sent = sent_[indexOf(kind) == 0 ? 0 : 1];
  const auto it = sent.find(key(sender, recipient));
  return it == sent.end() ? 0 : it->second;
}

bool Verifier::onReceived(const Payload& payload, std::uint32_t receiver, bool fromMatches) {
  Tally& counts = tally(payload.kind);
  const bool toMatches = payload.kind == PayloadKind::kShout ? payload.recipient == kAllRecipients
                                                             : payload.recipient == receiver;
  if (!toMatches || !fromMatches) {
    counts.misdelivered++;
    return false;
  }
  switch (streams(payload.kind)[key(payload.sender, receiver)].onReceive(payload.seq)) {
    case StreamTracker::Verdict::kDuplicate:
      counts.duplicated++;
      return false;
    case StreamTracker::Verdict::kReordered:
      counts.reordered++;
      ++totalFirstDeliveries_;
      return false;
    case StreamTracker::Verdict::kInOrder:
      ++totalFirstDeliveries_;
      return true;
  }
  return true;
}

Tally Verifier::finish(PayloadKind kind, std::span<const std::uint32_t> listeners) {
  Tally result = tally(kind);
  auto& received = streams(kind);
  auto settle = [&](std::uint64_t streamKey, std::uint64_t sent) {
    result.expected += sent;
    const auto it = received.find(streamKey);
    if (it == received.end()) {
      result.lost += sent;
      return;
    }
    const std::uint64_t beyond = it->second.distinctAtOrAbove(sent);
    const std::uint64_t inRange = it->second.distinct() - beyond;
    result.unexpected += beyond;
    result.delivered += inRange;
    result.lost += sent - inRange;
    received.erase(it);
  };
  if (kind == PayloadKind::kShout) {
    for (const auto& [sender, sent] : shoutsSent_) {
      for (const std::uint32_t listener : listeners) {
        if (listener != sender) settle(key(sender, listener), sent);
      }
    }
  } else {
    for (const auto& [streamKey, sent] : sent_[indexOf(kind) == 0 ? 0 : 1]) settle(streamKey, sent);
  }
  // Streams nobody sent on (or a shout reaching its own sender) are all unexpected.
  for (const auto& [streamKey, tracker] : received) result.unexpected += tracker.distinct();
  received.clear();
  return result;
}

std::uint64_t Verifier::outstanding() const {
  return totalSentDeliveries_ > totalFirstDeliveries_ ? totalSentDeliveries_ - totalFirstDeliveries_
                                                      : 0;
}

}  // namespace classchat::bench
