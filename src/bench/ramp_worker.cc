#include "bench/ramp_worker.h"

#include <arpa/inet.h>
#include <poll.h>
#include <unistd.h>

#include <cstdio>
#include <random>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "bench/common.h"
#include "bench/driver_factory.h"
#include "bench/engine.h"
#include "bench/histogram.h"
#include "bench/schedule.h"
#include "bench/verifier.h"

namespace classchat::bench {
namespace {

class RampWorker final : public EngineHandler {
 public:
  RampWorker(const RampWorkerOptions& options, const EngineOptions& engineOptions)
      : options_(options),
        driver_(makeWorkerDriver(options)),
        engine_(engineOptions, *driver_, *this),
        random_(options.seed),
        servers_(engineOptions.servers.size()) {}

  int run();

  void onReady(ClientId client, TimeNs now) override;
  void onIncoming(ClientId client, const Incoming& incoming, TimeNs now) override;
  void onClosed(ClientId, bool, std::string_view) override {}
  void onTimer(ClientId client, std::uint32_t tag, TimeNs now) override;

 private:
  bool handleCommand(const std::string& line);
  // Whom `client`'s next heartbeat goes to: itself, or with --heartbeat-to peer its peer, a
  // welcomed client of this worker drawn at random once (preferably on another target) and
  // kept while it is held: one stream per client, as with heartbeats to oneself, so the
  // verifier's memory does not grow with every heartbeat and order is checked per pair.
  ClientId recipientOf(ClientId client);
  std::size_t targetOfClient(ClientId client) const {
    return targetOf(options_.index + client, servers_);
  }
  // Heartbeats that came back duplicated, reordered, corrupted or to the wrong client.
  std::uint64_t damagedHeartbeats() const {
    const Tally& t = verifier_.running(PayloadKind::kHeartbeat);
    return t.duplicated + t.reordered + t.corrupted + t.misdelivered;
  }

  static std::unique_ptr<Driver> makeWorkerDriver(const RampWorkerOptions& options) {
    CommonOptions common;
    common.host = options.host;
    common.port = options.port;
    common.transport = options.transport;
    return makeDriver(parseProtocol(options.protocol).value_or(Protocol::kClassChat), {},
                      transportOf(common, options.seed));
  }

