// One generator thread's share of a throughput run.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "bench/driver.h"
#include "bench/engine.h"
#include "bench/histogram.h"
#include "bench/payload.h"
#include "bench/schedule.h"
#include "bench/throughput.h"
#include "bench/verifier.h"

namespace classchat::bench {

enum class TrafficKind : std::uint8_t { kDirect, kShout };

// Shared by the lanes of one step. Atomics: every lane's thread updates them.
struct StepShared {
  std::atomic<std::uint64_t> owed{0};       // deliveries owed by messages sent this step
  std::atomic<std::uint64_t> delivered{0};  // first deliveries seen during this step
  std::atomic<std::uint32_t> lanesDoneSending{0};
};

// What one lane measured during one step.
struct LaneStep {
  std::uint64_t sent = 0;
  std::uint64_t skipped = 0;  // not sent: the connection's backlog was over the limit
  std::uint64_t delivered = 0;
  std::uint64_t errors = 0;
  std::uint64_t disconnects = 0;
  TimeNs lastDelivery = 0;
  Histogram latency;
  Histogram lag;  // how late this lane sent (its own delay, included in latency)
};

// A lane owns an engine, its clients and their verification; runStep() runs on any one
// thread at a time. Client ids in payloads are global: lane << 20 | engine client id,
// and names are derived from them, so lanes can check each other's messages.
//
// Direct: the lane's clients pair up (2i <-> 2i+1). Shout: the first `shouters` clients
// of lane 0 shout; every client of every lane listens.
class ThroughputLane final : public EngineHandler {
 public:
  ThroughputLane(const ThroughputOptions& options, const EngineOptions& engineOptions,
                 TrafficKind kind, std::uint32_t index);

  // Starts `clients` connections (`shouters` of them senders of shouts) and waits until
  // they registered or failed, or `deadline`. Client i of the lane is the run's client
  // firstOrdinal + i, and connects to the engine's server targetOf(that ordinal): pairs
  // (2i, 2i+1) straddle two targets whenever there are several. Returns the number
  // registered.
  std::size_t connect(std::uint32_t clients, std::uint32_t shouters, std::uint64_t firstOrdinal,
                      TimeNs deadline);
  std::size_t senderCount() const { return senders_.size(); }
  std::uint64_t registrationFailures() const { return registrationFailures_; }
  std::vector<std::uint32_t> listenerIds() const;
  void setReceiversPerShout(std::uint64_t receivers) { receiversPerShout_ = receivers; }

  // Sends `ratePerSender` messages/s from each of this lane's senders from `start` to
  // `end` (open loop), then reads until every lane is done sending and every delivery
  // owed this step has arrived, or `drainDeadline`. With `window` > 0 (direct only) it
  // runs closed loop instead: each sender keeps `window` messages in flight and sends the
  // next one when one arrives, and latency is measured from the actual send.
  void runStep(double ratePerSender, std::uint32_t window, TimeNs start, TimeNs end,
               TimeNs drainDeadline, StepShared& shared, LaneStep& out);

  Verifier& verifier() { return verifier_; }
  const EngineCounters& counters() const { return engine_.counters(); }
  const std::vector<std::string>& errorSamples() const { return errorSamples_; }
  void closeAll();

  void onReady(ClientId, TimeNs) override {}
  void onIncoming(ClientId client, const Incoming& incoming, TimeNs now) override;
  void onClosed(ClientId client, bool wasReady, std::string_view reason) override;
  void onTimer(ClientId client, std::uint32_t tag, TimeNs now) override;

  static std::uint32_t globalId(std::uint32_t lane, ClientId client) { return lane << 20 | client; }
  static std::string nameOf(const ThroughputOptions& options, TrafficKind kind, std::uint32_t id);

 private:
  // The protocol's driver over --transport (common.h).
  static std::unique_ptr<Driver> makeLaneDriver(const ThroughputOptions& options, TrafficKind kind,
                                                std::uint32_t index);
  struct Sender {
    ClientId client = 0;
    ClientId peer = 0;  // direct: the partner
    Schedule schedule;
  };
  void send(Sender& sender, TimeNs scheduled);
  // nameOf(id), formatted once per sender: the check runs for every delivery.
  const std::string& senderName(std::uint32_t id);
  void noteError(std::string text) {
    if (errorSamples_.size() < 10) errorSamples_.push_back(std::move(text));
  }

  const ThroughputOptions& options_;
  TrafficKind kind_;
  std::uint32_t index_;
  std::unique_ptr<Driver> driver_;
  Engine engine_;
  Verifier verifier_;
  std::mt19937_64 random_;
  std::size_t servers_;                  // targets the clients are spread over
  std::vector<Sender> senders_;          // indexed by the timer tag
  std::vector<std::uint32_t> senderOf_;  // by client id: index in senders_ (direct)
  std::uint32_t window_ = 0;             // closed loop when > 0
  std::vector<ClientId> clients_;
  std::uint64_t receiversPerShout_ = 1;
  std::uint64_t registrationFailures_ = 0;
  std::vector<std::string> errorSamples_;
  std::unordered_map<std::uint32_t, std::string> senderNames_;  // by global id
  PayloadReader payloadReader_;
  // The step being run.
  StepShared* shared_ = nullptr;
  LaneStep* step_ = nullptr;
  TimeNs stepEnd_ = 0;
};

}  // namespace classchat::bench
