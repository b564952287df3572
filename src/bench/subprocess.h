// A child process of classchat-bench with line-based pipes to its stdin and stdout.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "bench/clock.h"

namespace classchat::bench {

// Starts `argv` (argv[0] is run as /proc/self/exe: the bench runs copies of itself) with
// its stdin and stdout connected to this object; stderr is shared. The child gets
// SIGTERM if this process dies, so no worker outlives the run.
//
// Not thread-safe. The destructor closes the pipes (the child sees EOF and should exit),
// waits up to 5 s, then kills it.
class Subprocess {
 public:
  explicit Subprocess(const std::vector<std::string>& argv);
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  // Writes one line (a newline is added). False if the child is gone.
  bool writeLine(const std::string& line);
  // The next line from the child's stdout, without its newline; nullopt on EOF or when
  // `deadline` passes first.
  std::optional<std::string> readLine(TimeNs deadline);
  // Closes the pipes and waits for the child; returns its exit status (-1 if killed).
  int finish(TimeNs timeout);

 private:
  pid_t pid_ = -1;
  int toChild_ = -1;
  int fromChild_ = -1;
  std::string buffered_;
};

}  // namespace classchat::bench
