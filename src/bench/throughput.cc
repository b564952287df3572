#include "bench/throughput.h"

#include <cmath>
#include <memory>
#include <random>
#include <thread>

#include <CLI/CLI.hpp>

#include "bench/engine.h"
#include "bench/occupancy_check.h"
#include "bench/proc_stats.h"
#include "bench/report.h"
#include "bench/schedule.h"
#include "bench/throughput_lane.h"
#include "bench/throughput_result.h"
#include "bench/verifier.h"

namespace classchat::bench {
namespace {

// " (each 40% 38%)" with several --server-pid; empty with one.
std::string eachCpu(const std::vector<double>& shares) {
  if (shares.size() < 2) return {};
  std::string text = " (each";
  for (const double share : shares) text += fmt::format(" {:.0f}%", 100 * share);
  return text + ")";
}

class ThroughputRun {
 public:
  ThroughputRun(const ThroughputOptions& options, const EngineOptions& engineOptions)
      : options_(options), engineOptions_(engineOptions) {}

  int run();

 private:
  KindResult measure(Kind kind);
  StepResult runStep(Kind kind, double rate, std::string phase, std::uint32_t window = 0);

  const ThroughputOptions& options_;
  const EngineOptions& engineOptions_;
  std::vector<std::unique_ptr<ThroughputLane>> lanes_;  // the kind being measured
  std::uint64_t receivers_ = 1;                         // per message of that kind
  std::vector<std::string> errorSamples_;
  EngineCounters counters_;  // summed over the lanes of every kind
};

StepResult ThroughputRun::runStep(Kind kind, double rate, std::string phase, std::uint32_t window) {
  StepResult step;
  step.phase = std::move(phase);
  step.offered = rate;
  step.offeredDeliveries = rate * static_cast<double>(receivers_);
  std::size_t senders = 0;
  for (const auto& lane : lanes_) senders += lane->senderCount();
  const double perSender = senders > 0 ? rate / static_cast<double>(senders) : 0;

  const CpuTime cpuBefore = processCpuTime();
  const ProcSamples serverBefore = sampleProcesses(options_.serverPids);
  const TimeNs start = nowNs() + 20 * kMillisecond;
  const TimeNs end = start + secondsToNs(options_.stepSeconds);
  const TimeNs drainDeadline = end + secondsToNs(options_.drainSeconds);
  StepShared shared;
  std::vector<LaneStep> laneSteps(lanes_.size());
  if (lanes_.size() == 1) {
    lanes_[0]->runStep(perSender, window, start, end, drainDeadline, shared, laneSteps[0]);
  } else {
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < lanes_.size(); ++i) {
      threads.emplace_back([&, i] {
        lanes_[i]->runStep(perSender, window, start, end, drainDeadline, shared, laneSteps[i]);
      });
    }
    for (std::thread& thread : threads) thread.join();
  }

