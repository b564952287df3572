#include "bench/stress.h"

#include <deque>
#include <random>

#include <CLI/CLI.hpp>

#include "bench/classchat_driver.h"
#include "bench/common.h"
#include "bench/driver_factory.h"
#include "bench/duplicate_check.h"
#include "bench/engine.h"
#include "bench/occupancy_check.h"
#include "bench/report.h"
#include "bench/schedule.h"
#include "bench/svg_plot.h"
#include "bench/verifier.h"

namespace classchat::bench {
// A server to connect to (targets.h); `Target` below is what a bot sends.
using ServerTarget = Target;
namespace {

// What a bot can send, in the class scenario's order.
enum class Target : std::uint8_t { kTime, kList, kFirstBot, kEveryone, kShout };
constexpr int kTargets = 5;

// Server replies the bench waits for, matched in order per connection.
enum class Expect : std::uint8_t { kTime, kList, kShoutAck, kEveryoneError };
constexpr int kExpectKinds = 4;
constexpr const char* kExpectNames[kExpectKinds] = {"/time", "/list", "/shout ack",
                                                    "DM to Everyone"};

struct PendingReply {
  Expect kind;
  TimeNs scheduled;
};

struct ReplyStats {
  std::uint64_t sent = 0;
  std::uint64_t answered = 0;
  std::uint64_t wrong = 0;  // a reply that is not what this request should get
  Histogram latency;
};

struct Bot {
  Schedule schedule;
  std::deque<PendingReply> pending;
};

// One point of --plot: what the bots saw during one window (about a second) of the run.
struct PlotPoint {
  double atSeconds = 0;  // end of the window, since the chat started
  std::uint64_t sent = 0;
  double seconds = 0;  // the window's length
  Histogram latency;   // every delivery and reply that arrived in it
};

class StressRun final : public EngineHandler {
 public:
  StressRun(const StressOptions& options, const EngineOptions& engineOptions,
            std::vector<ServerTarget> targets)
      : options_(options),
        targets_(std::move(targets)),
        driver_(makeStressDriver(options)),
        engine_(engineOptions, *driver_, *this),
        random_(options.common.seed) {}

  int run();

  void onReady(ClientId, TimeNs) override {}
  void onIncoming(ClientId client, const Incoming& incoming, TimeNs now) override;
  void onClosed(ClientId client, bool wasReady, std::string_view reason) override;
  void onTimer(ClientId client, std::uint32_t tag, TimeNs now) override;

 private:
  void send(ClientId client, TimeNs scheduled);
  void handleReply(ClientId client, const Incoming& incoming, TimeNs now);
  void handleMessage(ClientId client, const Incoming& incoming, TimeNs now, bool shout);
  void noteError(std::string text);
  std::size_t pendingReplies() const;
  int report(const std::vector<DuplicateCheck>& duplicates, TimeNs chatStart, TimeNs end,
             const CpuTime& cpu);
  // Closes the current --plot window at `now`.
  void closeWindow(TimeNs chatStart, TimeNs now);
  bool writePlot() const;

  const StressOptions& options_;
  std::vector<ServerTarget> targets_;  // --host/--port; engine server i is targets_[i]
  // classchat over TCP, or over WebSocket with --transport ws.
  static std::unique_ptr<Driver> makeStressDriver(const StressOptions& options) {
    return makeDriver(Protocol::kClassChat, {}, transportOf(options.common, options.common.seed));
  }

