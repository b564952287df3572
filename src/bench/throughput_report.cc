#include <algorithm>

#include <fmt/format.h>

#include "bench/json_out.h"
#include "bench/svg_plot.h"
#include "bench/throughput_result.h"

namespace classchat::bench {

int reportThroughput(const ThroughputOptions& options, const std::vector<KindResult>& results,
                     const CpuTime& cpu, double wall, const EngineCounters& counters,
                     const std::vector<std::string>& errorSamples) {
  bool passed = true;
  fmt::print("classchat-bench throughput against {} ({} s steps, payload {} bytes)\n",
             targetsText(options.common), options.stepSeconds, options.payloadBytes);
  for (const KindResult& result : results) {
    const bool clean = result.tally.clean() && result.registrationFailures == 0;
    passed = passed && clean;
    fmt::print("\n{}: {} clients{}\n", kindName(result.kind), result.clients,
               result.kind == Kind::kShout
                   ? fmt::format(" ({} shouters, each shout reaches {})", options.shouters,
                                 result.receiversPerMessage)
                   : fmt::format(" ({} pairs)", options.pairs));
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
    if (options.rates.empty()) {
      fmt::print("max sustained: {} {}/s = {} deliveries/s (p99 <= {} ms, >= {:.0f}% delivered)\n",
                 formatCount(result.maxSustained),
                 result.kind == Kind::kDirect ? "messages" : "shouts",
                 formatCount(result.maxSustained * result.receiversPerMessage), options.maxP99Ms,
                 100 * options.minAchieved);
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
  for (const std::string& sample : errorSamples) fmt::print("  error: {}\n", sample);
  fmt::print("verdict: {}\n", passed ? "PASS" : "FAIL");

  if (!options.common.jsonPath.empty()) {
    JsonOut json;
    json.beginObject().field("mode", "throughput").field("passed", passed);
    json.key("options").beginObject();
    writeTargetsJson(json, options.common);
    json.field("protocol", options.common.protocol)
        .field("pairs", static_cast<std::uint64_t>(options.pairs))
        .field("listeners", static_cast<std::uint64_t>(options.listeners))
        .field("shouters", static_cast<std::uint64_t>(options.shouters))
        .field("step_s", options.stepSeconds)
        .field("payload_bytes", static_cast<std::uint64_t>(options.payloadBytes))
        .field("max_p99_ms", options.maxP99Ms)
        .field("min_achieved", options.minAchieved)
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
            .field("server_cpu_seconds", step.serverCpuSeconds)
            .field("sustained", step.sustained);
        if (!step.serverCpuEach.empty()) {
          json.key("server_cpu_each").beginArray();
          for (const double share : step.serverCpuEach) json.value(share);
          json.endArray();
        }
        json.key("latency");
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
        .field("bytes_out", counters.bytesOut)
        .field("bytes_in", counters.bytesIn)
        .field("write_syscalls", counters.writeSyscalls)
        .field("read_syscalls", counters.readSyscalls)
        .endObject();
    json.key("error_samples").beginArray();
    for (const std::string& sample : errorSamples) json.value(sample);
    json.endArray().endObject();
    if (!writeTextFile(options.common.jsonPath, json.str() + "\n")) {
      fmt::print(stderr, "cannot write {}\n", options.common.jsonPath);
      return 1;
    }
  }
  if (!options.common.plotPath.empty()) {
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
    if (!writeTextFile(options.common.plotPath, renderSvg(spec))) {
      fmt::print(stderr, "cannot write {}\n", options.common.plotPath);
      return 1;
    }
  }
  return passed ? 0 : 1;
}

}  // namespace classchat::bench
