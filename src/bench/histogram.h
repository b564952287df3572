// A log-bucketed latency histogram in the style of HdrHistogram.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace classchat::bench {

// Records non-negative values (nanoseconds) into buckets whose width is 1/128 of their
// magnitude: every reported percentile is within 0.8% of the true value, in constant
// memory (about 36 KB once values reach minutes), and two histograms merge by adding
// counts. No raw samples are kept or sorted.
//
// Values below 128 are exact. Above, a value v with highest set bit b falls in one of
// 128 equal sub-buckets of [2^b, 2^(b+1)). Values above kMaxValue are clamped (and
// counted in clamped()).
//
// Not thread-safe: one histogram per thread; merge() after the threads are done.
class Histogram {
 public:
  static constexpr int kSubBucketBits = 7;
  static constexpr std::int64_t kMaxValue = std::int64_t{1} << 42;  // about 73 minutes in ns

  void record(std::int64_t value, std::uint64_t count = 1);
  void merge(const Histogram& other);
  void reset();

  std::uint64_t count() const { return count_; }
  std::uint64_t clamped() const { return clamped_; }
  std::int64_t min() const { return count_ ? min_ : 0; }
  std::int64_t max() const { return count_ ? max_ : 0; }
  double mean() const { return count_ ? sum_ / static_cast<double>(count_) : 0.0; }

  // The value below or at which `percent` (0..100) of the recorded values lie: the upper
  // end of the bucket holding that rank, never above max(). 0 when empty.
  std::int64_t percentile(double percent) const;

  // Compact text for sending between processes: "count@index,..." for non-empty buckets
  // plus min/max/sum. fromText() returns false on malformed input.
  std::string toText() const;
  bool fromText(std::string_view text);

  // Bucket arithmetic, public for tests.
  static std::size_t bucketOf(std::int64_t value);
  static std::int64_t bucketHighest(std::size_t bucket);
  static std::int64_t bucketLowest(std::size_t bucket);

 private:
  std::vector<std::uint64_t> counts_;  // grows to the highest bucket used
  std::uint64_t count_ = 0;
  std::uint64_t clamped_ = 0;
  std::int64_t min_ = 0;
  std::int64_t max_ = 0;
  double sum_ = 0;
};

}  // namespace classchat::bench