  std::unique_ptr<Driver> driver_;
  Engine engine_;
  Verifier verifier_;
  std::mt19937_64 random_;
  std::vector<Bot> bots_;
  std::vector<std::uint32_t> listeners_;
  ReplyStats replies_[kExpectKinds];
  Histogram directLatency_;
  Histogram shoutLatency_;
  std::uint64_t directSent_ = 0;
  std::uint64_t shoutsSent_ = 0;
  std::uint64_t unsolicited_ = 0;
  std::uint64_t malformed_ = 0;
  std::uint64_t registrationFailures_ = 0;
  std::uint64_t disconnects_ = 0;
  std::vector<std::string> errorSamples_;
  TimeNs chatEnd_ = 0;
  // --plot: the window being filled, and the closed ones.
  PlotPoint window_;
  TimeNs windowStart_ = 0;
  std::vector<PlotPoint> plot_;
};

void StressRun::closeWindow(TimeNs chatStart, TimeNs now) {
  if (now <= windowStart_) return;
  window_.atSeconds = static_cast<double>(now - chatStart) / 1e9;
  window_.seconds = static_cast<double>(now - windowStart_) / 1e9;
  plot_.push_back(std::move(window_));
  window_ = PlotPoint{};
  windowStart_ = now;
}

bool StressRun::writePlot() const {
  PlotSpec spec;
  spec.title =
      fmt::format("classchat-bench stress: {} bots, latency and load over time", options_.bots);
  spec.xLabel = "seconds since the chat started";
  spec.yLabel = "latency from scheduled send (ms, log scale)";
  spec.yRightLabel = "messages and commands sent per second";
  spec.logY = true;
  PlotSeries p50{"p50 (ms)", {}, false};
  PlotSeries p99{"p99 (ms)", {}, false};
  PlotSeries sent{"sent per second", {}, true};
  for (const PlotPoint& point : plot_) {
    if (point.latency.count() > 0) {
      p50.points.emplace_back(point.atSeconds, nsToMs(point.latency.percentile(50)));
      p99.points.emplace_back(point.atSeconds, nsToMs(point.latency.percentile(99)));
    }
    if (point.seconds > 0) {
      sent.points.emplace_back(point.atSeconds, static_cast<double>(point.sent) / point.seconds);
    }
  }
  spec.series = {p50, p99, sent};
  return writeTextFile(options_.common.plotPath, renderSvg(spec));
}

void StressRun::noteError(std::string text) {
  if (errorSamples_.size() < 10) errorSamples_.push_back(std::move(text));
}

void StressRun::onClosed(ClientId client, bool wasReady, std::string_view reason) {
  if (client >= bots_.size()) return;
  if (wasReady) {
    ++disconnects_;
    noteError(fmt::format("{} disconnected: {}", engine_.name(client), reason));
  } else {
    ++registrationFailures_;
    noteError(fmt::format("{} could not register: {}", engine_.name(client), reason));
  }
}

void StressRun::onTimer(ClientId client, std::uint32_t, TimeNs now) {
  Bot& bot = bots_[client];
  // Catch up on every send that fell due, each with its own scheduled time.
  while (bot.schedule.peek() <= now && bot.schedule.peek() < chatEnd_) {
    send(client, bot.schedule.take());
  }
  if (bot.schedule.peek() < chatEnd_) engine_.schedule(bot.schedule.peek(), client, 0);
}

void StressRun::send(ClientId client, TimeNs scheduled) {
  std::string& out = engine_.output(client);
  ++window_.sent;
  const auto target =
      static_cast<Target>(std::uniform_int_distribution<int>(0, kTargets - 1)(random_));
  std::string text;
  Payload payload;
  payload.sender = client;
  payload.scheduled = scheduled;
  Bot& bot = bots_[client];
  switch (target) {
    case Target::kTime:
    case Target::kList: {
      const Expect kind = target == Target::kTime ? Expect::kTime : Expect::kList;
      driver_->appendCommand(out, target == Target::kTime ? "/time" : "/list", "");
      bot.pending.push_back({kind, scheduled});
      replies_[static_cast<int>(kind)].sent++;
      return;
    }
    case Target::kFirstBot: {
      payload.kind = PayloadKind::kDirect;
      payload.recipient = 0;
      payload.seq = verifier_.sentBy(PayloadKind::kDirect, client, 0);
      appendPayload(text, payload, options_.payloadBytes);
      driver_->appendDirect(out, engine_.name(client), engine_.name(0), text);
      verifier_.onSent(PayloadKind::kDirect, client, 0);
      ++directSent_;
      return;
    }
    case Target::kEveryone: {
      // "Everyone" is not a user: the server must answer with an error, and nobody may
      // receive it (a delivery would be counted as misdelivered).
      payload.kind = PayloadKind::kDirect;
      payload.recipient = kAllRecipients - 1;
      appendPayload(text, payload, options_.payloadBytes);
      driver_->appendDirect(out, engine_.name(client), "Everyone", text);
      bot.pending.push_back({Expect::kEveryoneError, scheduled});
      replies_[static_cast<int>(Expect::kEveryoneError)].sent++;
      return;
    }
    case Target::kShout: {
      payload.kind = PayloadKind::kShout;
      payload.recipient = kAllRecipients;
      payload.seq = verifier_.sentBy(PayloadKind::kShout, client, 0);
      appendPayload(text, payload, options_.payloadBytes);
      driver_->appendShout(out, engine_.name(client), text);
      verifier_.onShoutSent(client);
      ++shoutsSent_;
      if (driver_->shoutIsAcknowledged()) {
        bot.pending.push_back({Expect::kShoutAck, scheduled});
        replies_[static_cast<int>(Expect::kShoutAck)].sent++;
      }
      return;
    }
  }
}

void StressRun::onIncoming(ClientId client, const Incoming& incoming, TimeNs now) {
  if (client >= bots_.size()) return;
  switch (incoming.kind) {
    case Incoming::Kind::kReply:
    case Incoming::Kind::kError:
    case Incoming::Kind::kWelcome:
      handleReply(client, incoming, now);
      return;
    case Incoming::Kind::kDirect:
      handleMessage(client, incoming, now, false);
      return;
    case Incoming::Kind::kShout:
      handleMessage(client, incoming, now, true);
      return;
    case Incoming::Kind::kMalformed:
      ++malformed_;
      noteError(fmt::format("{} got a malformed frame: {}", engine_.name(client),
                            incoming.text.substr(0, 80)));
      return;
  }
}

void StressRun::handleReply(ClientId client, const Incoming& incoming, TimeNs now) {
  Bot& bot = bots_[client];
  if (bot.pending.empty()) {
    ++unsolicited_;
    noteError(fmt::format("{} got an unrequested server frame: {}", engine_.name(client),
                          incoming.text.substr(0, 80)));
    return;
  }
  const PendingReply pending = bot.pending.front();
  bot.pending.pop_front();
  ReplyStats& stats = replies_[static_cast<int>(pending.kind)];
  const std::string_view text = incoming.text;
  bool right = false;
  switch (pending.kind) {
    case Expect::kTime:
      right = incoming.kind == Incoming::Kind::kReply && text.starts_with("Server time");
      break;
    case Expect::kList:
      right = incoming.kind == Incoming::Kind::kReply &&
              (text.starts_with("Online users") || text.starts_with("You are the only"));
      break;
    case Expect::kShoutAck:
      right = incoming.kind == Incoming::Kind::kReply;
      break;
    case Expect::kEveryoneError:
      right = incoming.kind == Incoming::Kind::kError;
      break;
  }
  stats.answered++;
  stats.latency.record(now - pending.scheduled);
  window_.latency.record(now - pending.scheduled);
  if (!right) {
    stats.wrong++;
    noteError(fmt::format("{}: {} answered with: {}", engine_.name(client),
                          kExpectNames[static_cast<int>(pending.kind)], text.substr(0, 80)));
  }
}

void StressRun::handleMessage(ClientId client, const Incoming& incoming, TimeNs now, bool shout) {
  const PayloadKind kind = shout ? PayloadKind::kShout : PayloadKind::kDirect;
  Payload payload;
  if (!decodePayload(incoming.text, payload) || payload.kind != kind) {
    verifier_.onCorrupt(kind);
    noteError(fmt::format("{} got a corrupted {}: {}", engine_.name(client),
                          shout ? "shout" : "message", incoming.text.substr(0, 80)));
    return;
  }
  const bool fromMatches =
      payload.sender < bots_.size() && incoming.from == engine_.name(payload.sender);
  verifier_.onReceived(payload, client, fromMatches);
  (shout ? shoutLatency_ : directLatency_).record(now - payload.scheduled);
  window_.latency.record(now - payload.scheduled);
}

std::size_t StressRun::pendingReplies() const {
  std::size_t total = 0;
  for (const Bot& bot : bots_) total += bot.pending.size();
  return total;
}

int StressRun::run() {
  const CommonOptions& common = options_.common;
  const CpuTime cpuStart = processCpuTime();
  // Bots spread round-robin over the targets: Bot_1, who every direct message goes to,
  // is on the first, and most senders on others.
  for (std::uint32_t i = 0; i < options_.bots; ++i) {
    engine_.addClient(fmt::format("{}{}", options_.prefix, i + 1), targetOf(i, targets_.size()));
  }
  bots_.resize(options_.bots);
  progress(common, "connecting {} bots", options_.bots);
  engine_.run(nowNs() + secondsToNs(options_.connectTimeout),
              [&] { return engine_.readyCount() + registrationFailures_ >= options_.bots; });
  progress(common, "{} of {} bots registered", engine_.readyCount(), options_.bots);

  std::vector<DuplicateCheck> duplicates;
  if (!options_.skipDuplicateCheck) {
    // The class scenario's first check: a second login with a taken name is refused. With
    // several targets, the first try is on the second target: Bot_1 is on the first.
    const std::string taken = options_.prefix + "1";
    std::string otherCase = taken;
    for (char& c : otherCase)
      c = std::isupper(static_cast<unsigned char>(c)) ? std::tolower(c) : std::toupper(c);
    std::size_t attempt = 0;
    for (const std::string& name : {taken, otherCase}) {
      const ServerTarget& target = targets_[targetOf(++attempt, targets_.size())];
      duplicates.push_back(
          checkDuplicateName(target.address, name, 5 * kSecond, transportOf(common, common.seed)));
      progress(common, "duplicate name '{}': {} ({})", name,
               duplicates.back().passed ? "pass" : "FAIL", duplicates.back().detail);
    }
  }

  for (std::uint32_t i = 0; i < options_.bots; ++i) {
    if (engine_.state(i) == Engine::State::kReady) listeners_.push_back(i);
  }
  verifier_.setShoutListeners(listeners_.empty() ? 0 : listeners_.size() - 1);
  const TimeNs chatStart = nowNs();
  chatEnd_ = chatStart + secondsToNs(options_.duration);
  windowStart_ = chatStart;
  for (const std::uint32_t i : listeners_) {
    bots_[i].schedule = Schedule::uniformGaps(chatStart, secondsToNs(options_.minGap),
                                              secondsToNs(options_.maxGap), common.seed * 7919 + i);
    engine_.schedule(bots_[i].schedule.peek(), i, 0);
  }
  progress(common, "chatting for {} s", options_.duration);
  TimeNs nextProgress = chatStart + kSecond;
  while (nowNs() < chatEnd_) {
    engine_.run(std::min(chatEnd_, nextProgress));
    if (nowNs() >= nextProgress && nowNs() < chatEnd_) {
      closeWindow(chatStart, nowNs());
      progress(common, "{:.0f} s: {} direct, {} shouts sent, {} outstanding",
               nsToMs(nowNs() - chatStart) / 1000, directSent_, shoutsSent_,
               verifier_.outstanding());
      nextProgress += kSecond;
    }
  }
  closeWindow(chatStart, nowNs());
  engine_.run(nowNs() + secondsToNs(options_.drain),
              [&] { return verifier_.outstanding() == 0 && pendingReplies() == 0; });
  const TimeNs end = nowNs();
  if (window_.latency.count() > 0) closeWindow(chatStart, end);
  return report(duplicates, chatStart, end, processCpuTime() - cpuStart);
}

int StressRun::report(const std::vector<DuplicateCheck>& duplicates, TimeNs chatStart, TimeNs end,
                      const CpuTime& cpu) {
  const Tally direct = verifier_.finish(PayloadKind::kDirect);
  const Tally shouts = verifier_.finish(PayloadKind::kShout, listeners_);
  std::uint64_t lostReplies = 0, wrongReplies = 0;
  for (const Bot& bot : bots_) lostReplies += bot.pending.size();
  for (const ReplyStats& stats : replies_) wrongReplies += stats.wrong;

  bool duplicatesPassed = true;
  for (const DuplicateCheck& check : duplicates)
    duplicatesPassed = duplicatesPassed && check.passed;
  const std::uint64_t errors =
      unsolicited_ + malformed_ + wrongReplies + registrationFailures_ + disconnects_;
  const bool passed =
      duplicatesPassed && direct.clean() && shouts.clean() && lostReplies == 0 && errors == 0;
  const double elapsed = static_cast<double>(end - chatStart) / 1e9;

  std::vector<std::string> header = {"kind", "sent",    "expected", "received", "lost",
                                     "dup",  "reorder", "corrupt",  "misdeliv", "wrong"};
  for (const auto& column : latencyColumns()) header.push_back(column);
  Table table(header);
  auto messageRow = [&](const char* name, std::uint64_t sent, const Tally& t, const Histogram& h) {
    std::vector<std::string> row = {name,
                                    formatCount(static_cast<double>(sent)),
                                    formatCount(static_cast<double>(t.expected)),
                                    formatCount(static_cast<double>(t.delivered)),
                                    std::to_string(t.lost),
                                    std::to_string(t.duplicated),
                                    std::to_string(t.reordered),
                                    std::to_string(t.corrupted),
                                    std::to_string(t.misdelivered + t.unexpected),
                                    "-"};
    for (auto& cell : latencyCells(h)) row.push_back(cell);
    table.addRow(row);
  };
  messageRow("direct (to Bot_1)", directSent_, direct, directLatency_);
  messageRow("shout deliveries", shoutsSent_, shouts, shoutLatency_);
  for (int k = 0; k < kExpectKinds; ++k) {
    const ReplyStats& stats = replies_[k];
    std::uint64_t lost = 0;
    for (const Bot& bot : bots_) {
      for (const PendingReply& p : bot.pending) lost += static_cast<int>(p.kind) == k ? 1 : 0;
    }
    std::vector<std::string> row = {kExpectNames[k],
                                    std::to_string(stats.sent),
                                    std::to_string(stats.sent),
                                    std::to_string(stats.answered),
                                    std::to_string(lost),
                                    "-",
                                    "-",
                                    "-",
                                    "-",
                                    std::to_string(stats.wrong)};
    for (auto& cell : latencyCells(stats.latency)) row.push_back(cell);
    table.addRow(row);
  }

  fmt::print("classchat-bench stress: {} bots, {:.1f} s of chat against {}\n", options_.bots,
             options_.duration, describeTargets(targets_));
  for (const DuplicateCheck& check : duplicates) {
    fmt::print("duplicate name '{}': {} ({})\n", check.name, check.passed ? "pass" : "FAIL",
               check.detail);
  }
  fmt::print(
      "registered {}/{} bots; disconnects {}; unrequested server frames {}; malformed "
      "frames {}\n",
      listeners_.size(), options_.bots, disconnects_, unsolicited_, malformed_);
  fmt::print("{}", table.render());
  fmt::print("generator CPU: {:.2f} s user + {:.2f} s system over {:.1f} s ({:.0f}% of one core)\n",
             cpu.user, cpu.system, elapsed, elapsed > 0 ? 100 * cpu.total() / elapsed : 0.0);
  for (const std::string& sample : errorSamples_) fmt::print("  error: {}\n", sample);
  fmt::print("verdict: {}\n", passed ? "PASS" : "FAIL");

  if (!options_.common.jsonPath.empty()) {
    JsonOut json;
    json.beginObject().field("mode", "stress").field("passed", passed);
    json.key("options").beginObject();
    writeTargetsJson(json, options_.common);
    json.field("bots", static_cast<std::uint64_t>(options_.bots))
        .field("duration_s", options_.duration)
        .field("min_gap_s", options_.minGap)
        .field("max_gap_s", options_.maxGap)
        .field("payload_bytes", static_cast<std::uint64_t>(options_.payloadBytes))
        .field("seed", options_.common.seed)
        .endObject();
    json.key("duplicate_name_checks").beginArray();
    for (const DuplicateCheck& check : duplicates) {
      json.beginObject()
          .field("name", check.name)
          .field("passed", check.passed)
          .field("detail", check.detail)
          .endObject();
    }
    json.endArray();
    json.field("registered", static_cast<std::uint64_t>(listeners_.size()))
        .field("registration_failures", registrationFailures_)
        .field("disconnects", disconnects_)
        .field("unrequested_server_frames", unsolicited_)
        .field("malformed_frames", malformed_)
        .field("lost_replies", lostReplies)
        .field("wrong_replies", wrongReplies)
        .field("errors", errors);
    json.key("direct").beginObject().field("sent", directSent_).key("tally");
    writeTallyJson(json, direct);
    json.key("latency");
    writeLatencyJson(json, directLatency_);
    json.endObject();
    json.key("shout").beginObject().field("sent", shoutsSent_).key("tally");
    writeTallyJson(json, shouts);
    json.key("latency");
    writeLatencyJson(json, shoutLatency_);
    json.endObject();
    const char* keys[kExpectKinds] = {"time", "list", "shout_ack", "everyone_error"};
    json.key("replies").beginObject();
    for (int k = 0; k < kExpectKinds; ++k) {
      json.key(keys[k])
          .beginObject()
          .field("sent", replies_[k].sent)
          .field("answered", replies_[k].answered)
          .field("wrong", replies_[k].wrong)
          .key("latency");
      writeLatencyJson(json, replies_[k].latency);
      json.endObject();
    }
    json.endObject();
    json.key("generator")
        .beginObject()
        .field("cpu_user_s", cpu.user)
        .field("cpu_system_s", cpu.system)
        .field("wall_s", elapsed)
        .field("bytes_out", engine_.counters().bytesOut)
        .field("bytes_in", engine_.counters().bytesIn)
        .endObject();
    json.key("error_samples").beginArray();
    for (const std::string& sample : errorSamples_) json.value(sample);
    json.endArray().endObject();
    if (!writeTextFile(options_.common.jsonPath, json.str() + "\n")) {
      fmt::print(stderr, "cannot write {}: {}\n", options_.common.jsonPath, std::strerror(errno));
      return 1;
    }
  }
  if (!options_.common.plotPath.empty() && !writePlot()) {
    fmt::print(stderr, "cannot write {}: {}\n", options_.common.plotPath, std::strerror(errno));
    return 1;
  }
  return passed ? 0 : 1;
}

}  // namespace

void addStressOptions(CLI::App& app, StressOptions& options) {
  addCommonOptions(app, options.common, true);
  app.add_option("--bots", options.bots, "Number of bots")
      ->capture_default_str()
      ->check(CLI::Range(1u, 20000u));
  app.add_option("--duration", options.duration, "Seconds of chatting")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 600.0));
  app.add_option("--min-gap", options.minGap, "Shortest pause between one bot's sends (s)")
      ->capture_default_str()
      ->check(CLI::Range(0.0001, 60.0));
  app.add_option("--max-gap", options.maxGap, "Longest pause between one bot's sends (s)")
      ->capture_default_str()
      ->check(CLI::Range(0.0001, 60.0));
  app.add_option("--payload-bytes", options.payloadBytes,
                 "Size of each message text (at least 64: the verification header)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{64}, std::size_t{60000}));
  app.add_option("--prefix", options.prefix, "Bot names are <prefix>1 .. <prefix>N")
      ->capture_default_str();
  app.add_option("--connect-timeout", options.connectTimeout, "Seconds for every bot to register")
      ->capture_default_str();
  app.add_option(
         "--drain", options.drain,
         "Seconds to wait after the chat for outstanding deliveries before counting them lost")
      ->capture_default_str();
  app.add_flag("--skip-duplicate-check", options.skipDuplicateCheck,
               "Do not test that a taken name is refused");
  addForceOption(app, options.common, "its bots' shouts reach");
  addTransportOption(app, options.common);
}

int runStress(const StressOptions& options) {
  EngineOptions engineOptions;
  if (options.common.transport == "ws") engineOptions.maxPendingLogins = kWebSocketPendingLogins;
  std::vector<ServerTarget> targets;
  if (const std::string error = resolveTargets(options.common, targets); !error.empty()) {
    fmt::print(stderr, "classchat-bench: {}\n", error);
    return 2;
  }
  engineOptions.servers = addressesOf(targets);
  if (const std::string error = configureTls(options.common, engineOptions); !error.empty()) {
    fmt::print(stderr, "classchat-bench: {}\n", error);
    return 2;
  }
  if (const int status = refuseIfOthersOnline(options.common, targets, "stress", options.prefix)) {
    return status;
  }
  StressRun run(options, engineOptions, std::move(targets));
  return run.run();
}

}  // namespace classchat::bench
