// `classchat-bench throughput`: the highest sustained rate of direct messages and of
// shout fan-out, and latency at fixed fractions of it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "bench/common.h"

namespace CLI {
class App;
}

namespace classchat::bench {

struct ThroughputOptions {
  CommonOptions common;
  std::string kinds = "both";     // direct, shout or both
  std::uint32_t pairs = 50;       // direct: 2 * pairs clients, each sending to its partner
  std::uint32_t listeners = 100;  // shout: listeners besides the shouters
  std::uint32_t shouters = 1;
  double stepSeconds = 2;
  double drainSeconds = 5;         // after a step, wait this long at most for stragglers
  double directStartRate = 10000;  // messages/s offered in the first search step
  double shoutStartRate = 100;     // shouts/s offered in the first search step
  double maxRate = 5e6;            // never offer more than this
  int searchSteps = 12;
  int retries = 1;            // a failed search step is repeated this many times
  double maxP99Ms = 50;       // a step whose p99 exceeds this is not sustained
  double minAchieved = 0.95;  // ... nor one that delivers less than this share of the offer
  std::vector<double> fractions = {0.25, 0.5, 0.75, 1.0};
  std::vector<double> rates;  // fixed offered rates: skip the search
  std::size_t payloadBytes = 64;
  std::size_t maxBacklogBytes = 4 << 20;  // per connection: beyond it, sends are skipped
  std::uint32_t window = 0;       // > 0: direct messages closed loop with this many in flight
  std::uint32_t threads = 1;      // generator threads, each with its own epoll loop and clients
  std::vector<pid_t> serverPids;  // --server-pid: CPU per step, each and summed
  std::string prefix = "tp";
};

void addThroughputOptions(CLI::App& app, ThroughputOptions& options);
int runThroughput(const ThroughputOptions& options);

}  // namespace classchat::bench
