#include "bench/verifier.h"

#include <gtest/gtest.h>

namespace classchat::bench {
namespace {

Payload direct(std::uint32_t from, std::uint32_t to, std::uint64_t seq) {
  Payload p;
  p.kind = PayloadKind::kDirect;
  p.sender = from;
  p.recipient = to;
  p.seq = seq;
  return p;
}

TEST(BenchStreamTracker, ClassifiesArrivals) {
  StreamTracker t;
  EXPECT_EQ(t.onReceive(0), StreamTracker::Verdict::kInOrder);
  EXPECT_EQ(t.onReceive(2), StreamTracker::Verdict::kInOrder);
  EXPECT_EQ(t.onReceive(1), StreamTracker::Verdict::kReordered);
  EXPECT_EQ(t.onReceive(1), StreamTracker::Verdict::kDuplicate);
  EXPECT_EQ(t.onReceive(0), StreamTracker::Verdict::kDuplicate);
  EXPECT_EQ(t.distinct(), 3u);
  EXPECT_EQ(t.distinctAtOrAbove(2), 1u);
}

TEST(BenchStreamTracker, LongInOrderStreamsStayCompact) {
  StreamTracker t;
  for (std::uint64_t s = 0; s < 100000; ++s)
    ASSERT_EQ(t.onReceive(s), StreamTracker::Verdict::kInOrder);
  EXPECT_EQ(t.onReceive(99999), StreamTracker::Verdict::kDuplicate);
  EXPECT_EQ(t.onReceive(5), StreamTracker::Verdict::kDuplicate);
  EXPECT_EQ(t.distinct(), 100000u);
}

TEST(BenchVerifier, CleanRun) {
  Verifier v;
  for (int i = 0; i < 5; ++i) v.onSent(PayloadKind::kDirect, 1, 2);
  for (std::uint64_t i = 0; i < 5; ++i) EXPECT_TRUE(v.onReceived(direct(1, 2, i), 2, true));
  EXPECT_EQ(v.outstanding(), 0u);
  const Tally t = v.finish(PayloadKind::kDirect);
  EXPECT_TRUE(t.clean());
  EXPECT_EQ(t.expected, 5u);
  EXPECT_EQ(t.delivered, 5u);
}

TEST(BenchVerifier, CountsLossDuplicationReorderAndMisdelivery) {
  Verifier v;
  for (int i = 0; i < 6; ++i) v.onSent(PayloadKind::kDirect, 1, 2);
  v.onReceived(direct(1, 2, 0), 2, true);
  v.onReceived(direct(1, 2, 0), 2, true);  // duplicate
  v.onReceived(direct(1, 2, 3), 2, true);
  v.onReceived(direct(1, 2, 2), 2, true);   // reordered
  v.onReceived(direct(1, 2, 4), 3, true);   // wrong recipient
  v.onReceived(direct(1, 2, 5), 2, false);  // wrong sender name
  v.onReceived(direct(1, 2, 9), 2, true);   // never sent
  v.onCorrupt(PayloadKind::kDirect);
  const Tally t = v.finish(PayloadKind::kDirect);
  EXPECT_EQ(t.expected, 6u);
  EXPECT_EQ(t.delivered, 3u);  // 0, 2, 3
  EXPECT_EQ(t.lost, 3u);       // 1, 4, 5
  EXPECT_EQ(t.duplicated, 1u);
  EXPECT_EQ(t.reordered, 1u);
  EXPECT_EQ(t.misdelivered, 2u);
  EXPECT_EQ(t.unexpected, 1u);
  EXPECT_EQ(t.corrupted, 1u);
  EXPECT_FALSE(t.clean());
}

TEST(BenchVerifier, ShoutsMustReachEveryOtherListener) {
  Verifier v;
  v.setShoutListeners(2);
  v.onShoutSent(0);
  v.onShoutSent(0);
  EXPECT_EQ(v.outstanding(), 4u);
  Payload p;
  p.kind = PayloadKind::kShout;
  p.sender = 0;
  p.recipient = kAllRecipients;
  for (std::uint64_t seq = 0; seq < 2; ++seq) {
    p.seq = seq;
    v.onReceived(p, 1, true);
  }
  p.seq = 0;
  v.onReceived(p, 2, true);
  EXPECT_EQ(v.outstanding(), 1u);
  const std::uint32_t listeners[] = {0, 1, 2};
  const Tally t = v.finish(PayloadKind::kShout, listeners);
  EXPECT_EQ(t.expected, 4u);
  EXPECT_EQ(t.delivered, 3u);
  EXPECT_EQ(t.lost, 1u);
}

TEST(BenchVerifier, ShoutEchoedToItsSenderIsUnexpected) {
  Verifier v;
  v.setShoutListeners(1);
  v.onShoutSent(0);
  Payload p;
  p.kind = PayloadKind::kShout;
  p.recipient = kAllRecipients;
  v.onReceived(p, 1, true);
  v.onReceived(p, 0, true);
  const std::uint32_t listeners[] = {0, 1};
  const Tally t = v.finish(PayloadKind::kShout, listeners);
  EXPECT_EQ(t.lost, 0u);
  EXPECT_EQ(t.unexpected, 1u);
}

}  // namespace
}  // namespace classchat::bench
