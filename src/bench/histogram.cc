#include "bench/histogram.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

namespace classchat::bench {
namespace {

constexpr std::int64_t kSubBuckets = std::int64_t{1} << Histogram::kSubBucketBits;

template <typename T>
bool parseNumber(std::string_view& text, T& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc()) return false;
  text.remove_prefix(static_cast<std::size_t>(end - text.data()));
  return true;
}

bool expect(std::string_view& text, char c) {
  if (text.empty() || text.front() != c) return false;
  text.remove_prefix(1);
  return true;
}

}  // namespace

std::size_t Histogram::bucketOf(std::int64_t value) {
  if (value < kSubBuckets) return static_cast<std::size_t>(std::max<std::int64_t>(value, 0));
  const int highBit = 63 - std::countl_zero(static_cast<std::uint64_t>(value));
  const int shift = highBit - kSubBucketBits;    // >= 0
  const std::int64_t mantissa = value >> shift;  // in [kSubBuckets, 2 * kSubBuckets)
  return static_cast<std::size_t>(kSubBuckets + shift * kSubBuckets + (mantissa - kSubBuckets));
}

std::int64_t Histogram::bucketLowest(std::size_t bucket) {
  const auto b = static_cast<std::int64_t>(bucket);
  if (b < kSubBuckets) return b;
  const std::int64_t shift = (b - kSubBuckets) / kSubBuckets;
  const std::int64_t mantissa = kSubBuckets + (b - kSubBuckets) % kSubBuckets;
  return mantissa << shift;
}

std::int64_t Histogram::bucketHighest(std::size_t bucket) {
  const auto b = static_cast<std::int64_t>(bucket);
  if (b < kSubBuckets) return b;
  const std::int64_t shift = (b - kSubBuckets) / kSubBuckets;
  return bucketLowest(bucket) + (std::int64_t{1} << shift) - 1;
}

void Histogram::record(std::int64_t value, std::uint64_t count) {
  if (count == 0) return;
  if (value < 0) value = 0;
  if (value > kMaxValue) {
    value = kMaxValue;
    clamped_ += count;
  }
  const std::size_t bucket = bucketOf(value);
  if (bucket >= counts_.size()) counts_.resize(bucket + 1, 0);
  counts_[bucket] += count;
  min_ = count_ == 0 ? value : std::min(min_, value);
  max_ = count_ == 0 ? value : std::max(max_, value);
  count_ += count;
  sum_ += static_cast<double>(value) * static_cast<double>(count);
}

void Histogram::merge(const Histogram& other) {
  if (other.count_ == 0) return;
  if (other.counts_.size() > counts_.size()) counts_.resize(other.counts_.size(), 0);
  for (std::size_t i = 0; i < other.counts_.size(); ++i) counts_[i] += other.counts_[i];
  min_ = count_ == 0 ? other.min_ : std::min(min_, other.min_);
  max_ = count_ == 0 ? other.max_ : std::max(max_, other.max_);
  count_ += other.count_;
  clamped_ += other.clamped_;
  sum_ += other.sum_;
}

void Histogram::reset() {
  *this = Histogram();
}

std::int64_t Histogram::percentile(double percent) const {
  if (count_ == 0) return 0;
  percent = std::clamp(percent, 0.0, 100.0);
  // The rank of the wanted value, 1-based: p50 of 10 values is the 5th.
  auto rank = static_cast<std::uint64_t>(std::ceil(percent / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<std::uint64_t>(rank, 1, count_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::clamp(bucketHighest(i), min_, max_);
  }
  return max_;
}

std::string Histogram::toText() const {
  std::string out = fmt::format("{}/{}/{}/{:.0f}/{}:", count_, min_, max_, sum_, clamped_);
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] != 0) out += fmt::format("{}@{},", counts_[i], i);
  }
  return out;
}

bool Histogram::fromText(std::string_view text) {
  Histogram parsed;
  double sum = 0;
  std::int64_t sumInteger = 0;
  if (!parseNumber(text, parsed.count_) || !expect(text, '/') || !parseNumber(text, parsed.min_) ||
      !expect(text, '/') || !parseNumber(text, parsed.max_) || !expect(text, '/') ||
      !parseNumber(text, sumInteger) || !expect(text, '/') || !parseNumber(text, parsed.clamped_) ||
      !expect(text, ':')) {
    return false;
  }
  sum = static_cast<double>(sumInteger);
  std::uint64_t total = 0;
  while (!text.empty()) {
    std::uint64_t count = 0;
    std::size_t bucket = 0;
    if (!parseNumber(text, count) || !expect(text, '@') || !parseNumber(text, bucket) ||
        !expect(text, ',') || bucket > bucketOf(kMaxValue)) {
      return false;
    }
    if (bucket >= parsed.counts_.size()) parsed.counts_.resize(bucket + 1, 0);
    parsed.counts_[bucket] += count;
    total += count;
  }
  if (total != parsed.count_) return false;
  parsed.sum_ = sum;
  *this = std::move(parsed);
  return true;
}

}  // namespace classchat::bench
