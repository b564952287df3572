#include "bench/proc_stats.h"

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace classchat::bench {

ProcSample sampleProcess(pid_t pid) {
  ProcSample sample;
  const std::string base = "/proc/" + std::to_string(pid);
  std::ifstream stat(base + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return sample;
  // Fields after the command name, which is in parentheses and may contain spaces.
  const std::size_t close = line.rfind(')');
  if (close == std::string::npos) return sample;
  std::istringstream fields(line.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int index = 3; fields >> field; ++index) {
    if (index == 14) utime = std::stoull(field);
    if (index == 15) stime = std::stoull(field);
    if (index == 20) sample.threads = std::stoi(field);
    if (index == 24) {
      sample.rssBytes =
          std::stoull(field) * static_cast<unsigned long long>(::sysconf(_SC_PAGESIZE));
      break;
    }
  }
  sample.cpuSeconds =
      static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  if (DIR* dir = ::opendir((base + "/fd").c_str())) {
    while (const dirent* entry = ::readdir(dir)) {
      if (entry->d_name[0] != '.') ++sample.openFds;
    }
    ::closedir(dir);
  }
  sample.ok = true;
  return sample;
}

ProcSamples sampleProcesses(const std::vector<pid_t>& pids) {
  ProcSamples samples;
  samples.total.ok = !pids.empty();
  for (const pid_t pid : pids) {
    const ProcSample sample = sampleProcess(pid);
    samples.each.push_back(sample);
    samples.total.ok = samples.total.ok && sample.ok;
    samples.total.rssBytes += sample.rssBytes;
    samples.total.cpuSeconds += sample.cpuSeconds;
    samples.total.threads += sample.threads;
    samples.total.openFds += sample.openFds;
  }
  return samples;
}

}  // namespace classchat::bench