  const RampWorkerOptions& options_;
  std::unique_ptr<Driver> driver_;
  Engine engine_;
  Verifier verifier_;
  std::mt19937_64 random_;
  std::size_t servers_;              // targets the clients are spread over
  std::vector<Schedule> schedules_;  // by client id
  std::vector<ClientId> welcomed_;   // every client that was welcomed, in order (peers)
  std::vector<ClientId> peers_;      // by client id: its heartbeats' recipient (or itself)
  Histogram window_;                 // heartbeat round trips since the last report
  Histogram lag_;                    // how late heartbeats were sent: the generator's own delay
  std::uint64_t heartbeatsSent_ = 0;
  std::uint64_t heartbeatsReceived_ = 0;
};

void RampWorker::onReady(ClientId client, TimeNs now) {
  const TimeNs interval = secondsToNs(options_.heartbeatSeconds);
  const TimeNs phase = std::uniform_int_distribution<TimeNs>(0, interval - 1)(random_);
  schedules_[client] = Schedule::fixedRate(now, interval, phase);
  welcomed_.push_back(client);
  engine_.schedule(schedules_[client].peek(), client, 0);
}

ClientId RampWorker::recipientOf(ClientId client) {
  if (!options_.heartbeatToPeer || welcomed_.size() < 2) return client;
  ClientId& kept = peers_[client];
  if (kept != client && engine_.state(kept) == Engine::State::kReady) return kept;
  // A few random draws: with T targets, (T-1)/T of the welcomed clients are on another one,
  // so one almost always is; otherwise any other welcomed client will do.
  std::uniform_int_distribution<std::size_t> pick(0, welcomed_.size() - 1);
  ClientId fallback = client;
  for (int attempt = 0; attempt < 8; ++attempt) {
    const ClientId peer = welcomed_[pick(random_)];
    if (peer == client || engine_.state(peer) != Engine::State::kReady) continue;
    if (servers_ < 2 || targetOfClient(peer) != targetOfClient(client)) return kept = peer;
    fallback = peer;
  }
  return kept = fallback;
}

void RampWorker::onTimer(ClientId client, std::uint32_t, TimeNs now) {
  Schedule& schedule = schedules_[client];
  while (schedule.peek() <= now) {
    lag_.record(now - schedule.peek());
    const ClientId to = recipientOf(client);
    Payload payload{PayloadKind::kHeartbeat, client, to,
                    verifier_.sentBy(PayloadKind::kHeartbeat, client, to), schedule.take()};
    std::string text;
    appendPayload(text, payload, options_.payloadBytes);
    if (to == client) {
      driver_->appendHeartbeat(engine_.output(client), engine_.name(client), text);
    } else {
      driver_->appendDirect(engine_.output(client), engine_.name(client), engine_.name(to), text);
    }
    verifier_.onSent(PayloadKind::kHeartbeat, client, to);
    ++heartbeatsSent_;
  }
  engine_.schedule(schedule.peek(), client, 0);
}

void RampWorker::onIncoming(ClientId client, const Incoming& incoming, TimeNs now) {
  if (incoming.kind != Incoming::Kind::kDirect) return;
  Payload payload;
  if (!decodePayload(incoming.text, payload) || payload.kind != PayloadKind::kHeartbeat) {
    verifier_.onCorrupt(PayloadKind::kHeartbeat);
    return;
  }
  // The sender's name as the server stamped it must be the one of the client that sent it.
  const bool fromMatches =
      payload.sender < schedules_.size() && incoming.from == engine_.name(payload.sender);
  if (verifier_.onReceived(payload, client, fromMatches)) {
    ++heartbeatsReceived_;
    window_.record(now - payload.scheduled);
  }
}

bool RampWorker::handleCommand(const std::string& line) {
  unsigned long count = 0;
  if (std::sscanf(line.c_str(), "add %lu", &count) == 1) {
    for (unsigned long i = 0; i < count; ++i) {
      // Round-robin over the targets, each worker starting on its own one.
      engine_.addClient(fmt::format("{}{}_{}", options_.prefix, options_.index, schedules_.size()),
                        targetOf(options_.index + schedules_.size(), servers_));
      peers_.push_back(static_cast<ClientId>(schedules_.size()));
      schedules_.emplace_back();
    }
    return true;
  }
  if (line == "report") {
    const EngineCounters& c = engine_.counters();
    const std::string out = fmt::format(
        "report {} {} {} {} {} {} {} {} {} {} {}\n", engine_.readyCount(), engine_.openCount(),
        c.connectFailures, c.refusals, c.handshakeFailures, c.disconnects, heartbeatsSent_,
        heartbeatsReceived_, damagedHeartbeats(), window_.toText(), lag_.toText());
    window_.reset();
    lag_.reset();
    return ::write(STDOUT_FILENO, out.data(), out.size()) == static_cast<ssize_t>(out.size());
  }
  return line != "quit";
}

int RampWorker::run() {
  std::string input;
  while (true) {
    engine_.run(nowNs() + 5 * kMillisecond);
    pollfd p{STDIN_FILENO, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) continue;
    char chunk[4096];
    const ssize_t n = ::read(STDIN_FILENO, chunk, sizeof chunk);
    if (n <= 0) return 0;  // the coordinator is gone
    input.append(chunk, static_cast<std::size_t>(n));
    std::size_t newline;
    while ((newline = input.find('\n')) != std::string::npos) {
      const std::string line = input.substr(0, newline);
      input.erase(0, newline + 1);
      if (!handleCommand(line)) return 0;
    }
  }
}

}  // namespace

void addRampWorkerOptions(CLI::App& app, RampWorkerOptions& options) {
  app.add_option("--host", options.host);
  app.add_option("--port", options.port);
  app.add_option("--index", options.index);
  app.add_option("--prefix", options.prefix);
  app.add_option("--sources", options.sources);
  app.add_option("--heartbeat", options.heartbeatSeconds);
  app.add_option("--to-peer", options.heartbeatToPeer);
  app.add_option("--payload-bytes", options.payloadBytes);
  app.add_option("--seed", options.seed);
  app.add_option("--protocol", options.protocol);
  app.add_option("--tls", options.tls);
  app.add_option("--transport", options.transport);
}

int runRampWorker(const RampWorkerOptions& options) {
  EngineOptions engineOptions;
  std::vector<Target> targets;
  if (!parseTargets(options.host, options.port, targets).empty()) return 2;
  engineOptions.servers = addressesOf(targets);
  if (options.transport == "ws") engineOptions.maxPendingLogins = kWebSocketPendingLogins;
  for (std::uint32_t i = 1; i <= options.sources && options.sources > 1; ++i) {
    in_addr source{};
    source.s_addr = htonl((127u << 24) | i);
    engineOptions.sources.push_back(source);
  }
  CommonOptions common;
  common.tls = options.tls;
  common.protocol = options.protocol;
  if (!configureTls(common, engineOptions).empty()) return 2;
  RampWorker worker(options, engineOptions);
  return worker.run();
}

}  // namespace classchat::bench
