// The worker side of `classchat-bench ramp`: one process holding a share of the clients.
#pragma once

#include <cstdint>
#include <string>

namespace CLI {
class App;
}

namespace classchat::bench {

struct RampWorkerOptions {
  std::string host = "127.0.0.1";  // one address or a list (targets.h)
  std::string port = "0";          // one port or a list
  std::uint32_t index = 0;         // this worker's number; names are <prefix><index>_<n>
  std::string prefix = "ramp";
  std::uint32_t sources = 1;  // bind to 127.0.0.1 .. 127.0.0.<sources>
  double heartbeatSeconds = 3;
  bool heartbeatToPeer = false;  // --heartbeat-to peer: to another client of this worker
  std::size_t payloadBytes = 64;
  std::uint64_t seed = 1;
  std::string protocol = "classchat";  // driver_factory.h
  bool tls = false;                    // --tls true|false
  std::string transport = "tcp";       // or "ws" (common.h)
};

// Commands on stdin, one per line; answers on stdout:
//   add N    start N more clients (connect, register, then heartbeat every interval);
//            the worker's client k connects to target (index + k) mod targets
//   report   answers one line:
//            report <ready> <open> <connect failures> <refusals> <handshake failures>
//                   <disconnects> <heartbeats sent> <heartbeats received>
//                   <heartbeats damaged> <rtt> <lag>
//            counts are cumulative (damaged: duplicated, reordered, corrupted or
//            misdelivered); the histograms (Histogram::toText) hold the heartbeat
//            round trips, and how late the worker sent them (its own delay), since the
//            previous report.
//   quit     (or end of input) close every client and exit
// A heartbeat is a direct message to oneself carrying a verifiable payload; with
// --heartbeat-to peer, to another welcomed client of this worker (drawn at random once), on
// another target whenever the worker has one there (a cluster's cross-node DMs to held sessions).
void addRampWorkerOptions(CLI::App& app, RampWorkerOptions& options);
int runRampWorker(const RampWorkerOptions& options);

}  // namespace classchat::bench
