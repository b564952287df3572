#include "bench/throughput.h"

#include <cmath>
#include <memory>
#include <random>
#include <thread>

#include <CLI/CLI.hpp>

#include "bench/classchat_driver.h"
#include "bench/engine.h"
#include "bench/proc_stats.h"
#include "bench/report.h"
#include "bench/schedule.h"
#include "bench/svg_plot.h"
#include "bench/throughput_lane.h"
#include "bench/verifier.h"

namespace classchat::bench {
namespace {

enum class Kind : std::uint8_t { kDirect, kShout };

const char* kindName(Kind kind) {
  return kind == Kind::kDirect ? "direct" : "shout";
}

// One measured step at one offered rate.
struct StepResult {
  std::string phase;             // "search", "fraction 0.5", "fixed"
  double offered = 0;            // messages (direct) or shouts per second
  double offeredDeliveries = 0;  // deliveries per second that offer implies
  double achieved = 0;           // deliveries per second measured
  std::uint64_t sent = 0;
  std::uint64_t skipped = 0;  // not sent: the connection's backlog was over the limit
  std::uint64_t delivered = 0;
  std::uint64_t outstanding =
      0;  // deliveries this step added that were still missing after the drain
  std::uint64_t errors = 0;
  double seconds = 0;
  double generatorCpu = 0;  // share of one core, 0..N
  double serverCpu = -1;    // share of one core; -1 without --server-pid
  Histogram latency;
  Histogram lag;  // how late the generator sent (its own delay, included in latency)
  bool sustained = false;
};

// Everything measured for one kind.
struct KindResult {
  Kind kind = Kind::kDirect;
  std::uint32_t clients = 0;
  std::uint32_t receiversPerMessage = 1;
  double maxSustained = 0;  // offered messages (or shouts) per second
  std::vector<StepResult> steps;
  Tally tally;
  std::uint64_t disconnects = 0;
  std::uint64_t registrationFailures = 0;
  bool ran = false;
};

class ThroughputRun {
 public:
  ThroughputRun(const ThroughputOptions& options, const EngineOptions& engineOptions)
      : options_(options), engineOptions_(engineOptions) {}

  int run();

 private:
  KindResult measure(Kind kind);
  StepResult runStep(Kind kind, double rate, std::string phase);
  int report(std::vector<KindResult>& results, const CpuTime& cpu, double wall);