  TimeNs lastDelivery = start;
  std::uint64_t disconnects = 0;
  for (const LaneStep& lane : laneSteps) {
    step.sent += lane.sent;
    step.skipped += lane.skipped;
    step.delivered += lane.delivered;
    step.errors += lane.errors;
    disconnects += lane.disconnects;
    step.latency.merge(lane.latency);
    step.lag.merge(lane.lag);
    lastDelivery = std::max(lastDelivery, lane.lastDelivery);
  }
  const std::uint64_t owed = shared.owed.load();
  step.outstanding = owed > shared.delivered.load() ? owed - shared.delivered.load() : 0;
  step.seconds = static_cast<double>(std::max(end, lastDelivery) - start) / 1e9;
  step.achieved = static_cast<double>(step.delivered) / step.seconds;
  const double wall = static_cast<double>(nowNs() - start) / 1e9;
  step.generatorCpu = (processCpuTime() - cpuBefore).total() / wall;
  if (!options_.serverPids.empty()) {
    const ProcSamples serverAfter = sampleProcesses(options_.serverPids);
    if (serverBefore.total.ok && serverAfter.total.ok) {
      step.serverCpuSeconds = serverAfter.total.cpuSeconds - serverBefore.total.cpuSeconds;
      step.serverCpu = step.serverCpuSeconds / wall;
      for (std::size_t i = 0; i < serverAfter.each.size(); ++i) {
        step.serverCpuEach.push_back(
            (serverAfter.each[i].cpuSeconds - serverBefore.each[i].cpuSeconds) / wall);
      }
    }
  }
  step.sustained = step.skipped == 0 && step.outstanding == 0 && step.errors == 0 &&
                   disconnects == 0 &&
                   step.achieved >= options_.minAchieved * step.offeredDeliveries &&
                   nsToMs(step.latency.percentile(99)) <= options_.maxP99Ms;
  progress(options_.common,
           "{} {} offered {}/s: achieved {} deliveries/s, p99 {}, generator CPU {:.0f}%{}: {}",
           kindName(kind), step.phase, formatCount(rate), formatCount(step.achieved),
           formatLatency(step.latency.percentile(99)), 100 * step.generatorCpu,
           step.serverCpu >= 0 ? fmt::format(", server CPU {:.0f}%{}", 100 * step.serverCpu,
                                             eachCpu(step.serverCpuEach))
                               : "",
           step.sustained ? "sustained" : "NOT sustained");
  return step;
}

KindResult ThroughputRun::measure(Kind kind) {
  KindResult result;
  result.kind = kind;
  result.ran = true;
  const TrafficKind traffic = kind == Kind::kDirect ? TrafficKind::kDirect : TrafficKind::kShout;
  const std::uint32_t lanes = std::max(1u, options_.threads);
  const std::uint32_t clients =
      kind == Kind::kDirect ? 2 * options_.pairs : options_.listeners + options_.shouters;
  result.clients = clients;
  progress(options_.common, "{}: connecting {} clients on {} generator thread(s)", kindName(kind),
           clients, lanes);
  lanes_.clear();
  std::size_t ready = 0;
  std::uint64_t ordinal = 0;  // the run's clients in order, spread over the targets
  const TimeNs deadline = nowNs() + 30 * kSecond;
  for (std::uint32_t i = 0; i < lanes; ++i) {
    // Direct: whole pairs per lane. Shout: the shouters all in lane 0.
    std::uint32_t share = 0;
    if (kind == Kind::kDirect) {
      share = 2 * (options_.pairs / lanes + (i < options_.pairs % lanes ? 1 : 0));
    } else {
      share = options_.listeners / lanes + (i < options_.listeners % lanes ? 1 : 0) +
              (i == 0 ? options_.shouters : 0);
    }
    lanes_.push_back(std::make_unique<ThroughputLane>(options_, engineOptions_, traffic, i));
    ready += lanes_.back()->connect(share, i == 0 ? options_.shouters : 0, ordinal, deadline);
    ordinal += share;
    result.registrationFailures += lanes_.back()->registrationFailures();
  }
  receivers_ = kind == Kind::kDirect ? 1 : clients - 1;
  result.receiversPerMessage = static_cast<std::uint32_t>(receivers_);
  for (auto& lane : lanes_) lane->setReceiversPerShout(receivers_);

  if (ready < clients) {
    progress(options_.common, "{}: only {} of {} clients registered", kindName(kind), ready,
             clients);
  } else if (options_.window > 0 && kind == Kind::kDirect) {
    result.steps.push_back(runStep(
        kind, 0, fmt::format("closed loop, {} in flight", options_.window), options_.window));
  } else if (!options_.rates.empty()) {
    for (const double rate : options_.rates) result.steps.push_back(runStep(kind, rate, "fixed"));
  } else {
    // Double the offer until a step is not sustained, then bisect (geometrically).
    double good = 0, bad = 0;
    double rate = kind == Kind::kDirect ? options_.directStartRate : options_.shoutStartRate;
    for (int i = 0; i < options_.searchSteps && rate > 0; ++i) {
      result.steps.push_back(runStep(kind, rate, "search"));
      // On a shared machine one step can stall for reasons that have nothing to do with
      // the rate; a failed rate is tried again before the search turns back.
      for (int retry = 0; retry < options_.retries && !result.steps.back().sustained; ++retry) {
        result.steps.push_back(runStep(kind, rate, "search retry"));
      }
      if (result.steps.back().sustained) {
        good = std::max(good, rate);
      } else {
        bad = bad == 0 ? rate : std::min(bad, rate);
      }
      if (bad == 0) {
        if (rate >= options_.maxRate) break;
        rate = std::min(rate * 2, options_.maxRate);
      } else if (good == 0) {
        rate = rate / 4;
      } else {
        if (bad / good < 1.1) break;
        rate = std::sqrt(good * bad);
      }
    }
    result.maxSustained = good;
    if (good > 0) {
      for (const double fraction : options_.fractions) {
        result.steps.push_back(runStep(kind, fraction * good, fmt::format("{:g} x max", fraction)));
      }
    }
  }

  // Settle the accounts. Shouts are all sent from lane 0; the other lanes' listeners
  // need its counts.
  std::vector<std::uint32_t> listeners;
  for (const auto& lane : lanes_) {
    for (const std::uint32_t id : lane->listenerIds()) listeners.push_back(id);
  }
  const auto shoutsSent = lanes_.front()->verifier().shoutsSent();
  for (auto& lane : lanes_) {
    Verifier& verifier = lane->verifier();
    if (kind == Kind::kDirect) {
      result.tally.add(verifier.finish(PayloadKind::kDirect));
    } else {
      for (const auto& [sender, count] : shoutsSent) verifier.setShoutsSent(sender, count);
      const std::vector<std::uint32_t> own = lane->listenerIds();
      result.tally.add(verifier.finish(PayloadKind::kShout, own));
    }
    for (const std::string& sample : lane->errorSamples()) {
      if (errorSamples_.size() < 10) errorSamples_.push_back(sample);
    }
    const EngineCounters& c = lane->counters();
    counters_.bytesIn += c.bytesIn;
    counters_.bytesOut += c.bytesOut;
    counters_.writeSyscalls += c.writeSyscalls;
    counters_.readSyscalls += c.readSyscalls;
    counters_.disconnects += c.disconnects;
    result.disconnects += c.disconnects;
    lane->closeAll();
  }
  lanes_.clear();
  return result;
}

int ThroughputRun::run() {
  const CpuTime cpuStart = processCpuTime();
  const TimeNs start = nowNs();
  std::vector<KindResult> results;
  if (options_.kinds != "shout") results.push_back(measure(Kind::kDirect));
  if (options_.kinds != "direct") results.push_back(measure(Kind::kShout));
  return reportThroughput(options_, results, processCpuTime() - cpuStart,
                          static_cast<double>(nowNs() - start) / 1e9, counters_, errorSamples_);
}

}  // namespace

