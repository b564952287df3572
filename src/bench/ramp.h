// `classchat-bench ramp`: the breaking point, found by adding clients step by step.
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

struct RampOptions {
  CommonOptions common;
  std::uint32_t step = 50;        // clients added per step
  double interval = 2;            // seconds between steps
  std::uint32_t target = 100000;  // stop once this many connections are held
  double duration = 120;          // stop after this many seconds
  double maxFailRate = 0.1;       // stop when a step's failures exceed this share of its adds
  double maxP99Ms = 500;          // stop when a step's heartbeat p99 exceeds this
  double heartbeatSeconds = 3;
  bool heartbeatToPeer = false;  // --heartbeat-to peer: to a random other held client
  double hold = 0;               // after reaching the target, keep measuring this long (s)
  std::uint32_t procs = 2;       // worker processes (each below its file-descriptor limit)
  std::uint32_t sources = 8;     // source addresses 127.0.0.1 .. 127.0.0.<sources>
  std::size_t payloadBytes = 64;
  std::vector<pid_t> serverPids;  // --server-pid: RSS and CPU per step, each and summed
  std::string prefix = "ramp";
};

void addRampOptions(CLI::App& app, RampOptions& options);
int runRamp(const RampOptions& options);

}  // namespace classchat::bench
