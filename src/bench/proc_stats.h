// Resident memory and CPU time of another process (the server), read from /proc.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

namespace classchat::bench {

struct ProcSample {
  bool ok = false;             // false when the process is gone or /proc is unreadable
  std::uint64_t rssBytes = 0;  // VmRSS
  double cpuSeconds = 0;       // utime + stime
  int threads = 0;
  int openFds = 0;  // entries in /proc/PID/fd (needs permission)
};

// Thread-safe (reads files only).
ProcSample sampleProcess(pid_t pid);

// Several server processes (--server-pid 11,12,13: the nodes of a cluster): each one's
// sample, and their sum (ok only if every one was read).
struct ProcSamples {
  std::vector<ProcSample> each;  // in the order of the pids
  ProcSample total;
};
ProcSamples sampleProcesses(const std::vector<pid_t>& pids);

}  // namespace classchat::bench