void addThroughputOptions(CLI::App& app, ThroughputOptions& options) {
  addCommonOptions(app, options.common, true);
  addProtocolOption(app, options.common);
  addTransportOption(app, options.common);
  app.add_option("--kind", options.kinds, "What to measure: direct, shout or both")
      ->capture_default_str()
      ->check(CLI::IsMember({"direct", "shout", "both"}));
  app.add_option("--pairs", options.pairs,
                 "Direct messages: pairs of clients, each client sending to its partner")
      ->capture_default_str()
      ->check(CLI::Range(1u, 9000u));
  app.add_option("--listeners", options.listeners, "Shouts: clients that only listen")
      ->capture_default_str()
      ->check(CLI::Range(1u, 18000u));
  app.add_option("--shouters", options.shouters, "Shouts: clients that shout (they listen too)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1000u));
  app.add_option("--step-duration", options.stepSeconds, "Seconds of load per measured step")
      ->capture_default_str()
      ->check(CLI::Range(0.2, 60.0));
  app.add_option("--drain", options.drainSeconds,
                 "After a step, seconds to wait at most for deliveries still in flight")
      ->capture_default_str();
  app.add_option("--start-rate", options.directStartRate,
                 "Direct messages/s offered by the first search step")
      ->capture_default_str();
  app.add_option("--shout-start-rate", options.shoutStartRate,
                 "Shouts/s offered by the first search step")
      ->capture_default_str();
  app.add_option("--max-rate", options.maxRate, "Upper bound of the search (messages or shouts/s)")
      ->capture_default_str();
  app.add_option("--search-steps", options.searchSteps, "Steps of the search for the maximum")
      ->capture_default_str()
      ->check(CLI::Range(1, 40));
  app.add_option("--max-p99", options.maxP99Ms,
                 "A rate is sustained only if its p99 latency stays at or below this (ms)")
      ->capture_default_str();
  app.add_option("--min-achieved", options.minAchieved,
                 "... and it delivers at least this share of the offered deliveries per second")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 1.0));
  app.add_option("--retries", options.retries,
                 "Times a search step that is not sustained is repeated before its rate counts "
                 "as too high")
      ->capture_default_str()
      ->check(CLI::Range(0, 5));
  app.add_option("--window", options.window,
                 "Direct messages closed loop instead of the search: each client keeps this many "
                 "messages in flight to its partner for one --step-duration, and the achieved "
                 "rate is reported (latency then counts from each actual send)")
      ->capture_default_str()
      ->check(CLI::Range(0u, 10000u));
  app.add_option("--fractions", options.fractions,
                 "After the search, measure latency at these fractions of the maximum")
      ->capture_default_str()
      ->delimiter(',');
  app.add_option("--rate", options.rates,
                 "Offered rates to measure instead of searching (messages/s for direct, shouts/s "
                 "for shout), e.g. --rate 1000,5000")
      ->delimiter(',');
  app.add_option("--payload-bytes", options.payloadBytes, "Size of each message text (>= 64)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{64}, std::size_t{60000}));
  app.add_option("--max-backlog", options.maxBacklogBytes,
                 "Bytes queued unsent on one connection before further sends are skipped "
                 "(and the step counted as not sustained)")
      ->capture_default_str();
  app.add_option("--threads", options.threads,
                 "Generator threads, each an epoll loop with its share of the clients (direct: "
                 "whole pairs per thread; shout: the shouters on the first thread)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 64u));
  app.add_option("--server-pid", options.serverPids,
                 "Report this process's CPU use per step; a comma-separated list (the nodes of "
                 "a cluster) reports each one's and their sum")
      ->delimiter(',');
  app.add_option("--prefix", options.prefix, "Client names start with this")->capture_default_str();
  addForceOption(app, options.common,
                 "with --kind shout or both (and --protocol classchat) its shouts reach");
}

int runThroughput(const ThroughputOptions& options) {
  EngineOptions engineOptions;
  if (options.common.transport == "ws") engineOptions.maxPendingLogins = kWebSocketPendingLogins;
  std::vector<Target> targets;
  if (const std::string error = resolveTargets(options.common, targets); !error.empty()) {
    fmt::print(stderr, "classchat-bench: {}\n", error);
    return 2;
  }
  engineOptions.servers = addressesOf(targets);
  if (const std::string error = configureTls(options.common, engineOptions); !error.empty()) {
    fmt::print(stderr, "classchat-bench: {}\n", error);
    return 2;
  }
  // Only shouts reach people: direct messages go between the run's own pairs. The other
  // protocols are for the peers bench-compare starts for itself.
  if (options.kinds != "direct" && options.common.protocol == "classchat") {
    if (const int status = refuseIfOthersOnline(
            options.common, targets, "throughput --kind " + options.kinds, options.prefix)) {
      return status;
    }
  }
  ThroughputRun run(options, engineOptions);
  return run.run();
}

}  // namespace classchat::bench