  const ThroughputOptions& options_;
  const EngineOptions& engineOptions_;
  std::vector<std::unique_ptr<ThroughputLane>> lanes_;  // the kind being measured
  std::uint64_t receivers_ = 1;                         // per message of that kind
  std::vector<std::string> errorSamples_;
  EngineCounters counters_;  // summed over the lanes of every kind
};

StepResult ThroughputRun::runStep(Kind kind, double rate, std::string phase) {
  StepResult step;
  step.phase = std::move(phase);
  step.offered = rate;
  step.offeredDeliveries = rate * static_cast<double>(receivers_);
  std::size_t senders = 0;
  for (const auto& lane : lanes_) senders += lane->senderCount();
  const double perSender = senders > 0 ? rate / static_cast<double>(senders) : 0;

  const CpuTime cpuBefore = processCpuTime();
  const ProcSample serverBefore =
      options_.serverPid ? sampleProcess(options_.serverPid) : ProcSample{};
  const TimeNs start = nowNs() + 20 * kMillisecond;
  const TimeNs end = start + secondsToNs(options_.stepSeconds);
  const TimeNs drainDeadline = end + secondsToNs(options_.drainSeconds);
  StepShared shared;
  std::vector<LaneStep> laneSteps(lanes_.size());
  if (lanes_.size() == 1) {
    lanes_[0]->runStep(perSender, start, end, drainDeadline, shared, laneSteps[0]);
  } else {
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < lanes_.size(); ++i) {
      threads.emplace_back([&, i] {
        lanes_[i]->runStep(perSender, start, end, drainDeadline, shared, laneSteps[i]);
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
  if (options_.serverPid) {
    const ProcSample serverAfter = sampleProcess(options_.serverPid);
    if (serverBefore.ok && serverAfter.ok) {
      step.serverCpu = (serverAfter.cpuSeconds - serverBefore.cpuSeconds) / wall;
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
           step.serverCpu >= 0 ? fmt::format(", server CPU {:.0f}%", 100 * step.serverCpu) : "",
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
    ready += lanes_.back()->connect(share, i == 0 ? options_.shouters : 0, deadline);
    result.registrationFailures += lanes_.back()->registrationFailures();
  }
  receivers_ = kind == Kind::kDirect ? 1 : clients - 1;
  result.receiversPerMessage = static_cast<std::uint32_t>(receivers_);
  for (auto& lane : lanes_) lane->setReceiversPerShout(receivers_);

  if (ready < clients) {
    progress(options_.common, "{}: only {} of {} clients registered", kindName(kind), ready,
             clients);
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
  return report(results, processCpuTime() - cpuStart, static_cast<double>(nowNs() - start) / 1e9);
}

int ThroughputRun::report(std::vector<KindResult>& results, const CpuTime& cpu, double wall) {
  bool passed = true;
  fmt::print("classchat-bench throughput against {}:{} ({} s steps, payload {} bytes)\n",
             options_.common.host, options_.common.port, options_.stepSeconds,
             options_.payloadBytes);
  for (KindResult& result : results) {
    const bool clean = result.tally.clean() && result.registrationFailures == 0;
    passed = passed && clean;
    fmt::print("\n{}: {} clients{}\n", kindName(result.kind), result.clients,
               result.kind == Kind::kShout
                   ? fmt::format(" ({} shouters, each shout reaches {})", options_.shouters,
                                 result.receiversPerMessage)
                   : fmt::format(" ({} pairs)", options_.pairs));
    std::vector<std::string> header = {"step", "offered/s", "deliveries/s", "achieved/s",
                                       "sent", "missing",   "skipped",      "errors"};
    for (const auto& column : latencyColumns()) header.push_back(column);
    header.push_back("gen lag p99");
    header.push_back("gen CPU");
    header.push_back("srv CPU");
    header.push_back("ok");
    Table table(header);
    for (const StepResult& step : result.steps) {
      std::vector<std::string> row = {step.phase,
                                      formatCount(step.offered),
                                      formatCount(step.offeredDeliveries),
                                      formatCount(step.achieved),
                                      formatCount(static_cast<double>(step.sent)),
                                      std::to_string(step.outstanding),
                                      std::to_string(step.skipped),
                                      std::to_string(step.errors)};
      for (auto& cell : latencyCells(step.latency)) row.push_back(cell);
      row.push_back(step.lag.count() ? formatLatency(step.lag.percentile(99)) : "-");
      row.push_back(fmt::format("{:.0f}%", 100 * step.generatorCpu));
      row.push_back(step.serverCpu >= 0 ? fmt::format("{:.0f}%", 100 * step.serverCpu) : "-");
      row.push_back(step.sustained ? "yes" : "no");
      table.addRow(row);
    }
    fmt::print("{}", table.render());
    if (options_.rates.empty()) {
      fmt::print("max sustained: {} {}/s = {} deliveries/s (p99 <= {} ms, >= {:.0f}% delivered)\n",
                 formatCount(result.maxSustained),
                 result.kind == Kind::kDirect ? "messages" : "shouts",
                 formatCount(result.maxSustained * result.receiversPerMessage), options_.maxP99Ms,
                 100 * options_.minAchieved);
    }
    const Tally& t = result.tally;
    fmt::print(
        "verification: {} expected, {} delivered, {} lost, {} duplicated, {} reordered, "
        "{} corrupted, {} misdelivered; {} disconnects: {}\n",
        t.expected, t.delivered, t.lost, t.duplicated, t.reordered, t.corrupted,
        t.misdelivered + t.unexpected, result.disconnects, clean ? "ok" : "FAILED");
  }
  fmt::print("\ngenerator CPU: {:.2f} s user + {:.2f} s system over {:.1f} s\n", cpu.user,
             cpu.system, wall);
  for (const std::string& sample : errorSamples_) fmt::print("  error: {}\n", sample);
  fmt::print("verdict: {}\n", passed ? "PASS" : "FAIL");

  if (!options_.common.jsonPath.empty()) {
    JsonOut json;
    json.beginObject().field("mode", "throughput").field("passed", passed);
    json.key("options")
        .beginObject()
        .field("host", options_.common.host)
        .field("port", static_cast<int>(options_.common.port))
        .field("pairs", static_cast<std::uint64_t>(options_.pairs))
        .field("listeners", static_cast<std::uint64_t>(options_.listeners))
        .field("shouters", static_cast<std::uint64_t>(options_.shouters))
        .field("step_s", options_.stepSeconds)
        .field("payload_bytes", static_cast<std::uint64_t>(options_.payloadBytes))
        .field("max_p99_ms", options_.maxP99Ms)
        .field("min_achieved", options_.minAchieved)
        .endObject();
    for (const KindResult& result : results) {
      json.key(kindName(result.kind))
          .beginObject()
          .field("clients", static_cast<std::uint64_t>(result.clients))
          .field("receivers_per_message", static_cast<std::uint64_t>(result.receiversPerMessage))
          .field("max_sustained_rate", result.maxSustained)
          .field("max_sustained_deliveries_per_s", result.maxSustained * result.receiversPerMessage)
          .field("disconnects", result.disconnects)
          .field("registration_failures", result.registrationFailures)
          .key("tally");
      writeTallyJson(json, result.tally);
      json.key("steps").beginArray();
      for (const StepResult& step : result.steps) {
        json.beginObject()
            .field("phase", step.phase)
            .field("offered_per_s", step.offered)
            .field("offered_deliveries_per_s", step.offeredDeliveries)
            .field("achieved_deliveries_per_s", step.achieved)
            .field("sent", step.sent)
            .field("delivered", step.delivered)
            .field("missing_after_drain", step.outstanding)
            .field("skipped", step.skipped)
            .field("errors", step.errors)
            .field("seconds", step.seconds)
            .field("generator_cpu", step.generatorCpu)
            .field("server_cpu", step.serverCpu)
            .field("sustained", step.sustained)
            .key("latency");
        writeLatencyJson(json, step.latency);
        json.key("generator_send_lag");
        writeLatencyJson(json, step.lag);
        json.endObject();
      }
      json.endArray().endObject();
    }
    json.key("generator")
        .beginObject()
        .field("cpu_user_s", cpu.user)
        .field("cpu_system_s", cpu.system)
        .field("wall_s", wall)
        .field("bytes_out", counters_.bytesOut)
        .field("bytes_in", counters_.bytesIn)
        .field("write_syscalls", counters_.writeSyscalls)
        .field("read_syscalls", counters_.readSyscalls)
        .endObject();
    json.key("error_samples").beginArray();
    for (const std::string& sample : errorSamples_) json.value(sample);
    json.endArray().endObject();
    if (!writeTextFile(options_.common.jsonPath, json.str() + "\n")) {
      fmt::print(stderr, "cannot write {}\n", options_.common.jsonPath);
      return 1;
    }
  }
  if (!options_.common.plotPath.empty()) {
    PlotSpec spec;
    spec.title = "classchat-bench throughput: latency against offered load";
    spec.xLabel = "offered deliveries per second";
    spec.yLabel = "latency from scheduled send (ms, log scale)";
    spec.logX = true;
    spec.logY = true;
    for (const KindResult& result : results) {
      PlotSeries p50{fmt::format("{} p50", kindName(result.kind)), {}, false};
      PlotSeries p99{fmt::format("{} p99", kindName(result.kind)), {}, false};
      std::vector<const StepResult*> ordered;
      for (const StepResult& step : result.steps) {
        if (step.latency.count() > 0) ordered.push_back(&step);
      }
      std::sort(ordered.begin(), ordered.end(), [](const StepResult* a, const StepResult* b) {
        return a->offeredDeliveries < b->offeredDeliveries;
      });
      for (const StepResult* step : ordered) {
        p50.points.emplace_back(step->offeredDeliveries, nsToMs(step->latency.percentile(50)));
        p99.points.emplace_back(step->offeredDeliveries, nsToMs(step->latency.percentile(99)));
      }
      spec.series.push_back(std::move(p50));
      spec.series.push_back(std::move(p99));
    }
    if (!writeTextFile(options_.common.plotPath, renderSvg(spec))) {
      fmt::print(stderr, "cannot write {}\n", options_.common.plotPath);
      return 1;
    }
  }
  return passed ? 0 : 1;
}

}  // namespace

void addThroughputOptions(CLI::App& app, ThroughputOptions& options) {
  addCommonOptions(app, options.common, true);
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
  app.add_option("--server-pid", options.serverPid, "Report this process's CPU use per step");
  app.add_option("--prefix", options.prefix, "Client names start with this")->capture_default_str();
}

int runThroughput(const ThroughputOptions& options) {
  EngineOptions engineOptions;
  if (const std::string error = resolveTarget(options.common, engineOptions.server);
      !error.empty()) {
    fmt::print(stderr, "classchat-bench: {}\n", error);
    return 2;
  }
  engineOptions.port = options.common.port;
  ThroughputRun run(options, engineOptions);
  return run.run();
}

}  // namespace classchat::bench
