#include "server/metrics.h"

#include <regex>
#include <string>

#include <gtest/gtest.h>

namespace classchat::server {
namespace {

// The value of one sample line, e.g. sampleValue(text, "classchat_shutting_down").
std::string sampleValue(const std::string& text, const std::string& series) {
  const std::size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return "missing";
  const std::size_t start = at + series.size() + 2;
  return text.substr(start, text.find('\n', start) - start);
}

TEST(Metrics, ClusterFiguresOnlyWithACluster) {
  LoopMetrics a;
  ServerFigures figures;
  EXPECT_EQ(renderPrometheus({&a}, figures).find("classchat_cluster"), std::string::npos);
  ClusterFigures cluster;
  cluster.epoch = 4;
  cluster.fenced = 1;
  cluster.routeCalls = 12;
  figures.cluster = cluster;
  const std::string text = renderPrometheus({&a}, figures);
  EXPECT_EQ(sampleValue(text, "classchat_cluster_epoch"), "4");
  EXPECT_EQ(sampleValue(text, "classchat_cluster_events_total{event=\"fenced\"}"), "1");
  EXPECT_EQ(sampleValue(text, "classchat_cluster_messages_total{kind=\"route_call\"}"), "12");
}

TEST(Metrics, SumsEveryLoopsCounters) {
  LoopMetrics a, b;
  a.directMessages.add(3);
  b.directMessages.add(4);
  a.tcpConnections.add(2);
  a.tcpConnections.subtract();
  b.tcpConnections.add(5);
  a.refused(RefusalReason::kNameTaken);
  b.refused(RefusalReason::kNameTaken);
  b.disconnected(DisconnectReason::kSlowConsumer);
  ServerFigures figures;
  figures.bytesSentByLoop = {10, 32};
  figures.postedTasksByLoop = {0, 7};
  figures.postedBytesByLoop = {0, 700};
  figures.shedFrames = 3;
  const std::string text = renderPrometheus({&a, &b}, figures);
  EXPECT_EQ(sampleValue(text, "classchat_messages_total{kind=\"direct\"}"), "7");
  EXPECT_EQ(sampleValue(text, "classchat_connections{transport=\"tcp\"}"), "6");
  EXPECT_EQ(sampleValue(text, "classchat_refusals_total{reason=\"name_taken\"}"), "2");
  EXPECT_EQ(sampleValue(text, "classchat_disconnects_total{reason=\"slow_consumer\"}"), "1");
  EXPECT_EQ(sampleValue(text, "classchat_disconnects_total{reason=\"flood\"}"), "0");
  EXPECT_EQ(sampleValue(text, "classchat_bytes_sent_total"), "42");
  EXPECT_EQ(sampleValue(text, "classchat_loop_queue_depth{loop=\"1\"}"), "7");
  EXPECT_EQ(sampleValue(text, "classchat_event_loops"), "2");
  EXPECT_EQ(sampleValue(text, "classchat_loop_queue_bytes{loop=\"1\"}"), "700");
  EXPECT_EQ(sampleValue(text, "classchat_shed_frames_total"), "3");
}

TEST(Metrics, EveryFamilyHasHelpAndTypeAndEveryNameThePrefix) {
  LoopMetrics loop;
  const std::string text = renderPrometheus({&loop}, ServerFigures{});
  const std::regex line(
      R"(^(# (HELP|TYPE) classchat_\w+ .+|classchat_\w+(\{\w+="[^"]*"\})? [0-9.]+)$)");
  std::size_t start = 0, lines = 0;
  while (start < text.size()) {
    const std::size_t end = text.find('\n', start);
    ASSERT_NE(end, std::string::npos) << "the text must end in a newline";
    const std::string one = text.substr(start, end - start);
    EXPECT_TRUE(std::regex_match(one, line)) << one;
    start = end + 1;
    ++lines;
  }
  EXPECT_GT(lines, 30u);
  for (const char* family :
       {"classchat_connections", "classchat_registered_users", "classchat_messages_total",
        "classchat_deliveries_total", "classchat_bytes_received_total",
        "classchat_bytes_sent_total", "classchat_refusals_total", "classchat_disconnects_total",
        "classchat_rate_limited_total", "classchat_loop_queue_depth"}) {
    EXPECT_NE(text.find(std::string("# TYPE ") + family + " "), std::string::npos) << family;
  }
}

}  // namespace
}  // namespace classchat::server
