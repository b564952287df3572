// classchat-bench: load tools that verify what they measure.
#include <CLI/CLI.hpp>

#include "bench/ramp.h"
#include "bench/ramp_worker.h"
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
      "every check passed, 1 when verification failed, 2 on usage errors, 3 when a mode that "
      "shouts (stress; throughput --kind shout or both) refused because other people are "
      "online (see its --force). Run "
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
      "reports counts and latency percentiles per kind. --plot draws latency and the send rate "
      "per second. Its shouts reach everyone online, so it first checks /list and refuses "
      "(exit status 3) if anyone but itself is there, unless --force.");
  addStressOptions(*stressApp, stress);

  ThroughputOptions throughput;
  CLI::App* throughputApp = app.add_subcommand(
      "throughput",
      "The highest sustained rate of direct messages between --pairs pairs and of shout "
      "fan-out to --listeners listeners: offers a rate for --step-duration seconds, doubles it "
      "until a step is not sustained (p99 above --max-p99, fewer deliveries than "
      "--min-achieved of the offer, losses or errors), bisects, then measures latency at "
      "--fractions of the maximum. With --rate, measures exactly those rates instead. "
      "--plot draws latency against offered load. Shouts reach everyone online, so with "
      "--kind shout or both it first checks /list and refuses (exit status 3) if anyone else "
      "is there, unless --force; direct messages go only between its own clients.");
  addThroughputOptions(*throughputApp, throughput);

  RampOptions ramp;
  CLI::App* rampApp = app.add_subcommand(
      "ramp",
      "The breaking point: adds --step clients every --interval seconds, each sending a "
      "heartbeat (a direct message to itself, or with --heartbeat-to peer to another held client) "
      "every --heartbeat seconds, until a step's "
      "connect/handshake failures exceed --max-fail-rate, its heartbeat p99 exceeds --max-p99, "
      "--target connections are held, or --duration is over. Clients are spread over --procs "
      "worker processes and --sources source addresses, so the run is not limited by one "
      "process's file descriptors or one address's ephemeral ports. Reports per step the "
      "connections held, round trips, failures and (with --server-pid) the server's RSS and CPU; "
      "then the peak stable connection count and why it stopped. --plot draws connections and "
      "p99 over time. Its clients write only to themselves, so it does not check who is "
      "online; but it loads the server until it breaks, which everyone on it will feel.");
  addRampOptions(*rampApp, ramp);

  // Internal: one worker process of a ramp, driven over stdin/stdout by the coordinator.
  RampWorkerOptions rampWorker;
  CLI::App* rampWorkerApp =
      app.add_subcommand("ramp-worker", "Internal: a worker process of 'ramp'")->group("");
  addRampWorkerOptions(*rampWorkerApp, rampWorker);

  // Not CLI11_PARSE: it exits with CLI11's own codes (109 for an unexpected argument,
  // 105 for a failed check...), and the documented status of every usage error is 2.
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int status = app.exit(error);  // prints the message, or the help (status 0)
    return status == 0 ? 0 : 2;
  }
  if (rampApp->parsed()) return runRamp(ramp);
  if (rampWorkerApp->parsed()) return runRampWorker(rampWorker);
  if (stressApp->parsed()) return runStress(stress);
  if (throughputApp->parsed()) return runThroughput(throughput);
  return 2;
}
