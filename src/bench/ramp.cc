#include "bench/ramp.h"

#include <sys/resource.h>

#include <algorithm>
#include <memory>
#include <sstream>

#include <CLI/CLI.hpp>

#include "bench/histogram.h"
#include "bench/proc_stats.h"
#include "bench/report.h"
#include "bench/subprocess.h"
#include "bench/svg_plot.h"

namespace classchat::bench {
namespace {

// Cumulative counters of one worker, as reported.
struct WorkerCounts {
  std::uint64_t ready = 0, open = 0, connectFailures = 0, refusals = 0, handshakeFailures = 0,
                disconnects = 0, heartbeatsSent = 0, heartbeatsReceived = 0, heartbeatsDamaged = 0;
  std::uint64_t failures() const {
    return connectFailures + refusals + handshakeFailures + disconnects;
  }
  void add(const WorkerCounts& o) {
    ready += o.ready;
    open += o.open;
    connectFailures += o.connectFailures;
    refusals += o.refusals;
    handshakeFailures += o.handshakeFailures;
    disconnects += o.disconnects;
    heartbeatsSent += o.heartbeatsSent;
    heartbeatsReceived += o.heartbeatsReceived;
    heartbeatsDamaged += o.heartbeatsDamaged;
  }
};

struct RampStep {
  double atSeconds = 0;
  std::uint64_t attempted = 0;  // clients started so far
  WorkerCounts counts;          // cumulative, all workers
  std::uint64_t newFailures = 0;
  std::uint64_t added = 0;
  Histogram heartbeat;                 // round trips during this step
  Histogram lag;                       // how late the workers sent heartbeats (generator delay)
  ProcSample server;                   // --server-pid: the sum over its processes
  std::vector<ProcSample> serverEach;  // ... and each one, in order
  std::vector<double> serverCpuEach;   // each one's share of one core during the step
  double serverCpu = -1;               // share of one core during the step (the sum)
  bool stable = false;
};

bool parseReport(const std::string& line, WorkerCounts& counts, Histogram& rtt, Histogram& lag) {
  std::istringstream in(line);
  std::string word, rttText, lagText;
  in >> word >> counts.ready >> counts.open >> counts.connectFailures >> counts.refusals >>
      counts.handshakeFailures >> counts.disconnects >> counts.heartbeatsSent >>
      counts.heartbeatsReceived >> counts.heartbeatsDamaged >> rttText >> lagText;
  return in && word == "report" && rtt.fromText(rttText) && lag.fromText(lagText);
}

// " (pid 11: 20.1 MB 35%, pid 12: ...)" with several --server-pid; empty with one.
std::string eachServer(const RampStep& step, const std::vector<pid_t>& pids) {
  if (step.serverEach.size() < 2) return {};
  std::string text = " (";
  for (std::size_t i = 0; i < step.serverEach.size(); ++i) {
    text += fmt::format("{}pid {}: {:.1f} MB", i > 0 ? ", " : "", pids[i],
                        step.serverEach[i].rssBytes / 1e6);
    if (i < step.serverCpuEach.size()) text += fmt::format(" {:.0f}%", 100 * step.serverCpuEach[i]);
  }
  return text + ")";
}

class RampRun {
 public:
  explicit RampRun(const RampOptions& options) : options_(options) {}
  int run();

 private:
  bool startWorkers();
  bool collect(RampStep& step);
  int report(const std::string& stopReason, const CpuTime& cpu, double wall);

