// What a throughput run measured, and its report (table, JSON, SVG).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bench/engine.h"
#include "bench/histogram.h"
#include "bench/report.h"
#include "bench/throughput.h"
#include "bench/verifier.h"

namespace classchat::bench {

enum class Kind : std::uint8_t { kDirect, kShout };

inline const char* kindName(Kind kind) {
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
  double generatorCpu = 0;            // share of one core, 0..N
  double serverCpu = -1;              // share of one core; -1 without --server-pid
  double serverCpuSeconds = -1;       // the server's CPU time over the step and its drain
  std::vector<double> serverCpuEach;  // per --server-pid, in order (serverCpu is their sum)
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

// Prints the summary, writes --json and --plot. Returns the exit status: 0 when every
// message was verified, 1 otherwise (or when a file cannot be written).
int reportThroughput(const ThroughputOptions& options, const std::vector<KindResult>& results,
                     const CpuTime& cpu, double wall, const EngineCounters& counters,
                     const std::vector<std::string>& errorSamples);

}  // namespace classchat::bench
