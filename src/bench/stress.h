// `classchat-bench stress`: the class's stress scenario, verified.
#pragma once

#include <cstdint>
#include <string>

#include "bench/common.h"

namespace CLI {
class App;
}

namespace classchat::bench {

struct StressOptions {
  CommonOptions common;
  std::uint32_t bots = 50;
  double duration = 10;  // seconds of chatting
  double minGap = 0.1;   // seconds between one bot's sends
  double maxGap = 1.0;
  double connectTimeout = 10;  // seconds for all bots to register
  double drain = 5;            // seconds to wait for outstanding deliveries at the end
  std::size_t payloadBytes = 80;
  std::string prefix = "Bot_";
  bool skipDuplicateCheck = false;
};

// Registers the mode's flags on `app` (a subcommand).
void addStressOptions(CLI::App& app, StressOptions& options);
// Runs the scenario; returns the process exit status (0 = verified, 1 = failures).
int runStress(const StressOptions& options);

}  // namespace classchat::bench
