// classchat-bench: load tools that verify what they measure.
#include <CLI/CLI.hpp>

#include "bench/stress.h"
#include "bench/throughput.h"

int main(int argc, char** argv) {
  using namespace classchat::bench;
  CLI::App app{
      "classchat-bench: stress, throughput and breaking-point (ramp) tests for a server that "
      "speaks the classchat contract. Every mode sends open-loop load (latency is measured from "
      "each message's scheduled send time), verifies what arrives (exactly once, intact, in "
      "order), prints a summary table on stdout and progress on stderr, and can write every "
      "figure with --json. Loopback targets only unless --allow-remote. Exit status: 0 when "
      "every check passed, 1 when verification failed, 2 on usage errors. Run "
      "'classchat-bench <mode> --help' for a mode's options."};
  app.require_subcommand(1);

  StressOptions stress;
  CLI::App* stressApp = app.add_subcommand(
      "stress",
      "The class stress scenario, verified: a duplicate-name check, then --bots bots each "
      "sending every --min-gap..--max-gap seconds to a random one of /time, /list, a direct "
      "message to <prefix>1, a direct message to 'Everyone' (an error reply is expected) and "
      "/shout. Checks that every direct message arrives exactly once, intact and in order per "
      "sender, that every command gets its reply, and that every shout reaches every other bot; "
      "reports counts and latency percentiles per kind.");
  addStressOptions(*stressApp, stress);

  ThroughputOptions throughput;
  CLI::App* throughputApp = app.add_subcommand(
      "throughput",
      "The highest sustained rate of direct messages between --pairs pairs and of shout "
      "fan-out to --listeners listeners: offers a rate for --step-duration seconds, doubles it "
      "until a step is not sustained (p99 above --max-p99, fewer deliveries than "
      "--min-achieved of the offer, losses or errors), bisects, then measures latency at "
      "--fractions of the maximum. With --rate, measures exactly those rates instead. "
      "--plot draws latency against offered load.");
  addThroughputOptions(*throughputApp, throughput);

  CLI11_PARSE(app, argc, argv);
  if (stressApp->parsed()) return runStress(stress);
  if (throughputApp->parsed()) return runThroughput(throughput);
  return 2;
}
