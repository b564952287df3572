#include "client/line_splitter.h"

#include <gtest/gtest.h>

namespace classchat::client {
namespace {

TEST(LineSplitter, HandsOutCompleteLinesAcrossFeeds) {
  LineSplitter lines;
  lines.feed("@bob h");
  EXPECT_FALSE(lines.next());
  lines.feed("i\n/list\n/sh");
  EXPECT_EQ(lines.next(), "@bob hi");
  EXPECT_EQ(lines.next(), "/list");
  EXPECT_FALSE(lines.next());
  EXPECT_FALSE(lines.exhausted());
  lines.feed("out x");
  lines.finish();
  EXPECT_EQ(lines.next(), "/shout x");
  EXPECT_FALSE(lines.next());
  EXPECT_TRUE(lines.exhausted());
}

TEST(LineSplitter, EmptyLinesAreLines) {
  LineSplitter lines;
  lines.feed("\n\nx\n");
  lines.finish();
  EXPECT_EQ(lines.next(), "");
  EXPECT_EQ(lines.next(), "");
  EXPECT_EQ(lines.next(), "x");
  EXPECT_FALSE(lines.next());
  EXPECT_TRUE(lines.exhausted());
}

TEST(LineSplitter, ManyLinesKeepTheirOrder) {
  LineSplitter lines;
  std::string all;
  for (int i = 0; i < 5000; ++i) all += std::to_string(i) + "\n";
  lines.feed(all);
  for (int i = 0; i < 5000; ++i) ASSERT_EQ(lines.next(), std::to_string(i));
  EXPECT_FALSE(lines.next());
}

}  // namespace
}  // namespace classchat::client
