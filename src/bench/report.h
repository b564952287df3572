// Human-readable tables and the JSON shapes shared by every mode's report.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "bench/clock.h"
#include "bench/histogram.h"
#include "bench/json_out.h"
#include "bench/verifier.h"

namespace classchat::bench {

// A text table with right-aligned columns (the first column left-aligned).
class Table {
 public:
  explicit Table(std::vector<std::string> header) : rows_{std::move(header)} {}
  void addRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::string render() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

// "850 us", "12.3 ms", "1.20 s": three significant digits in a readable unit.
std::string formatLatency(TimeNs ns);
// "1234567" -> "1.23M", for rates and counts in tables.
std::string formatCount(double value);

// The percentiles every report gives, in the order of latencyColumns().
std::vector<std::string> latencyColumns();  // p50 p90 p99 p99.9 max
std::vector<std::string> latencyCells(const Histogram& histogram);

// {"count":..,"min_us":..,"mean_us":..,"p50_us":..,"p90_us":..,"p99_us":..,
//  "p99_9_us":..,"max_us":..}
void writeLatencyJson(JsonOut& json, const Histogram& histogram);
// {"expected":..,"delivered":..,"lost":..,...}
void writeTallyJson(JsonOut& json, const Tally& tally);

// CPU seconds (user + system) used by this process and its reaped children so far.
struct CpuTime {
  double user = 0;
  double system = 0;
  double total() const { return user + system; }
};
CpuTime processCpuTime();
CpuTime operator-(const CpuTime& a, const CpuTime& b);

}  // namespace classchat::bench
