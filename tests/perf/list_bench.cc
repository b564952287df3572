// /list at 19,000 online: the cost of one request, through the command table and the
// loop's LocalHub, as a session on that loop pays it. Run:
//   build/release/tests/perf/list_bench --benchmark_min_time=1
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "hub/local_hub.h"
#include "hub/name_registry.h"
#include "net/event_loop.h"
#include "server/commands.h"

namespace {

using namespace classchat;

constexpr int kOnline = 19'000;

class NoDelivery final : public server::LocalDelivery {
 public:
  void deliverLocal(net::ConnectionId, std::string_view) override {}
  void deliverToAllLocal(std::string_view, net::ConnectionId) override {}
  bool releaseIfPeerGone(net::ConnectionId) override { return false; }
  void actLocal(net::ConnectionId, const server::SessionAction&) override {}
  void actOnAddressLocal(std::string_view, const server::SessionAction&) override {}
  void directFailed(net::ConnectionId, std::string_view, server::DirectStatus) override {}
};

class Context final : public server::CommandContext, public server::LaterReplies {
 public:
  Context(server::Hub& hub, std::string name) : hub_(hub), name_(std::move(name)) {}
  std::string_view senderName() const override { return name_; }
  std::string_view senderIp() const override { return "127.0.0.1"; }
  net::ConnectionId senderConnection() const override { return 1 << 8; }
  server::Hub& hub() override { return hub_; }
  void reply(std::string_view text) override { bytes += text.size(); }
  server::LaterReply replyLater() override { return server::LaterReply(*this, senderConnection()); }
  void replyTo(net::ConnectionId, std::string_view text) override { bytes += text.size(); }
  bool senderIsAdmin() const override { return false; }
  server::Moderation& moderation() override { return moderation_; }
  void login(std::string_view) override {}
  std::size_t bytes = 0;

 private:
  server::Moderation moderation_;
  server::Hub& hub_;
  std::string name_;
};

// One loop, not running: the hub is used from this thread as its loop's would be.
struct Directory {
  Directory() {
    hub.connectPeers({&hub});
    for (int i = 0; i < kOnline; ++i) {
      // Class-like names of 5 to 12 characters, in no particular order.
      std::string name = "student" + std::to_string((i * 7919) % 100'000);
      hub.claim(name, static_cast<net::ConnectionId>(i + 1) << 8);
    }
  }
  net::EventLoop loop;
  server::NameRegistry registry;
  NoDelivery delivery;
  server::LocalHub hub{loop, 0, registry, delivery};
};

void listPage(benchmark::State& state, const char* page) {
  static Directory directory;
  Context context(directory.hub, "student0");
  protocol::ClientMessage message;
  message.to = "/list";
  message.hasTo = true;
  message.msg = std::string_view(page);
  const server::Command* list = server::findCommand("/list");
  for (auto _ : state) {
    list->handler(context, message);
  }
  benchmark::DoNotOptimize(context.bytes);
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK_CAPTURE(listPage, first_page, "");
BENCHMARK_CAPTURE(listPage, middle_page, "150");
BENCHMARK_CAPTURE(listPage, last_page_or_beyond, "100000");

}  // namespace

BENCHMARK_MAIN();
