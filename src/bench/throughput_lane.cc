#include "bench/throughput_lane.h"

#include <algorithm>

#include <fmt/format.h>

#include "bench/common.h"
#include "bench/driver_factory.h"
#include "bench/targets.h"

namespace classchat::bench {

ThroughputLane::ThroughputLane(const ThroughputOptions& options, const EngineOptions& engineOptions,
                               TrafficKind kind, std::uint32_t index)
    : options_(options),
      kind_(kind),
      index_(index),
      driver_(makeLaneDriver(options, kind, index)),
      engine_(engineOptions, *driver_, *this),
      random_(options.common.seed * 1000003 + index),
      servers_(engineOptions.servers.size()) {}

std::unique_ptr<Driver> ThroughputLane::makeLaneDriver(const ThroughputOptions& options,
                                                       TrafficKind kind, std::uint32_t index) {
  DriverOptions driverOptions;
  driverOptions.receiveShouts = kind == TrafficKind::kShout;
  return makeDriver(*parseProtocol(options.common.protocol), driverOptions,
                    transportOf(options.common, options.common.seed * 1000003 + index));
}

std::string ThroughputLane::nameOf(const ThroughputOptions& options, TrafficKind kind,
                                   std::uint32_t id) {
  return fmt::format("{}{}{}x{}_{}", options.prefix, kind == TrafficKind::kDirect ? "d" : "s",
                     id >> 20, id & 0xFFFFF, options.common.seed);
}

const std::string& ThroughputLane::senderName(std::uint32_t id) {
  auto it = senderNames_.find(id);
  if (it == senderNames_.end()) it = senderNames_.emplace(id, nameOf(options_, kind_, id)).first;
  return it->second;
}

std::size_t ThroughputLane::connect(std::uint32_t clients, std::uint32_t shouters,
                                    std::uint64_t firstOrdinal, TimeNs deadline) {
  for (std::uint32_t i = 0; i < clients; ++i) {
    const auto id = static_cast<ClientId>(engine_.clientCount());
    clients_.push_back(engine_.addClient(nameOf(options_, kind_, globalId(index_, id)),
                                         targetOf(firstOrdinal + i, servers_)));
  }
  engine_.run(deadline, [&] { return engine_.readyCount() + registrationFailures_ >= clients; });
  if (kind_ == TrafficKind::kDirect) {
    senderOf_.resize(engine_.clientCount(), 0);
    for (std::uint32_t i = 0; i + 1 < clients; i += 2) {
      senderOf_[clients_[i]] = static_cast<std::uint32_t>(senders_.size());
      senders_.push_back(Sender{clients_[i], clients_[i + 1], Schedule()});
      senderOf_[clients_[i + 1]] = static_cast<std::uint32_t>(senders_.size());
      senders_.push_back(Sender{clients_[i + 1], clients_[i], Schedule()});
    }
  } else {
    for (std::uint32_t i = 0; i < shouters && i < clients; ++i) {
      senders_.push_back(Sender{clients_[i], 0, Schedule()});
    }
  }
  return engine_.readyCount();
}

std::vector<std::uint32_t> ThroughputLane::listenerIds() const {
  std::vector<std::uint32_t> ids;
  for (const ClientId client : clients_) ids.push_back(globalId(index_, client));
  return ids;
}

void ThroughputLane::closeAll() {
  for (const ClientId client : clients_) engine_.close(client);
}

void ThroughputLane::onClosed(ClientId client, bool wasReady, std::string_view reason) {
  if (wasReady) {
    if (step_ != nullptr) step_->disconnects++;
  } else {
    ++registrationFailures_;
  }
  noteError(fmt::format("{} {}: {}", engine_.name(client),
                        wasReady ? "disconnected" : "could not register", reason));
}

void ThroughputLane::onTimer(ClientId client, std::uint32_t tag, TimeNs now) {
  Sender& sender = senders_[tag];
  if (sender.client != client || step_ == nullptr) return;
  while (sender.schedule.peek() <= now && sender.schedule.peek() < stepEnd_) {
    const TimeNs scheduled = sender.schedule.take();
    step_->lag.record(now - scheduled);
    if (engine_.pendingOutput(client) > options_.maxBacklogBytes) {
      step_->skipped++;
    } else {
      send(sender, scheduled);
    }
  }
  if (sender.schedule.peek() < stepEnd_) engine_.schedule(sender.schedule.peek(), client, tag);
}

void ThroughputLane::send(Sender& sender, TimeNs scheduled) {
  std::string& out = engine_.output(sender.client);
  const std::uint32_t self = globalId(index_, sender.client);
  Payload payload;
  payload.sender = self;
  payload.scheduled = scheduled;
  std::string text;
  if (kind_ == TrafficKind::kDirect) {
    const std::uint32_t peer = globalId(index_, sender.peer);
    payload.kind = PayloadKind::kDirect;
    payload.recipient = peer;
    payload.seq = verifier_.sentBy(PayloadKind::kDirect, self, peer);
    appendPayload(text, payload, options_.payloadBytes);
    driver_->appendDirect(out, engine_.name(sender.client), engine_.name(sender.peer), text);
    verifier_.onSent(PayloadKind::kDirect, self, peer);
    shared_->owed.fetch_add(1, std::memory_order_relaxed);
  } else {
    payload.kind = PayloadKind::kShout;
    payload.recipient = kAllRecipients;
    payload.seq = verifier_.sentBy(PayloadKind::kShout, self, 0);
    appendPayload(text, payload, options_.payloadBytes);
    driver_->appendShout(out, engine_.name(sender.client), text);
    verifier_.onShoutSent(self);
    shared_->owed.fetch_add(receiversPerShout_, std::memory_order_relaxed);
  }
  step_->sent++;
}

void ThroughputLane::onIncoming(ClientId client, const Incoming& incoming, TimeNs now) {
  switch (incoming.kind) {
    case Incoming::Kind::kWelcome:
    case Incoming::Kind::kReply:
      return;  // shout acknowledgements
    case Incoming::Kind::kError:
    case Incoming::Kind::kMalformed:
      if (step_ != nullptr) step_->errors++;
      noteError(fmt::format("{} got: {}", engine_.name(client), incoming.text.substr(0, 100)));
      return;
    case Incoming::Kind::kDirect:
    case Incoming::Kind::kShout:
      break;
  }
  const PayloadKind expected =
      incoming.kind == Incoming::Kind::kShout ? PayloadKind::kShout : PayloadKind::kDirect;
  Payload payload;
  if (!payloadReader_.decode(incoming.text, payload) || payload.kind != expected) {
    verifier_.onCorrupt(expected);
    return;
  }
  const bool fromMatches = incoming.from == senderName(payload.sender);
  if (verifier_.onReceived(payload, globalId(index_, client), fromMatches) && step_ != nullptr) {
    step_->delivered++;
    step_->latency.record(now - payload.scheduled);
    step_->lastDelivery = now;
    shared_->delivered.fetch_add(1, std::memory_order_relaxed);
    // Closed loop: the partner that sent this one sends its next message now.
    const ClientId origin = payload.sender & 0xFFFFF;
    if (window_ > 0 && now < stepEnd_ && origin < senderOf_.size()) {
      send(senders_[senderOf_[origin]], now);
    }
  }
}

void ThroughputLane::runStep(double ratePerSender, std::uint32_t window, TimeNs start, TimeNs end,
                             TimeNs drainDeadline, StepShared& shared, LaneStep& out) {
  shared_ = &shared;
  step_ = &out;
  stepEnd_ = end;
  window_ = kind_ == TrafficKind::kDirect ? window : 0;
  out.lastDelivery = start;
  if (window_ > 0) {
    engine_.run(start);
    const TimeNs now = nowNs();
    for (Sender& sender : senders_) {
      for (std::uint32_t i = 0; i < window_; ++i) send(sender, now);
    }
  } else if (ratePerSender > 0) {
    const auto interval = std::max<TimeNs>(1, static_cast<TimeNs>(1e9 / ratePerSender));
    for (std::uint32_t tag = 0; tag < senders_.size(); ++tag) {
      const TimeNs phase = std::uniform_int_distribution<TimeNs>(0, interval - 1)(random_);
      senders_[tag].schedule = Schedule::fixedRate(start, interval, phase);
      engine_.schedule(senders_[tag].schedule.peek(), senders_[tag].client, tag);
    }
  }
  engine_.run(end);
  shared.lanesDoneSending.fetch_add(1);
  engine_.run(drainDeadline, [&] {
    // Every lane has stopped sending, so `owed` is final; wait for its deliveries.
    return shared.lanesDoneSending.load() == static_cast<std::uint32_t>(options_.threads) &&
           shared.delivered.load(std::memory_order_relaxed) >=
               shared.owed.load(std::memory_order_relaxed);
  });
  step_ = nullptr;
  shared_ = nullptr;
  window_ = 0;
}

}  // namespace classchat::bench
