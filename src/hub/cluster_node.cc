#include "hub/cluster_node.h"

#include <algorithm>
#include <charconv>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "hub/lua_scripts.h"
#include "hub/redis_hub.h"
#include "protocol/json_writer.h"

namespace classchat::hub {
namespace {

// How often the janitor looks for dead nodes: a killed node's names are free within its
// lease plus this (and a round trip).
constexpr std::chrono::milliseconds kJanitorPeriod{500};
// Names one janitor.lua call frees at most. Redis runs a script alone, so a batch must stay
// short even on a starved machine: at 10,000, a million-session run saw single calls hold
// Redis for seconds (answering BUSY to every node's renewal, which then fenced them all).
// Calls follow each other at once while the script reports more.
constexpr std::string_view kJanitorBatch = "1000";

std::string randomNodeId() {
  std::random_device device;
  const std::uint64_t id = (static_cast<std::uint64_t>(device()) << 32) ^ device();
  return fmt::format("{:016x}", id);
}

// Reads a decimal number and the separator after it from the front of `text`.
bool takeNumber(std::string_view& text, std::uint64_t& value, char separator) {
  const char* end = text.data() + text.size();
  const auto [stop, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || stop == end || *stop != separator) return false;
  text.remove_prefix(static_cast<std::size_t>(stop - text.data()) + 1);
  return true;
}

bool takeWord(std::string_view& text, std::string_view& word, char separator) {
  const std::size_t at = text.find(separator);
  if (at == std::string_view::npos) return false;
  word = text.substr(0, at);
  text.remove_prefix(at + 1);
  return true;
}

}  // namespace

ClusterKeys::ClusterKeys(std::string prefixIn, std::string nodeIn)
    : prefix(std::move(prefixIn)),
      node(std::move(nodeIn)),
      epoch(prefix + "epoch"),
      nodes(prefix + "nodes"),
      names(prefix + "names"),
      online(prefix + "online"),
      nameBytes(prefix + "namebytes"),
      lease(prefix + "lease:" + node),
      nodeNames(prefix + "node:" + node + ":names"),
      inbox(prefix + "inbox:" + node),
      shout(prefix + "shout"),
      control(prefix + "control") {}

ClusterNode::ClusterNode(ClusterOptions options)
    : options_(std::move(options)),
      keys_(options_.prefix, options_.nodeId.empty() ? randomNodeId() : options_.nodeId),
      leaseScript_("lease", std::string(kLeaseScript)),
      janitorScript_("janitor", std::string(kJanitorScript)),
      sweepScript_("sweep", std::string(kSweepScript)) {}

ClusterNode::~ClusterNode() {
  // After the loops stopped: what is pending fails now, and its callbacks must do nothing.
  stopping_ = true;
  *alive_ = false;
  subscriber_.reset();
  redis_.reset();
}

void ClusterNode::addHub(std::uint32_t loopIndex, net::EventLoop& loop, RedisHub* hub) {
  if (loops_.size() <= loopIndex) loops_.resize(loopIndex + 1);
  loops_[loopIndex] = Loop{&loop, hub};
}

void ClusterNode::start() {
  loops_.front().loop->post([this] { startOnHome(); });
}

void ClusterNode::startOnHome() {
  RedisConnection::Options connection;
  connection.endpoint = options_.endpoint;
  redis_ = std::make_unique<RedisConnection>(*loops_.front().loop, connection);
  redis_->setOnUp([this] { checkLease(); });
  redis_->setOnDown([this] {
    if (!stopping_) spdlog::warn("cluster: lost the link to Redis; reconnecting");
  });
  RedisSubscriber::Options subscription;
  subscription.endpoint = options_.endpoint;
  subscriber_ =
      std::make_unique<RedisSubscriber>(*loops_.front().loop, subscription,
                                        [this](std::string_view channel, std::string_view payload) {
                                          handleMessage(channel, payload);
                                        });
  subscriber_->subscribe(keys_.inbox);
  subscriber_->subscribe(keys_.shout);
  subscriber_->subscribe(keys_.control);
  subscriber_->setOnResubscribed([this] {
    if (!subscribedOnce_) {
      subscribedOnce_ = true;
      checkLease();  // the first lease waits for the subscription
      return;
    }
    // Messages published while the subscription was down are lost (DMs, shouts, acts and
    // address bans for this node's users); the directory itself lives in Redis and is not.
    // Make sure it is whole: the lease still ours, and our names asserted.
    counters_.subscriptionCuts.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn(
        "cluster: the subscription to Redis was cut and is restored; messages sent to this "
        "node meanwhile are lost; re-checking the lease and re-asserting names");
    checkLease();
    if (epoch() != 0 && !reasserting_) reassertAll(epoch());
  });
  subscriber_->setOnDown([this] {
    if (!stopping_) spdlog::warn("cluster: the subscription to Redis is down; resubscribing");
  });
  redis_->start();
  subscriber_->start();
  scheduleTicks();
  janitorTimer_ = loops_.front().loop->runAfter(kJanitorPeriod, [this] {
    janitorTimer_ = 0;
    if (!stopping_) runJanitor();
  });
}

void ClusterNode::scheduleTicks() {
  const auto renewEvery = std::min(std::chrono::milliseconds(1000), options_.lease / 3);
  net::EventLoop& home = *loops_.front().loop;
  renewTimer_ = home.runAfter(renewEvery, [this] {
    renewTimer_ = 0;
    if (stopping_) return;
    checkLease();
    scheduleTicks();
  });
}

bool ClusterNode::waitForLease(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  {
    std::unique_lock lock(mutex_);
    if (!changed_.wait_until(lock, deadline, [this] { return leaseHeldOnce_; })) return false;
  }
  // Every loop's own link too, so that the first clients are not refused as "unavailable".
  while (!std::all_of(loops_.begin(), loops_.end(),
                      [](const Loop& loop) { return loop.hub == nullptr || loop.hub->linkUp(); })) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

void ClusterNode::setLeaseHeld() {
  std::lock_guard lock(mutex_);
  leaseHeldOnce_ = true;
  changed_.notify_all();
}

void ClusterNode::stop(std::chrono::milliseconds timeout) {
  if (loops_.empty()) return;
  loops_.front().loop->post([this] { stopOnHome(); });
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [this] { return stopped_; });
}

void ClusterNode::stopOnHome() {
  auto finished = [this] {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    changed_.notify_all();
  };
  if (stopping_) return finished();
  stopping_ = true;
  const std::uint64_t held = heldEpoch_;
  epoch_.store(0, std::memory_order_release);
  net::EventLoop& home = *loops_.front().loop;
  if (renewTimer_ != 0) home.cancelTimer(renewTimer_);
  if (janitorTimer_ != 0) home.cancelTimer(janitorTimer_);
  renewTimer_ = janitorTimer_ = 0;
  if (held == 0 || redis_ == nullptr || !redis_->isUp()) return finished();
  // Dropping the lease lets every janitor free this node's names at once, instead of after
  // the lease; the sessions' own releases follow as they close.
  const std::string epochText = std::to_string(held);
  redis_->evalScript(leaseScript_, {keys_.epoch, keys_.lease, keys_.nodes},
                     {"drop", keys_.node, "1", epochText},
                     [finished](const RedisReply&) { finished(); });
}

void ClusterNode::requestLeaseCheck() {
  if (loops_.empty()) return;
  loops_.front().loop->post([this, alive = alive_] {
    if (*alive) checkLease();
  });
}

void ClusterNode::checkLease() {
  if (stopping_ || leaseCallInFlight_ || redis_ == nullptr || !redis_->isUp()) return;
  if (heldEpoch_ == 0 || epoch() == 0) {
    // (Re-)join only while subscribed: once the names are asserted, other nodes route to
    // this node's inbox, which must be heard.
    if (!reasserting_ && subscriber_->isSubscribed()) acquire();
    return;
  }
  leaseCallInFlight_ = true;
  const std::string ttl = std::to_string(options_.lease.count());
  const std::string epochText = std::to_string(heldEpoch_);
  redis_->evalScript(leaseScript_, {keys_.epoch, keys_.lease, keys_.nodes},
                     {"renew", keys_.node, ttl, epochText},
                     [this, sentAt = std::chrono::steady_clock::now()](const RedisReply& reply) {
                       leaseCallInFlight_ = false;
                       if (stopping_) return;
                       if (reply.isInteger() && reply.integer() == 1) {
                         if (!reasserting_) markFresh(sentAt);
                       } else if (reply.isInteger() && reply.integer() == 0) {
                         fence(
                             "the lease was lost (this node was paused or cut off past "
                             "--node-lease, or Redis restarted or was flushed)");
                       } else if (reply.isError() && !reply.unavailable()) {
                         spdlog::error("cluster: lease renewal failed: {}", reply.str());
                       }
                     });
}

void ClusterNode::markFresh(std::chrono::steady_clock::time_point sentAt) {
  // Redis extended the lease no earlier than the request left, so it holds at least until
  // sentAt + lease (less a margin for the two clocks' rates).
  const auto until = sentAt + options_.lease * 9 / 10;
  freshUntil_.store(until.time_since_epoch().count(), std::memory_order_release);
}

bool ClusterNode::leaseFresh() const {
  return epoch() != 0 && std::chrono::steady_clock::now().time_since_epoch().count() <
                             freshUntil_.load(std::memory_order_acquire);
}

void ClusterNode::fence(std::string_view why) {
  counters_.fenced.fetch_add(1, std::memory_order_relaxed);
  epoch_.store(0, std::memory_order_release);
  freshUntil_.store(0, std::memory_order_release);
  spdlog::warn(
      "cluster: node {} fenced: {}; new registrations are refused until it holds a new lease",
      keys_.node, why);
  checkLease();
}

void ClusterNode::acquire() {
  if (leaseCallInFlight_ || stopping_) return;
  leaseCallInFlight_ = true;
  const std::string ttl = std::to_string(options_.lease.count());
  redis_->evalScript(
      leaseScript_, {keys_.epoch, keys_.lease, keys_.nodes}, {"acquire", keys_.node, ttl, "0"},
      [this, sentAt = std::chrono::steady_clock::now()](const RedisReply& reply) {
        leaseCallInFlight_ = false;
        if (stopping_) return;
        if (!reply.isInteger() || reply.integer() <= 0) {
          if (!reply.unavailable()) spdlog::error("cluster: lease acquire failed: {}", reply.str());
          return;  // the next tick tries again
        }
        const auto epoch = static_cast<std::uint64_t>(reply.integer());
        const bool first = heldEpoch_ == 0;
        heldEpoch_ = epoch;
        counters_.leaseAcquired.fetch_add(1, std::memory_order_relaxed);
        // New claims may go ahead under the new epoch at once: the sweep below only frees
        // names recorded under older ones.
        epoch_.store(epoch, std::memory_order_release);
        if (first) {
          markFresh(sentAt);
          spdlog::info("cluster: node {} holds its lease (epoch {}, --node-lease {} ms)",
                       keys_.node, epoch, options_.lease.count());
          setLeaseHeld();
          return;
        }
        // The node-local directory stays suspect (no local shortcuts) until every loop has
        // re-asserted and the sessions whose names went elsewhere are gone.
        spdlog::warn("cluster: node {} re-acquired its lease (epoch {}); re-asserting names",
                     keys_.node, epoch);
        reassertAll(epoch);
      });
}

void ClusterNode::reassertAll(std::uint64_t epoch) {
  reasserting_ = true;
  roundStartedAt_ = std::chrono::steady_clock::now();
  const std::uint64_t round = ++round_;
  roundPending_ = loops_.size();
  roundOk_ = true;
  net::EventLoop* home = loops_.front().loop;
  for (const Loop& loop : loops_) {
    RedisHub* hub = loop.hub;
    loop.loop->post([this, hub, home, epoch, round, alive = alive_] {
      if (!*alive) return;
      hub->reassert(epoch, [this, home, round, alive](bool ok) {
        home->post([this, round, ok, alive] {
          if (*alive) reasserted(round, ok);
        });
      });
    });
  }
}

void ClusterNode::reasserted(std::uint64_t round, bool ok) {
  if (round != round_) return;
  roundOk_ = roundOk_ && ok;
  if (--roundPending_ != 0) return;
  reasserting_ = false;
  if (!roundOk_) {
    // Redis went away again, or the lease did: start over with a new epoch at the next tick.
    spdlog::warn("cluster: re-asserting names did not complete; retrying with a new lease");
    epoch_.store(0, std::memory_order_release);
    return;
  }
  markFresh(roundStartedAt_);
  sweep(epoch(), "0");
}

void ClusterNode::sweep(std::uint64_t epoch, std::string cursor) {
  if (epoch == 0 || stopping_) return;
  const std::string epochText = std::to_string(epoch);
  redis_->evalScript(
      sweepScript_, {keys_.names, keys_.online, keys_.nameBytes, keys_.lease, keys_.nodeNames},
      {keys_.prefix, keys_.node, epochText, cursor, "1000"},
      [this, epoch](const RedisReply& reply) {
        if (stopping_) return;
        const auto& e = reply.elements();
        if (!reply.isArray() || e.size() < 3 || e[0].str() != "ok") {
          if (reply.isError() && !reply.unavailable()) {
            spdlog::error("cluster: sweep.lua failed: {}", reply.str());
          }
          return;  // a lost lease is noticed by the renewal; stale names wait for the next fence
        }
        counters_.swept.fetch_add(static_cast<std::uint64_t>(e[1].integer()),
                                  std::memory_order_relaxed);
        if (e[2].str() != "0") {
          sweep(epoch, e[2].str());
        } else {
          spdlog::info("cluster: names re-asserted under epoch {}; the directory is whole", epoch);
        }
      });
}

void ClusterNode::runJanitor() {
  auto again = [this] {
    if (janitorTimer_ == 0 && !stopping_) {
      janitorTimer_ = loops_.front().loop->runAfter(kJanitorPeriod, [this] {
        janitorTimer_ = 0;
        if (!stopping_) runJanitor();
      });
    }
  };
  if (janitorInFlight_) return;  // its answer schedules the next run
  if (redis_ == nullptr || !redis_->isUp()) return again();
  janitorInFlight_ = true;
  redis_->evalScript(
      janitorScript_, {keys_.nodes, keys_.names, keys_.online, keys_.nameBytes},
      {keys_.prefix, kJanitorBatch}, [this, again](const RedisReply& reply) {
        janitorInFlight_ = false;
        if (stopping_) return;
        const auto& e = reply.elements();
        if (reply.isArray() && e.size() == 2) {
          if (e[0].integer() > 0) {
            counters_.janitorFreed.fetch_add(static_cast<std::uint64_t>(e[0].integer()),
                                             std::memory_order_relaxed);
            spdlog::info("cluster: freed {} name(s) of dead node(s)", e[0].integer());
          }
          if (e[1].integer() == 1) return runJanitor();  // more: at once
        } else if (reply.isError() && !reply.unavailable()) {
          spdlog::error("cluster: janitor.lua failed: {}", reply.str());
        }
        again();
      });
}

void ClusterNode::handleMessage(std::string_view channel, std::string_view payload) {
  if (loops_.empty() || loops_.front().hub == nullptr) return;
  if (channel == keys_.inbox) {
    deliverInbox(payload);
  } else if (channel == keys_.shout) {
    deliverShouts(payload);
  } else if (channel == keys_.control) {
    deliverControl(payload);
  }
}

void ClusterNode::deliverInbox(std::string_view payload) {
  // Records "<kind> <connection> <spelling> <length>\n<bytes>" (route.lua, act.lua).
  server::LocalHub& local = loops_.front().hub->local();
  while (!payload.empty()) {
    std::string_view kind, spelling;
    std::uint64_t connection = 0, length = 0;
    if (!takeWord(payload, kind, ' ') || !takeNumber(payload, connection, ' ') ||
        !takeWord(payload, spelling, ' ') || !takeNumber(payload, length, '\n') ||
        length > payload.size()) {
      counters_.badRecords.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    const std::string_view bytes = payload.substr(0, length);
    payload.remove_prefix(length);
    const server::Route route{server::kThisNode, connection};
    if (kind == "m") {
      // The envelope: one or more pieces "<sender> <ip> <length>\n<msg>", stamped by the
      // sender's node, in the order they were sent (RedisHub::flushRoutes).
      std::string_view envelope = bytes;
      while (!envelope.empty()) {
        std::string_view sender, ip;
        std::uint64_t msgLength = 0;
        if (!takeWord(envelope, sender, ' ') || !takeWord(envelope, ip, ' ') ||
            !takeNumber(envelope, msgLength, '\n') || msgLength > envelope.size()) {
          counters_.badRecords.fetch_add(1, std::memory_order_relaxed);
          break;
        }
        frame_.clear();
        protocol::appendMessageFrame(frame_, sender, ip, spelling, envelope.substr(0, msgLength));
        envelope.remove_prefix(msgLength);
        counters_.remoteDirectIn.fetch_add(1, std::memory_order_relaxed);
        local.sendTo(route, frame_);
      }
    } else if (kind == "a") {
      server::SessionAction action;
      if (!decodeAction(bytes, action)) {
        counters_.badRecords.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      local.act(route, std::move(action));
    } else {
      counters_.badRecords.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

void ClusterNode::deliverShouts(std::string_view payload) {
  // "<origin node>\n" then "<length>\n<frame>" per shout (RedisHub::flushShouts).
  std::string_view origin;
  if (!takeWord(payload, origin, '\n')) {
    counters_.badRecords.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (origin == keys_.node) return;  // its loops delivered it already
  server::LocalHub& local = loops_.front().hub->local();
  while (!payload.empty()) {
    std::uint64_t length = 0;
    if (!takeNumber(payload, length, '\n') || length > payload.size()) {
      counters_.badRecords.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    // No connection of this node sent it: nobody is excluded (ids are never 0).
    local.broadcast(payload.substr(0, length), 0);
    counters_.remoteShoutsIn.fetch_add(1, std::memory_order_relaxed);
    payload.remove_prefix(length);
  }
}

void ClusterNode::deliverControl(std::string_view payload) {
  std::string_view verb;
  if (!takeWord(payload, verb, ' ')) return;
  // "leave <node> <lower>...": this node keeps no route cache (route.lua looks owners up
  // in Redis), so there is nothing to invalidate.
  if (verb != "addr") return;
  // "addr <origin node> <address length>\n<address><action>" (RedisHub::actOnAddress).
  std::string_view origin;
  std::uint64_t length = 0;
  if (!takeWord(payload, origin, ' ') || !takeNumber(payload, length, '\n') ||
      length > payload.size()) {
    counters_.badRecords.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (origin == keys_.node) return;  // applied locally when it was sent
  server::SessionAction action;
  if (!decodeAction(payload.substr(length), action)) {
    counters_.badRecords.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  loops_.front().hub->local().actOnAddress(std::string(payload.substr(0, length)),
                                           std::move(action));
}

std::string ClusterNode::encodeAction(const server::SessionAction& action) {
  // "<kind> <until, ms since the epoch> <notice length>\n<notice><log reason>"
  const auto until =
      std::chrono::duration_cast<std::chrono::milliseconds>(action.until.time_since_epoch())
          .count();
  std::string out = fmt::format("{} {} {}\n", static_cast<int>(action.kind),
                                std::max<std::int64_t>(0, until), action.notice.size());
  out += action.notice;
  out += action.logReason;
  return out;
}

bool ClusterNode::decodeAction(std::string_view bytes, server::SessionAction& action) {
  std::uint64_t kind = 0, until = 0, noticeLength = 0;
  if (!takeNumber(bytes, kind, ' ') || !takeNumber(bytes, until, ' ') ||
      !takeNumber(bytes, noticeLength, '\n') || noticeLength > bytes.size() ||
      kind > static_cast<std::uint64_t>(server::SessionAction::Kind::kUnmute)) {
    return false;
  }
  action.kind = static_cast<server::SessionAction::Kind>(kind);
  action.until = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::milliseconds(until)));
  action.notice = std::string(bytes.substr(0, noticeLength));
  action.logReason = std::string(bytes.substr(noticeLength));
  return true;
}

}  // namespace classchat::hub
