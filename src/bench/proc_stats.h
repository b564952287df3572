// Resident memory and CPU time of another process (the server), read from /proc.
#pragma once

#include <sys/types.h>

#include <cstdint>

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

}  // namespace classchat::bench
