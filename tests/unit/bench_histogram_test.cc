#include "bench/histogram.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace classchat::bench {
namespace {

TEST(BenchHistogram, SmallValuesAreExact) {
  Histogram h;
  for (int v = 1; v <= 100; ++v) h.record(v);
  EXPECT_EQ(h.count(), 100u);
  EXPECT_EQ(h.percentile(50), 50);
  EXPECT_EQ(h.percentile(99), 99);
  EXPECT_EQ(h.percentile(100), 100);
  EXPECT_EQ(h.min(), 1);
  EXPECT_EQ(h.max(), 100);
  EXPECT_DOUBLE_EQ(h.mean(), 50.5);
}

TEST(BenchHistogram, LargeValuesWithinOnePercent) {
  Histogram h;
  // 1 us .. 10 s in ns, 10,000 values spread log-uniformly.
  std::vector<std::int64_t> values;
  for (int i = 0; i < 10000; ++i) {
    values.push_back(static_cast<std::int64_t>(1000 * std::pow(1e7, i / 9999.0)));
  }
  for (auto v : values) h.record(v);
  for (double p : {10.0, 50.0, 90.0, 99.0, 99.9}) {
    const auto exact = values[static_cast<std::size_t>(std::ceil(p / 100 * 10000)) - 1];
    const auto got = h.percentile(p);
    EXPECT_GE(got, exact) << p;
    EXPECT_LE(static_cast<double>(got), exact * 1.01) << p;
  }
  EXPECT_EQ(h.percentile(100), values.back());
}

TEST(BenchHistogram, BucketsCoverEveryValueOnce) {
  const std::vector<std::int64_t> values = {
      0, 1, 127, 128, 255, 256, 1000, 123456789, Histogram::kMaxValue};
  for (std::int64_t v : values) {
    const std::size_t b = Histogram::bucketOf(v);
    EXPECT_LE(Histogram::bucketLowest(b), v);
    EXPECT_GE(Histogram::bucketHighest(b), v);
    EXPECT_EQ(Histogram::bucketOf(Histogram::bucketHighest(b) + 1), b + 1);
  }
}

TEST(BenchHistogram, MergeAddsCounts) {
  Histogram a, b;
  a.record(10, 3);
  b.record(1000000);
  a.merge(b);
  EXPECT_EQ(a.count(), 4u);
  EXPECT_EQ(a.percentile(75), 10);
  EXPECT_EQ(a.max(), 1000000);
}

TEST(BenchHistogram, ClampsHugeValues) {
  Histogram h;
  h.record(Histogram::kMaxValue * 4);
  EXPECT_EQ(h.clamped(), 1u);
  EXPECT_EQ(h.max(), Histogram::kMaxValue);
}

TEST(BenchHistogram, TextRoundTrip) {
  Histogram h;
  h.record(5);
  h.record(123456, 7);
  h.record(99999999);
  Histogram copy;
  ASSERT_TRUE(copy.fromText(h.toText()));
  EXPECT_EQ(copy.count(), h.count());
  EXPECT_EQ(copy.percentile(50), h.percentile(50));
  EXPECT_EQ(copy.max(), h.max());
  EXPECT_EQ(copy.min(), h.min());
  EXPECT_FALSE(copy.fromText("3/1/2/3/0:1@5,"));  // counts do not add up
  EXPECT_FALSE(copy.fromText("garbage"));
  EXPECT_EQ(copy.count(), h.count());  // unchanged on failure
}

TEST(BenchHistogram, EmptyReportsZero) {
  Histogram h;
  EXPECT_EQ(h.percentile(99), 0);
  EXPECT_EQ(h.max(), 0);
}

}  // namespace
}  // namespace classchat::bench
