// classchat-bench: load tools that verify what they measure.
#include <CLI/CLI.hpp>

#include "bench/stress.h"

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

  CLI11_PARSE(app, argc, argv);
  if (stressApp->parsed()) return runStress(stress);
  return 2;
}