  const RampOptions& options_;
  std::vector<std::unique_ptr<Subprocess>> workers_;
  std::vector<RampStep> steps_;
  ProcSamples serverAtStart_;
};

bool RampRun::startWorkers() {
  for (std::uint32_t i = 0; i < options_.procs; ++i) {
    workers_.push_back(std::make_unique<Subprocess>(
        std::vector<std::string>{"classchat-bench", "ramp-worker",
                                 "--host",          options_.common.host,
                                 "--port",          options_.common.port,
                                 "--index",         std::to_string(i),
                                 "--prefix",        options_.prefix,
                                 "--sources",       std::to_string(options_.sources),
                                 "--heartbeat",     fmt::format("{}", options_.heartbeatSeconds),
                                 "--to-peer",       options_.heartbeatToPeer ? "true" : "false",
                                 "--payload-bytes", std::to_string(options_.payloadBytes),
                                 "--seed",          std::to_string(options_.common.seed + i),
                                 "--protocol",      options_.common.protocol,
                                 "--tls",           options_.common.tls ? "true" : "false",
                                 "--transport",     options_.common.transport}));
    if (!workers_.back()->running()) return false;
  }
  return true;
}

bool RampRun::collect(RampStep& step) {
  for (auto& worker : workers_) {
    if (!worker->writeLine("report")) return false;
  }
  for (auto& worker : workers_) {
    const auto line = worker->readLine(nowNs() + 10 * kSecond);
    WorkerCounts counts;
    Histogram rtt, lag;
    if (!line || !parseReport(*line, counts, rtt, lag)) return false;
    step.counts.add(counts);
    step.heartbeat.merge(rtt);
    step.lag.merge(lag);
  }
  return true;
}

int RampRun::run() {
  const CommonOptions& common = options_.common;
  const CpuTime cpuStart = processCpuTime();
  if (!startWorkers()) {
    fmt::print(stderr, "classchat-bench: cannot start worker processes\n");
    return 2;
  }
  if (!options_.serverPids.empty()) serverAtStart_ = sampleProcesses(options_.serverPids);
  const TimeNs start = nowNs();
  const TimeNs end = start + secondsToNs(options_.duration);
  std::uint64_t attempted = 0;
  std::uint64_t previousFailures = 0;
  std::uint64_t previousReady = 0;
  ProcSamples previousServer = serverAtStart_;
  TimeNs previousTime = start;
  TimeNs holdUntil = 0;
  std::string stopReason;
  for (std::uint32_t k = 0; stopReason.empty(); ++k) {
    // Add this step's clients, spread evenly over the workers.
    std::uint64_t adding = 0;
    if (holdUntil == 0 && attempted < options_.target) {
      adding = std::min<std::uint64_t>(options_.step, options_.target - attempted);
      for (std::uint32_t w = 0; w < workers_.size(); ++w) {
        const std::uint64_t share =
            adding / workers_.size() + (w < adding % workers_.size() ? 1 : 0);
        if (share > 0) workers_[w]->writeLine(fmt::format("add {}", share));
      }
      attempted += adding;
    }
    const TimeNs stepEnd = std::min(end, start + secondsToNs(options_.interval * (k + 1)));
    while (nowNs() < stepEnd)
      ::usleep(
          static_cast<useconds_t>(std::min<TimeNs>(stepEnd - nowNs(), 100 * kMillisecond) / 1000));

    RampStep step;
    step.atSeconds = static_cast<double>(nowNs() - start) / 1e9;
    step.attempted = attempted;
    step.added = adding;
    if (!collect(step)) {
      stopReason = "a worker process stopped answering";
      break;
    }
    step.newFailures = step.counts.failures() - previousFailures;
    previousFailures = step.counts.failures();
    if (!options_.serverPids.empty()) {
      const ProcSamples samples = sampleProcesses(options_.serverPids);
      step.server = samples.total;
      step.serverEach = samples.each;
      const double wall = static_cast<double>(nowNs() - previousTime) / 1e9;
      if (step.server.ok && previousServer.total.ok) {
        step.serverCpu = (step.server.cpuSeconds - previousServer.total.cpuSeconds) / wall;
        for (std::size_t i = 0; i < samples.each.size(); ++i) {
          step.serverCpuEach.push_back(
              (samples.each[i].cpuSeconds - previousServer.each[i].cpuSeconds) / wall);
        }
      }
      previousServer = samples;
    }
    previousTime = nowNs();
    const double failRate =
        adding > 0 ? static_cast<double>(step.newFailures) / static_cast<double>(adding)
                   : (step.newFailures > 0 ? 1.0 : 0.0);
    const double p99 = nsToMs(step.heartbeat.percentile(99));
    step.stable = failRate <= options_.maxFailRate && p99 <= options_.maxP99Ms;
    steps_.push_back(step);
    progress(common,
             "{:6.1f} s: {} held ({} attempted), +{} failures, heartbeat p50 {} p99 {} ({}){}",
             step.atSeconds, step.counts.ready, attempted, step.newFailures,
             formatLatency(step.heartbeat.percentile(50)),
             formatLatency(step.heartbeat.percentile(99)), step.heartbeat.count(),
             step.server.ok
                 ? fmt::format(", server RSS {:.1f} MB, CPU {:.0f}%{}", step.server.rssBytes / 1e6,
                               100 * step.serverCpu, eachServer(step, options_.serverPids))
                 : "");
    if (!options_.serverPids.empty() && !step.server.ok) {
      stopReason = options_.serverPids.size() == 1 ? "the server process is gone"
                                                   : "a server process is gone";
    } else if (failRate > options_.maxFailRate) {
      stopReason =
          adding > 0
              ? fmt::format("connect/handshake failures: {} of {} new clients ({:.0f}% > {:.0f}%)",
                            step.newFailures, adding, 100 * failRate, 100 * options_.maxFailRate)
              : fmt::format("{} connect/handshake failures or disconnects while holding",
                            step.newFailures);
    } else if (p99 > options_.maxP99Ms) {
      stopReason = fmt::format("heartbeat p99 {:.1f} ms > --max-p99 {} ms", p99, options_.maxP99Ms);
    } else if (holdUntil != 0 && nowNs() >= holdUntil) {
      stopReason = fmt::format("target of {} connections reached and held", options_.target);
    } else if (holdUntil == 0 && step.counts.ready >= options_.target) {
      if (options_.hold <= 0) {
        stopReason = fmt::format("target of {} connections reached", options_.target);
      } else {
        holdUntil = nowNs() + secondsToNs(options_.hold);
      }
    } else if (nowNs() >= end) {
      stopReason = fmt::format("--duration {} s over", options_.duration);
    } else if (attempted >= options_.target && step.counts.ready == previousReady && adding == 0 &&
               holdUntil == 0) {
      stopReason = fmt::format("all {} clients started; {} held", attempted, step.counts.ready);
    }
    previousReady = step.counts.ready;
  }
  for (auto& worker : workers_) worker->writeLine("quit");
  for (auto& worker : workers_) worker->finish(10 * kSecond);
  return report(stopReason, processCpuTime() - cpuStart,
                static_cast<double>(nowNs() - start) / 1e9);
}

int RampRun::report(const std::string& stopReason, const CpuTime& cpu, double wall) {
  std::uint64_t peakStable = 0;
  const RampStep* peakStep = nullptr;
  for (const RampStep& step : steps_) {
    if (step.stable && step.counts.ready >= peakStable) {
      peakStable = step.counts.ready;
      peakStep = &step;
    }
  }
  const RampStep* last = steps_.empty() ? nullptr : &steps_.back();
  // "waiting": connected but not yet welcomed (the server has not registered them yet).
  std::vector<std::string> header = {"time",    "attempted", "held",  "waiting", "new fail",
                                     "hb",      "p50",       "p99",   "max",     "gen lag p99",
                                     "srv RSS", "srv CPU",   "stable"};
  Table table(header);
  for (const RampStep& step : steps_) {
    table.addRow({fmt::format("{:.1f} s", step.atSeconds), std::to_string(step.attempted),
                  std::to_string(step.counts.ready),
                  std::to_string(step.counts.open - std::min(step.counts.open, step.counts.ready)),
                  std::to_string(step.newFailures), std::to_string(step.heartbeat.count()),
                  step.heartbeat.count() ? formatLatency(step.heartbeat.percentile(50)) : "-",
                  step.heartbeat.count() ? formatLatency(step.heartbeat.percentile(99)) : "-",
                  step.heartbeat.count() ? formatLatency(step.heartbeat.max()) : "-",
                  step.lag.count() ? formatLatency(step.lag.percentile(99)) : "-",
                  step.server.ok ? fmt::format("{:.1f} MB", step.server.rssBytes / 1e6) : "-",
                  step.serverCpu >= 0 ? fmt::format("{:.0f}%", 100 * step.serverCpu) : "-",
                  step.stable ? "yes" : "no"});
  }
  // Heartbeats are verified at the end: every one sent before the last report should be back.
  const std::uint64_t hbSent = last ? last->counts.heartbeatsSent : 0;
  const std::uint64_t hbReceived = last ? last->counts.heartbeatsReceived : 0;
  double bytesPerConnection = 0;
  if (peakStep != nullptr && peakStep->server.ok && serverAtStart_.total.ok && peakStable > 0) {
    bytesPerConnection = (static_cast<double>(peakStep->server.rssBytes) -
                          static_cast<double>(serverAtStart_.total.rssBytes)) /
                         static_cast<double>(peakStable);
  }
  fmt::print(
      "classchat-bench ramp against {}: +{} clients every {} s, heartbeat every {} s, "
      "{} worker processes, {} source addresses\n",
      targetsText(options_.common), options_.step, options_.interval,
      fmt::format("{}{}", options_.heartbeatSeconds,
                  options_.heartbeatToPeer ? " (to a random peer)" : ""),
      options_.procs, options_.sources);
  fmt::print("{}", table.render());
  fmt::print("stopped: {}\n", stopReason);
  fmt::print("peak stable connections: {}\n", peakStable);
  if (last != nullptr) {
    fmt::print(
        "failures: {} connect, {} refused, {} handshake, {} disconnects; heartbeats "
        "{} sent, {} returned, {} damaged\n",
        last->counts.connectFailures, last->counts.refusals, last->counts.handshakeFailures,
        last->counts.disconnects, hbSent, hbReceived, last->counts.heartbeatsDamaged);
  }
  if (bytesPerConnection > 0) {
    fmt::print("server RSS growth per connection at the peak: {:.0f} bytes\n", bytesPerConnection);
  }
  fmt::print("generator CPU: {:.2f} s user + {:.2f} s system over {:.1f} s (all processes)\n",
             cpu.user, cpu.system, wall);

  if (!options_.common.jsonPath.empty()) {
    JsonOut json;
    json.beginObject()
        .field("mode", "ramp")
        .field("stop_reason", stopReason)
        .field("peak_stable_connections", peakStable)
        .field("server_rss_bytes_per_connection", bytesPerConnection);
    json.key("options").beginObject();
    writeTargetsJson(json, options_.common);
    json.field("protocol", options_.common.protocol)
        .field("step", static_cast<std::uint64_t>(options_.step))
        .field("interval_s", options_.interval)
        .field("target", static_cast<std::uint64_t>(options_.target))
        .field("duration_s", options_.duration)
        .field("max_fail_rate", options_.maxFailRate)
        .field("max_p99_ms", options_.maxP99Ms)
        .field("heartbeat_s", options_.heartbeatSeconds)
        .field("heartbeat_to", options_.heartbeatToPeer ? "peer" : "self")
        .field("procs", static_cast<std::uint64_t>(options_.procs))
        .field("sources", static_cast<std::uint64_t>(options_.sources))
        .endObject();
    if (serverAtStart_.total.ok) {
      json.key("server_at_start")
          .beginObject()
          .field("rss_bytes", serverAtStart_.total.rssBytes)
          .field("threads", serverAtStart_.total.threads)
          .field("open_fds", serverAtStart_.total.openFds)
          .endObject();
    }
    if (last != nullptr) {
      json.key("totals")
          .beginObject()
          .field("attempted", last->attempted)
          .field("held", last->counts.ready)
          .field("connect_failures", last->counts.connectFailures)
          .field("refusals", last->counts.refusals)
          .field("handshake_failures", last->counts.handshakeFailures)
          .field("disconnects", last->counts.disconnects)
          .field("heartbeats_sent", hbSent)
          .field("heartbeats_received", hbReceived)
          .field("heartbeats_damaged", last->counts.heartbeatsDamaged)
          .endObject();
    }
    json.key("steps").beginArray();
    for (const RampStep& step : steps_) {
      json.beginObject()
          .field("t_s", step.atSeconds)
          .field("attempted", step.attempted)
          .field("held", step.counts.ready)
          .field("open", step.counts.open)
          .field("waiting", step.counts.open - std::min(step.counts.open, step.counts.ready))
          .field("new_failures", step.newFailures)
          .field("stable", step.stable)
          .key("heartbeat_rtt");
      writeLatencyJson(json, step.heartbeat);
      json.key("generator_send_lag");
      writeLatencyJson(json, step.lag);
      if (step.server.ok) {
        json.field("server_rss_bytes", step.server.rssBytes)
            .field("server_cpu", step.serverCpu)
            .field("server_threads", step.server.threads)
            .field("server_open_fds", step.server.openFds);
        // Several --server-pid: each process's figures (the fields above are their sums).
        if (step.serverEach.size() > 1) {
          json.key("servers").beginArray();
          for (std::size_t i = 0; i < step.serverEach.size(); ++i) {
            json.beginObject()
                .field("pid", static_cast<std::int64_t>(options_.serverPids[i]))
                .field("rss_bytes", step.serverEach[i].rssBytes)
                .field("cpu", i < step.serverCpuEach.size() ? step.serverCpuEach[i] : -1.0)
                .endObject();
          }
          json.endArray();
        }
      }
      json.endObject();
    }
    json.endArray();
    json.key("generator")
        .beginObject()
        .field("cpu_user_s", cpu.user)
        .field("cpu_system_s", cpu.system)
        .field("wall_s", wall)
        .endObject();
    json.endObject();
    if (!writeTextFile(options_.common.jsonPath, json.str() + "\n")) {
      fmt::print(stderr, "cannot write {}\n", options_.common.jsonPath);
      return 1;
    }
  }
  if (!options_.common.plotPath.empty()) {
    PlotSpec spec;
    spec.title = "classchat-bench ramp: connections held and heartbeat p99";
    spec.xLabel = "seconds since start";
    spec.yLabel = "connections held";
    spec.yRightLabel = "heartbeat round trip p99 (ms)";
    PlotSeries held{"connections held", {}, false};
    PlotSeries p99{"heartbeat p99 (ms)", {}, true};
    for (const RampStep& step : steps_) {
      held.points.emplace_back(step.atSeconds, static_cast<double>(step.counts.ready));
      if (step.heartbeat.count() > 0) {
        p99.points.emplace_back(step.atSeconds, nsToMs(step.heartbeat.percentile(99)));
      }
    }
    spec.series = {held, p99};
    if (!writeTextFile(options_.common.plotPath, renderSvg(spec))) {
      fmt::print(stderr, "cannot write {}\n", options_.common.plotPath);
      return 1;
    }
  }
  // A ramp exists to find a limit, so hitting one is not a failure; only a run in which
  // the generator itself broke, or heartbeats came back damaged, is.
  const bool brokeDown = stopReason == "a worker process stopped answering";
  const bool damaged = last != nullptr && last->counts.heartbeatsDamaged > 0;
  return brokeDown || damaged ? 1 : 0;
}

}  // namespace

void addRampOptions(CLI::App& app, RampOptions& options) {
  addCommonOptions(app, options.common, true);
  addProtocolOption(app, options.common);
  addTransportOption(app, options.common);
  app.add_option("--step", options.step, "Clients added per step")
      ->capture_default_str()
      ->check(CLI::Range(1u, 100000u));
  app.add_option("--interval", options.interval, "Seconds between steps")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 600.0));
  app.add_option("--target", options.target, "Stop once this many connections are held")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1000000u));
  app.add_option("--duration", options.duration, "Stop after this many seconds")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 3600.0));
  app.add_option("--max-fail-rate", options.maxFailRate,
                 "Stop when a step's connect/handshake failures and disconnects exceed this share "
                 "of the clients it added")
      ->capture_default_str();
  app.add_option("--max-p99", options.maxP99Ms,
                 "Stop when a step's heartbeat round-trip p99 exceeds this (ms)")
      ->capture_default_str();
  app.add_option("--heartbeat", options.heartbeatSeconds,
                 "Seconds between one client's heartbeats (a direct message to itself)")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 600.0));
  app.add_option_function<std::string>(
         "--heartbeat-to",
         [&options](const std::string& value) { options.heartbeatToPeer = value == "peer"; },
         "self: each heartbeat is a direct message to the client itself (default); peer: to a "
         "random other held client of the same worker process (drawn once per client, again "
         "only if it goes), on another target whenever there are several (a cluster's "
         "cross-node messages to held sessions)")
      ->check(CLI::IsMember({"self", "peer"}));
  app.add_option("--hold", options.hold,
                 "After reaching --target, keep measuring for this many seconds")
      ->capture_default_str();
  app.add_option("--procs", options.procs,
                 "Worker processes holding the clients (each stays below its own "
                 "file-descriptor limit)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 64u));
  app.add_option("--sources", options.sources,
                 "Spread clients over source addresses 127.0.0.1..127.0.0.N (each has ~28k "
                 "ephemeral ports)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 254u));
  app.add_option("--payload-bytes", options.payloadBytes, "Size of each heartbeat text (>= 64)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{64}, std::size_t{60000}));
  app.add_option("--server-pid", options.serverPids,
                 "Sample this process's RSS and CPU from /proc at every step; a "
                 "comma-separated list (the nodes of a cluster) reports their sums, and each "
                 "one in --json")
      ->delimiter(',');
  app.add_option("--prefix", options.prefix, "Client names start with this")->capture_default_str();
}

int runRamp(const RampOptions& options) {
  std::vector<Target> targets;
  if (const std::string error = resolveTargets(options.common, targets); !error.empty()) {
    fmt::print(stderr, "classchat-bench: {}\n", error);
    return 2;
  }
  if (options.common.tls && options.common.protocol != "classchat") {
    fmt::print(stderr, "classchat-bench: --tls works with --protocol classchat only\n");
    return 2;
  }
  // Source addresses 127.0.0.x reach only a loopback IPv4 server (IPv6 ignores them).
  const bool remoteIpv4 = std::any_of(targets.begin(), targets.end(), [](const Target& target) {
    return target.address.family() == AF_INET && !target.address.isLoopback();
  });
  if (options.sources > 1 && remoteIpv4) {
    fmt::print(stderr, "classchat-bench: --sources needs a loopback target; use --sources 1\n");
    return 2;
  }
  // Each worker holds target / procs clients, one descriptor each: warn when that cannot
  // fit, so that the generator's own limit is not mistaken for the server's.
  rlimit files{};
  ::getrlimit(RLIMIT_NOFILE, &files);
  const std::uint64_t perWorker = (options.target + options.procs - 1) / options.procs;
  if (files.rlim_cur != RLIM_INFINITY && perWorker + 64 > files.rlim_cur) {
    fmt::print(stderr,
               "classchat-bench: warning: {} clients per worker exceed the open-file limit of "
               "{}; use --procs {} or more to reach --target {}\n",
               perWorker, files.rlim_cur, options.target / (files.rlim_cur - 64) + 1,
               options.target);
  }
  RampRun run(options);
  return run.run();
}

}  // namespace classchat::bench
