#include "bench/report.h"

#include <sys/resource.h>

#include <algorithm>

#include <fmt/format.h>

namespace classchat::bench {
namespace {

constexpr double kPercentiles[] = {50.0, 90.0, 99.0, 99.9};

double seconds(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

double micros(std::int64_t ns) {
  return static_cast<double>(ns) / 1e3;
}

}  // namespace

std::string Table::render() const {
  std::vector<std::size_t> widths;
  for (const auto& row : rows_) {
    if (row.size() > widths.size()) widths.resize(row.size(), 0);
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (std::size_t r = 0; r < rows_.size(); ++r) {
    const auto& row = rows_[r];
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (i == 0) {
        out += fmt::format("{:<{}}", row[i], widths[i]);
      } else {
        out += fmt::format("  {:>{}}", row[i], widths[i]);
      }
    }
    out += '\n';
    if (r == 0) {
      std::size_t total = 0;
      for (std::size_t i = 0; i < widths.size(); ++i) total += widths[i] + (i ? 2 : 0);
      out += std::string(total, '-') + '\n';
    }
  }
  return out;
}

std::string formatLatency(TimeNs ns) {
  const double value = static_cast<double>(ns);
  if (ns < 10 * kMicrosecond) return fmt::format("{:.2f} us", value / 1e3);
  if (ns < 1000 * kMicrosecond) return fmt::format("{:.0f} us", value / 1e3);
  if (ns < 10 * kMillisecond) return fmt::format("{:.2f} ms", value / 1e6);
  if (ns < 1000 * kMillisecond) return fmt::format("{:.1f} ms", value / 1e6);
  return fmt::format("{:.2f} s", value / 1e9);
}

std::string formatCount(double value) {
  if (value >= 1e9) return fmt::format("{:.2f}G", value / 1e9);
  if (value >= 1e6) return fmt::format("{:.2f}M", value / 1e6);
  if (value >= 1e4) return fmt::format("{:.1f}k", value / 1e3);
  if (value == static_cast<double>(static_cast<std::int64_t>(value))) {
    return fmt::format("{}", static_cast<std::int64_t>(value));
  }
  return fmt::format("{:.1f}", value);
}

std::vector<std::string> latencyColumns() {
  return {"p50", "p90", "p99", "p99.9", "max"};
}

std::vector<std::string> latencyCells(const Histogram& histogram) {
  if (histogram.count() == 0) return {"-", "-", "-", "-", "-"};
  std::vector<std::string> cells;
  for (const double p : kPercentiles) cells.push_back(formatLatency(histogram.percentile(p)));
  cells.push_back(formatLatency(histogram.max()));
  return cells;
}

void writeLatencyJson(JsonOut& json, const Histogram& histogram) {
  json.beginObject()
      .field("count", histogram.count())
      .field("min_us", micros(histogram.min()))
      .field("mean_us", histogram.mean() / 1e3)
      .field("p50_us", micros(histogram.percentile(50)))
      .field("p90_us", micros(histogram.percentile(90)))
      .field("p99_us", micros(histogram.percentile(99)))
      .field("p99_9_us", micros(histogram.percentile(99.9)))
      .field("max_us", micros(histogram.max()))
      .endObject();
}

void writeTallyJson(JsonOut& json, const Tally& tally) {
  json.beginObject()
      .field("expected", tally.expected)
      .field("delivered", tally.delivered)
      .field("lost", tally.lost)
      .field("duplicated", tally.duplicated)
      .field("reordered", tally.reordered)
      .field("corrupted", tally.corrupted)
      .field("misdelivered", tally.misdelivered)
      .field("unexpected", tally.unexpected)
      .endObject();
}

CpuTime processCpuTime() {
  rusage self{}, children{};
  ::getrusage(RUSAGE_SELF, &self);
  ::getrusage(RUSAGE_CHILDREN, &children);
  return CpuTime{seconds(self.ru_utime) + seconds(children.ru_utime),
                 seconds(self.ru_stime) + seconds(children.ru_stime)};
}

CpuTime operator-(const CpuTime& a, const CpuTime& b) {
  return CpuTime{a.user - b.user, a.system - b.system};
}

}  // namespace classchat::bench
