#include "server/metrics.h"

#include <fmt/format.h>

namespace classchat::server {
namespace {

class Exposition {
 public:
  // One metric family: its HELP and TYPE lines.
  void family(std::string_view name, std::string_view type, std::string_view help) {
    fmt::format_to(std::back_inserter(out_), "# HELP {} {}\n# TYPE {} {}\n", name, help, name,
                   type);
  }
  void sample(std::string_view name, std::uint64_t value) {
    fmt::format_to(std::back_inserter(out_), "{} {}\n", name, value);
  }
  void sample(std::string_view name, std::string_view labels, std::uint64_t value) {
    fmt::format_to(std::back_inserter(out_), "{}{{{}}} {}\n", name, labels, value);
  }
  void sample(std::string_view name, double value) {
    fmt::format_to(std::back_inserter(out_), "{} {:.3f}\n", name, value);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

template <typename Field>
std::uint64_t sum(const std::vector<const LoopMetrics*>& loops, Field field) {
  std::uint64_t total = 0;
  for (const LoopMetrics* loop : loops) total += field(*loop).value();
  return total;
}

}  // namespace

std::string renderPrometheus(const std::vector<const LoopMetrics*>& loops,
                             const ServerFigures& figures) {
  Exposition out;
  out.family("classchat_connections", "gauge", "Open client connections, by transport.");
  out.sample(
      "classchat_connections", "transport=\"tcp\"",
      sum(loops, [](const LoopMetrics& m) -> const LoopCounter& { return m.tcpConnections; }));
  out.sample("classchat_connections", "transport=\"websocket\"",
             sum(loops, [](const LoopMetrics& m) -> const LoopCounter& {
               return m.webSocketConnections;
             }));

  out.family("classchat_registered_users", "gauge", "Users past the handshake, holding a name.");
  out.sample(
      "classchat_registered_users",
      sum(loops, [](const LoopMetrics& m) -> const LoopCounter& { return m.registeredUsers; }));

  out.family("classchat_messages_total", "counter",
             "Messages received from registered users, by kind.");
  out.sample(
      "classchat_messages_total", "kind=\"direct\"",
      sum(loops, [](const LoopMetrics& m) -> const LoopCounter& { return m.directMessages; }));
  out.sample("classchat_messages_total", "kind=\"shout\"",
             sum(loops, [](const LoopMetrics& m) -> const LoopCounter& { return m.shouts; }));
  out.sample("classchat_messages_total", "kind=\"command\"",
             sum(loops, [](const LoopMetrics& m) -> const LoopCounter& { return m.commands; }));

  out.family("classchat_deliveries_total", "counter",
             "Direct messages and shouts handed to a recipient's connection.");
  out.sample("classchat_deliveries_total",
             sum(loops, [](const LoopMetrics& m) -> const LoopCounter& { return m.deliveries; }));

  out.family("classchat_bytes_received_total", "counter", "Bytes read from chat clients.");
  out.sample(
      "classchat_bytes_received_total",
      sum(loops, [](const LoopMetrics& m) -> const LoopCounter& { return m.bytesReceived; }));
  std::uint64_t sent = 0;
  for (std::uint64_t bytes : figures.bytesSentByLoop) sent += bytes;
  out.family("classchat_bytes_sent_total", "counter", "Bytes written to chat clients.");
  out.sample("classchat_bytes_sent_total", sent);

  out.family("classchat_refusals_total", "counter",
             "Connections refused before they could chat, by reason.");
  for (std::size_t i = 0; i < kRefusalNames.size(); ++i) {
    out.sample(
        "classchat_refusals_total", fmt::format("reason=\"{}\"", kRefusalNames[i]),
        sum(loops, [i](const LoopMetrics& m) -> const LoopCounter& { return m.refusals[i]; }));
  }

  out.family("classchat_disconnects_total", "counter", "Closed chat connections, by reason.");
  for (std::size_t i = 0; i < kDisconnectNames.size(); ++i) {
    out.sample(
        "classchat_disconnects_total", fmt::format("reason=\"{}\"", kDisconnectNames[i]),
        sum(loops, [i](const LoopMetrics& m) -> const LoopCounter& { return m.disconnects[i]; }));
  }

  out.family("classchat_rate_limited_total", "counter",
             "Messages dropped by the per-connection rate limits.");
  out.sample("classchat_rate_limited_total",
             sum(loops, [](const LoopMetrics& m) -> const LoopCounter& { return m.rateLimited; }));

  out.family("classchat_loop_queue_depth", "gauge",
             "Tasks posted to each event loop by other loops and not yet run.");
  for (std::size_t i = 0; i < figures.postedTasksByLoop.size(); ++i) {
    out.sample("classchat_loop_queue_depth", fmt::format("loop=\"{}\"", i),
               static_cast<std::uint64_t>(figures.postedTasksByLoop[i]));
  }

  out.family("classchat_loop_queue_bytes", "gauge",
             "Message bytes waiting in each event loop's cross-loop queue (bounded by "
             "--max-loop-queue-bytes).");
  for (std::size_t i = 0; i < figures.postedBytesByLoop.size(); ++i) {
    out.sample("classchat_loop_queue_bytes", fmt::format("loop=\"{}\"", i),
               static_cast<std::uint64_t>(figures.postedBytesByLoop[i]));
  }
  out.family("classchat_shed_frames_total", "counter",
             "Messages dropped (and their senders told) because the queue towards another "
             "event loop was full.");
  out.sample("classchat_shed_frames_total", figures.shedFrames);
  out.family("classchat_shed_bytes_total", "counter", "Bytes of those dropped messages.");
  out.sample("classchat_shed_bytes_total", figures.shedBytes);

  if (const std::optional<ClusterFigures>& cluster = figures.cluster) {
    out.family("classchat_cluster_epoch", "gauge",
               "This node's lease epoch in the cluster's Redis (0 while fenced).");
    out.sample("classchat_cluster_epoch", cluster->epoch);
    out.family("classchat_cluster_events_total", "counter",
               "Cluster events: fences (lease found lost), names re-asserted, sessions dropped "
               "because their name was taken while fenced, stale names swept, dead nodes' names "
               "freed by this node's janitor, subscription cuts.");
    out.sample("classchat_cluster_events_total", "event=\"fenced\"", cluster->fenced);
    out.sample("classchat_cluster_events_total", "event=\"reasserted\"", cluster->reasserted);
    out.sample("classchat_cluster_events_total", "event=\"taken_while_fenced\"",
               cluster->takenWhileFenced);
    out.sample("classchat_cluster_events_total", "event=\"swept\"", cluster->swept);
    out.sample("classchat_cluster_events_total", "event=\"janitor_freed\"", cluster->janitorFreed);
    out.sample("classchat_cluster_events_total", "event=\"subscription_cut\"",
               cluster->subscriptionCuts);
    out.family("classchat_cluster_messages_total", "counter",
               "Messages that crossed nodes: DMs sent out and received, shouts received, "
               "route.lua calls (one per loop iteration), and messages shed because too much "
               "was on its way to Redis.");
    out.sample("classchat_cluster_messages_total", "kind=\"direct_out\"", cluster->remoteDirectOut);
    out.sample("classchat_cluster_messages_total", "kind=\"direct_in\"", cluster->remoteDirectIn);
    out.sample("classchat_cluster_messages_total", "kind=\"shout_in\"", cluster->remoteShoutsIn);
    out.sample("classchat_cluster_messages_total", "kind=\"route_call\"", cluster->routeCalls);
    out.sample("classchat_cluster_messages_total", "kind=\"shed\"", cluster->shedToRedis);
  }

  out.family("classchat_event_loops", "gauge", "Event loops (threads) serving clients.");
  out.sample("classchat_event_loops", static_cast<std::uint64_t>(loops.size()));
  out.family("classchat_uptime_seconds", "gauge", "Seconds since the server started.");
  out.sample("classchat_uptime_seconds", figures.uptimeSeconds);
  out.family("classchat_shutting_down", "gauge", "1 while the server is shutting down.");
  out.sample("classchat_shutting_down", std::uint64_t{figures.shuttingDown ? 1u : 0u});
  return out.take();
}

}  // namespace classchat::server
