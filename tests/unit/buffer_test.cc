#include "net/buffer.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace classchat::net {
namespace {

// Capacity of a std::string that owns no heap memory (its inline storage).
const std::size_t kInlineCapacity = std::string().capacity();

TEST(Buffer, StartsEmptyWithoutHeapMemory) {
  Buffer buffer;
  EXPECT_TRUE(buffer.empty());
  EXPECT_EQ(buffer.size(), 0u);
  EXPECT_TRUE(buffer.readable().empty());
  EXPECT_LE(buffer.capacity(), kInlineCapacity);
}

TEST(Buffer, ConsumesFromTheFrontInOrder) {
  Buffer buffer;
  buffer.append("hello ");
  buffer.append("world");
  EXPECT_EQ(buffer.size(), 11u);
  EXPECT_EQ(buffer.readable(), "hello world");
  buffer.consume(6);
  EXPECT_EQ(buffer.readable(), "world");
  buffer.append("!");
  EXPECT_EQ(buffer.readable(), "world!");
  buffer.consume(6);
  EXPECT_TRUE(buffer.empty());
  EXPECT_EQ(buffer.readable(), "");
}

TEST(Buffer, KeepsBinaryBytes) {
  Buffer buffer;
  const std::string bytes("a\0b\xFF\n", 5);
  buffer.append(bytes);
  EXPECT_EQ(buffer.readable(), bytes);
}

TEST(Buffer, MatchesAReferenceQueueUnderRandomUse) {
  std::mt19937 random(12345);
  Buffer buffer;
  std::string reference;
  char next = 0;
  for (int step = 0; step < 20000; ++step) {
    if (random() % 2 == 0) {
      std::string chunk(random() % 3000, '\0');
      for (char& c : chunk) c = next++;
      buffer.append(chunk);
      reference += chunk;
    } else if (!reference.empty()) {
      const std::size_t n = random() % (reference.size() + 1);
      buffer.consume(n);
      reference.erase(0, n);
    }
    ASSERT_EQ(buffer.size(), reference.size()) << "step " << step;
    ASSERT_EQ(buffer.readable(), reference) << "step " << step;
  }
}

TEST(Buffer, ReleasesLargeAllocationsOnceDrained) {
  Buffer buffer;
  buffer.append(std::string(1 << 20, 'x'));
  EXPECT_GE(buffer.capacity(), 1u << 20);
  buffer.consume(1000);
  EXPECT_GE(buffer.capacity(), 1u << 20);  // still holding unread bytes
  buffer.consume(buffer.size());
  EXPECT_TRUE(buffer.empty());
  EXPECT_LE(buffer.capacity(), kInlineCapacity);
}

TEST(Buffer, SmallDrainedBufferIsReusedAndStaysSmall) {
  Buffer buffer;
  buffer.append(std::string(1000, 'x'));
  buffer.consume(1000);
  EXPECT_TRUE(buffer.empty());
  EXPECT_LE(buffer.capacity(), 16u * 1024);
  buffer.append("abc");
  EXPECT_EQ(buffer.readable(), "abc");
}

TEST(Buffer, SteadyStreamDoesNotGrowWithoutBound) {
  // The reader always lags a little behind the writer, so the buffer is never drained;
  // sliding the unread tail forward must keep the allocation bounded.
  Buffer buffer;
  std::size_t maxCapacity = 0;
  for (int i = 0; i < 100000; ++i) {
    buffer.append(std::string(100, static_cast<char>('a' + i % 26)));
    if (buffer.size() > 500) buffer.consume(buffer.size() - 400);
    maxCapacity = std::max(maxCapacity, buffer.capacity());
  }
  EXPECT_LE(maxCapacity, 4096u);
  EXPECT_GE(buffer.size(), 400u);
  EXPECT_LE(buffer.size(), 500u);
  // The newest bytes are at the back.
  EXPECT_EQ(buffer.readable().back(), static_cast<char>('a' + 99999 % 26));
}

}  // namespace
}  // namespace classchat::net
