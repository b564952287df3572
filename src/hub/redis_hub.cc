#include "hub/redis_hub.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "hub/cluster_node.h"
#include "hub/lua_scripts.h"
#include "protocol/names.h"

namespace classchat::hub {
namespace {

using server::ClaimOutcome;
using server::ClaimResult;
using server::DirectStatus;

std::string lowerAscii(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return lower;
}

RedisScript script(std::string_view name, std::string_view source) {
  return RedisScript(std::string(name), std::string(source));
}

// A script's reply that should start with a status word (claim, reassert, sweep).
bool startsWith(const RedisReply& reply, std::string_view word) {
  return reply.isArray() && !reply.elements().empty() && reply.elements()[0].str() == word;
}

// Commands more than this many arguments long are split, so one call never holds Redis for
// long (route.lua and release.lua run in O(arguments)).
constexpr std::size_t kMaxPairsPerCall = 8192;
// Names one release.lua call frees at most. Each costs several writes and goes into the
// `leave` list every node receives. A loop's iteration closes at most 1,024 connections
// (EventLoop's events per wait), but releases kept while the link was down all leave at
// once when it returns: in calls of 1,000 (as the janitor's), Redis serves its other
// clients, lease renewals among them, between the calls.
constexpr std::size_t kMaxReleasesPerCall = 1000;
constexpr std::size_t kReassertChunk = 2000;

}  // namespace

RedisHub::RedisHub(net::EventLoop& loop, std::uint32_t loopIndex,
                   std::unique_ptr<server::LocalHub> local, server::LocalDelivery& delivery,
                   ClusterNode& node)
    : loop_(loop),
      loopIndex_(loopIndex),
      local_(std::move(local)),
      delivery_(delivery),
      node_(node),
      claimScript_(script("claim", kClaimScript)),
      releaseScript_(script("release", kReleaseScript)),
      routeScript_(script("route", kRouteScript)),
      shoutScript_(script("shout", kShoutScript)),
      statsScript_(script("stats", kStatsScript)),
      actScript_(script("act", kActScript)),
      reassertScript_(script("reassert", kReassertScript)) {
  RedisConnection::Options options;
  options.endpoint = node_.options().endpoint;
  redis_ = std::make_unique<RedisConnection>(loop_, options);
  // Releases that failed while Redis was away are sent again on the next link.
  redis_->setOnUp([this] {
    linkUp_.store(true, std::memory_order_release);
    flushReleases();
  });
  redis_->setOnDown([this] { linkUp_.store(false, std::memory_order_release); });
  redis_->start();
  loop_.addBeforeSleepHook([this] { flush(); });
}

RedisHub::~RedisHub() {
  // The connection fails what is pending inside its destructor: those callbacks must do
  // nothing now, since the loop's sessions (LocalDelivery) are going away too.
  closing_ = true;
  redis_.reset();
}

bool RedisHub::redisUp() const {
  return redis_->isUp();
}

bool RedisHub::useLocal(std::string_view name) const {
  if (node_.options().alwaysRemote || !local_->find(name)) return false;
  // A session of this node holds the name, as far as this node knows. Trust that while the
  // lease is fresh; after a pause past it, Redis knows better (the name may be another
  // node's now), unless Redis cannot be asked at all, when this node's view is the best
  // there is (nobody can claim through an unreachable directory).
  return node_.leaseFresh() || !redisUp();
}

bool RedisHub::overBudget(std::size_t more) const {
  return redis_->pendingBytes() + routes_.bytes.size() + shouts_.size() + more >
         node_.options().maxInFlightBytes;
}

std::optional<ClaimOutcome> RedisHub::claim(std::string_view name, net::ConnectionId connection,
                                            server::ClaimDone done) {
  std::optional<ClaimOutcome> local = local_->claim(name, connection, nullptr);
  if (local->result != ClaimResult::kClaimed) return local;  // taken on this node
  std::string lower = lowerAscii(name);
  const std::uint64_t epoch = node_.epoch();
  if (epoch == 0 || !redisUp()) {
    // No lease (starting, or fenced until the node has re-acquired one) or no link: refuse
    // at once rather than hold the session.
    undoClaim(lower, name, connection, false);
    ClaimOutcome refused;
    refused.result = ClaimResult::kUnavailable;
    refused.name = std::string(name);
    return refused;
  }
  held_[lower] = Held{std::string(name), connection};
  const ClusterKeys& keys = node_.keys();
  const std::string epochText = std::to_string(epoch);
  const std::string connectionText = std::to_string(connection);
  const std::string welcomeCount = std::to_string(server::kClaimPageNames);
  redis_->evalScript(claimScript_,
                     {keys.names, keys.online, keys.nameBytes, keys.lease, keys.nodeNames},
                     {keys.node, epochText, lower, name, connectionText, welcomeCount},
                     [this, lower, spelling = std::string(name), connection,
                      done = std::move(done)](const RedisReply& reply) {
                       if (closing_) return;
                       ClaimOutcome outcome;
                       outcome.name = spelling;
                       if (startsWith(reply, "claimed")) {
                         outcome.result = ClaimResult::kClaimed;
                         outcome.welcome = welcomeFromClaim(reply, spelling);
                       } else {
                         const bool fenced = startsWith(reply, "fenced");
                         const bool lost = reply.isError();
                         outcome.result = startsWith(reply, "taken") ? ClaimResult::kTaken
                                                                     : ClaimResult::kUnavailable;
                         if (lost && !reply.unavailable()) {
                           spdlog::error("cluster: claim.lua failed: {}", reply.str());
                         }
                         // A lost link may have run the claim: release.lua frees it only if it is
                         // ours.
                         undoClaim(lower, spelling, connection, reply.unavailable());
                         // The lease is gone: have the home loop notice at once, not at its next
                         // tick.
                         if (fenced) node_.requestLeaseCheck();
                       }
                       if (done) done(std::move(outcome));
                     });
  return std::nullopt;
}

server::DirectoryPage RedisHub::welcomeFromClaim(const RedisReply& reply,
                                                 std::string_view spelling) {
  server::DirectoryPage page;
  const auto& elements = reply.elements();
  if (elements.size() >= 2) page.online = static_cast<std::size_t>(elements[1].integer());
  for (std::size_t i = 2; i < elements.size(); ++i) page.names.push_back(elements[i].str());
  const auto at = std::lower_bound(
      page.names.begin(), page.names.end(), spelling,
      [](const std::string& a, std::string_view b) { return protocol::nameLess(a, b); });
  page.names.insert(at, std::string(spelling));
  if (page.names.size() > server::kClaimPageNames) page.names.resize(server::kClaimPageNames);
  return page;
}

void RedisHub::undoClaim(const std::string& lower, std::string_view spelling,
                         net::ConnectionId connection, bool releaseInRedis) {
  local_->release(spelling, connection);
  if (const auto found = held_.find(lower);
      found != held_.end() && found->second.connection == connection) {
    held_.erase(found);
  }
  if (releaseInRedis) {
    releases_.push_back(lower);
    releases_.push_back(std::to_string(connection));
  }
}

void RedisHub::release(std::string_view name, net::ConnectionId connection) {
  local_->release(name, connection);
  std::string lower = lowerAscii(name);
  if (const auto found = held_.find(lower);
      found != held_.end() && found->second.connection == connection) {
    held_.erase(found);
  }
  releases_.push_back(std::move(lower));
  releases_.push_back(std::to_string(connection));
}

void RedisHub::checkOwnerGone(std::string_view name, std::function<void()> then) {
  // The LocalHub asks the loop of a holder on this node; a holder elsewhere is not asked
  // (its node releases the name when it reads the close), and `then` runs later anyway.
  local_->checkOwnerGone(name, std::move(then));
}

std::optional<server::DirectoryStats> RedisHub::readStats(std::string_view self,
                                                          server::StatsDone done) {
  if (!redisUp()) {
    return server::DirectoryStats{local_->onlineCount(), local_->onlineNameBytes(),
                                  self.empty() ? std::nullopt : local_->rankOf(self), true};
  }
  // stats.lua ranks the exact registered spelling; a user of this node may be asked for
  // in another case.
  if (const std::optional<server::OnlineUser> user =
          self.empty() ? std::nullopt : local_->find(self)) {
    self = user->name;
  }
  redis_->evalScript(statsScript_, {node_.keys().online, node_.keys().nameBytes}, {self, "0", "0"},
                     [this, done = std::move(done)](const RedisReply& reply) {
                       if (closing_ || !done) return;
                       server::DirectoryStats stats;
                       const auto& e = reply.elements();
                       if (!reply.isArray() || e.size() < 3) {
                         stats.online = local_->onlineCount();
                         stats.unavailable = true;
                       } else {
                         stats.online = static_cast<std::size_t>(e[0].integer());
                         stats.nameBytes = static_cast<std::size_t>(e[1].integer());
                         if (e[2].integer() >= 0) {
                           stats.selfRank = static_cast<std::size_t>(e[2].integer());
                         }
                       }
                       done(stats);
                     });
  return std::nullopt;
}

std::optional<server::DirectoryPage> RedisHub::readNames(std::size_t first, std::size_t count,
                                                         server::PageDone done) {
  if (!redisUp()) {
    server::DirectoryPage page;
    page.online = local_->onlineCount();
    page.unavailable = true;
    return page;
  }
  const std::string firstText = std::to_string(first);
  const std::string countText = std::to_string(std::min<std::size_t>(count, 1000));
  redis_->evalScript(statsScript_, {node_.keys().online, node_.keys().nameBytes},
                     {"", firstText, countText},
                     [this, done = std::move(done)](const RedisReply& reply) {
                       if (closing_ || !done) return;
                       server::DirectoryPage page;
                       const auto& e = reply.elements();
                       if (!reply.isArray() || e.size() < 3) {
                         page.online = local_->onlineCount();
                         page.unavailable = true;
                       } else {
                         page.online = static_cast<std::size_t>(e[0].integer());
                         for (std::size_t i = 3; i < e.size(); ++i)
                           page.names.push_back(e[i].str());
                       }
                       done(std::move(page));
                     });
  return std::nullopt;
}

server::DirectOutcome RedisHub::sendDirect(const server::DirectMessage& message) {
  if (useLocal(message.to)) return local_->sendDirect(message);  // never touches Redis
  if (!redisUp()) return {DirectStatus::kUnavailable, {}};
  // The piece the recipient's node turns into the frame: "<sender> <ip> <length>\n<msg>".
  char length[24];
  const auto lengthEnd = std::to_chars(length, length + sizeof length, message.msg.size()).ptr;
  const std::size_t piece = message.senderName.size() + 1 + message.senderIp.size() + 1 +
                            static_cast<std::size_t>(lengthEnd - length) + 1 + message.msg.size();
  const std::size_t cost = 2 * message.to.size() + 2 * piece;  // the batch, then the envelope
  if (overBudget(cost)) {
    shedToRedis_.fetch_add(1, std::memory_order_relaxed);
    return {DirectStatus::kShed, {}};
  }
  RouteBatch::Item item{};
  item.lowerOffset = static_cast<std::uint32_t>(routes_.bytes.size());
  item.lowerLength = static_cast<std::uint32_t>(message.to.size());
  for (const char c : message.to) {
    routes_.bytes.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  const std::string_view lower(routes_.bytes.data() + item.lowerOffset, item.lowerLength);
  if (const auto found = routes_.groups.find(lower); found != routes_.groups.end()) {
    item.group = found->second;
  } else {
    item.group = static_cast<std::uint32_t>(routes_.groups.size());
    routes_.groups.emplace(std::string(lower), item.group);
  }
  routes_.bytes.append(message.senderName);
  routes_.bytes.push_back(' ');
  routes_.bytes.append(message.senderIp);
  routes_.bytes.push_back(' ');
  routes_.bytes.append(length, lengthEnd);
  routes_.bytes.push_back('\n');
  routes_.bytes.append(message.msg);
  item.pieceLength = static_cast<std::uint32_t>(piece);
  routes_.bytes.append(message.to);
  item.toLength = static_cast<std::uint32_t>(message.to.size());
  item.sender = message.senderConnection;
  routes_.items.push_back(item);
  return {DirectStatus::kSent, {}};
}

server::SendResult RedisHub::broadcast(std::string_view frame, net::ConnectionId except) {
  const server::SendResult local = local_->broadcast(frame, except);
  if (!redisUp()) return server::SendResult::kUnavailable;
  if (overBudget(frame.size() + 16)) {
    shedToRedis_.fetch_add(1, std::memory_order_relaxed);
    return server::SendResult::kShed;
  }
  fmt::format_to(std::back_inserter(shouts_), "{}\n", frame.size());
  shouts_.append(frame);
  return local;
}

std::optional<server::ActOutcome> RedisHub::actOnName(std::string_view name,
                                                      server::SessionAction action,
                                                      server::ActDone done) {
  if (useLocal(name)) return local_->actOnName(name, std::move(action), nullptr);
  if (!redisUp()) return server::ActOutcome{false, {}, true};
  const ClusterKeys& keys = node_.keys();
  const std::string lower = lowerAscii(name);
  // The registered spelling, read just before the act in the same pipeline (act.lua only
  // says whether it found the name).
  auto spelling = std::make_shared<std::string>();
  redis_->command({"HGET", keys.names, lower}, [spelling](const RedisReply& reply) {
    if (!reply.isString()) return;
    // "<node> <epoch> <connection> <spelling>"
    std::string_view record = reply.str();
    for (int field = 0; field < 3; ++field) {
      const std::size_t space = record.find(' ');
      if (space == std::string_view::npos) return;
      record.remove_prefix(space + 1);
    }
    *spelling = std::string(record);
  });
  redis_->evalScript(
      actScript_, {keys.names}, {keys.prefix, lower, ClusterNode::encodeAction(action)},
      [this, spelling, asked = std::string(name), done = std::move(done)](const RedisReply& reply) {
        if (closing_ || !done) return;
        server::ActOutcome outcome;
        if (!reply.isInteger()) {
          outcome.unavailable = true;
        } else if (reply.integer() == 1) {
          outcome.found = true;
          outcome.name = spelling->empty() ? asked : *spelling;
        }
        done(std::move(outcome));
      });
  return std::nullopt;
}

void RedisHub::actOnAddress(std::string address, server::SessionAction action) {
  local_->actOnAddress(address, action);
  if (!redisUp()) return;
  // "addr <origin node> <address length>\n<address><action>"; every other node applies it.
  std::string payload = fmt::format("addr {} {}\n", node_.keys().node, address.size());
  payload += address;
  payload += ClusterNode::encodeAction(action);
  redis_->command({"PUBLISH", node_.keys().control, payload}, [](const RedisReply&) {});
}

void RedisHub::flush() {
  flushReleases();
  flushRoutes();
  flushShouts();
}

void RedisHub::flushReleases() {
  if (releases_.empty() || !redisUp()) return;  // kept for the next link
  const ClusterKeys& keys = node_.keys();
  for (std::size_t from = 0; from < releases_.size(); from += 2 * kMaxReleasesPerCall) {
    const std::size_t to = std::min(releases_.size(), from + 2 * kMaxReleasesPerCall);
    auto pairs = std::make_shared<std::vector<std::string>>(
        releases_.begin() + static_cast<std::ptrdiff_t>(from),
        releases_.begin() + static_cast<std::ptrdiff_t>(to));
    std::vector<std::string_view> args{keys.prefix, keys.node};
    args.insert(args.end(), pairs->begin(), pairs->end());
    redis_->evalScript(releaseScript_, {keys.names, keys.online, keys.nameBytes, keys.nodeNames},
                       args, [this, pairs](const RedisReply& reply) {
                         if (closing_ || !reply.unavailable()) return;
                         // Not sent, or the link went with it: send again on the next link
                         // (release.lua frees a name only if this session still holds it).
                         releases_.insert(releases_.end(), pairs->begin(), pairs->end());
                       });
  }
  releases_.clear();
}

void RedisHub::flushRoutes() {
  if (routes_.items.empty()) return;
  auto batch = std::make_shared<RouteBatch>(std::move(routes_));
  routes_ = RouteBatch{};
  routes_.bytes.reserve(batch->bytes.capacity());
  RouteBatch& b = *batch;
  // Group the messages by recipient (a counting sort keeps each group in sending order),
  // then lay each group's pieces out as its envelope.
  const std::size_t groups = b.groups.size();
  b.groupStart.assign(groups + 1, 0);
  for (const RouteBatch::Item& item : b.items) ++b.groupStart[item.group + 1];
  for (std::size_t g = 0; g < groups; ++g) b.groupStart[g + 1] += b.groupStart[g];
  b.order.resize(b.items.size());
  std::vector<std::uint32_t> next(b.groupStart.begin(), b.groupStart.end() - 1);
  std::size_t envelopeBytes = 0;
  for (std::uint32_t i = 0; i < b.items.size(); ++i) {
    b.order[next[b.items[i].group]++] = i;
    envelopeBytes += b.items[i].pieceLength;
  }
  const std::string_view bytes = b.bytes;
  b.envelopes.reserve(envelopeBytes);
  b.envelopeStart.assign(groups + 1, 0);
  for (std::size_t g = 0; g < groups; ++g) {
    for (std::uint32_t k = b.groupStart[g]; k < b.groupStart[g + 1]; ++k) {
      const RouteBatch::Item& item = b.items[b.order[k]];
      b.envelopes.append(bytes.substr(item.lowerOffset + item.lowerLength, item.pieceLength));
    }
    b.envelopeStart[g + 1] = static_cast<std::uint32_t>(b.envelopes.size());
  }
  const ClusterKeys& keys = node_.keys();
  std::vector<std::string_view> args;
  const std::string_view envelopes = b.envelopes;
  for (std::size_t from = 0; from < groups; from += kMaxPairsPerCall) {
    const std::size_t to = std::min(groups, from + kMaxPairsPerCall);
    args.clear();
    args.push_back(keys.prefix);
    for (std::size_t g = from; g < to; ++g) {
      const RouteBatch::Item& first = b.items[b.order[b.groupStart[g]]];
      args.push_back(bytes.substr(first.lowerOffset, first.lowerLength));
      args.push_back(
          envelopes.substr(b.envelopeStart[g], b.envelopeStart[g + 1] - b.envelopeStart[g]));
    }
    routeCalls_.fetch_add(1, std::memory_order_relaxed);
    remoteDirectOut_.fetch_add(b.groupStart[to] - b.groupStart[from], std::memory_order_relaxed);
    redis_->evalScript(
        routeScript_, {keys.names}, args, [this, batch, from, to](const RedisReply& reply) {
          if (closing_) return;
          const RouteBatch& sent = *batch;
          auto tell = [&](std::size_t group, DirectStatus why) {
            for (std::uint32_t k = sent.groupStart[group]; k < sent.groupStart[group + 1]; ++k) {
              const RouteBatch::Item& item = sent.items[sent.order[k]];
              delivery_.directFailed(
                  item.sender,
                  std::string_view(sent.bytes)
                      .substr(item.lowerOffset + item.lowerLength + item.pieceLength,
                              item.toLength),
                  why);
            }
          };
          if (!reply.isArray()) {
            // Redis is away (or refused the script): every sender is told.
            for (std::size_t g = from; g < to; ++g) tell(g, DirectStatus::kUnavailable);
            return;
          }
          for (const RedisReply& missing : reply.elements()) {
            const std::int64_t index = missing.integer();  // 1-based
            if (index < 1 || static_cast<std::size_t>(index) > to - from) continue;
            tell(from + static_cast<std::size_t>(index) - 1, DirectStatus::kNotFound);
          }
        });
  }
}

void RedisHub::flushShouts() {
  if (shouts_.empty()) return;
  // "<origin node>\n" then the shouts: receivers skip their own node's (delivered already).
  std::string payload = node_.keys().node;
  payload.push_back('\n');
  payload += shouts_;
  shouts_.clear();
  redis_->evalScript(shoutScript_, {node_.keys().online}, {node_.keys().prefix, payload},
                     [](const RedisReply& reply) {
                       if (reply.isError() && !reply.unavailable()) {
                         spdlog::error("cluster: shout.lua failed: {}", reply.str());
                       }
                     });
}

void RedisHub::reassert(std::uint64_t epoch, std::function<void(bool)> done) {
  // Only this loop's own sessions: every loop re-asserts its own.
  auto all = std::make_shared<std::vector<Held>>();
  all->reserve(held_.size());
  for (const auto& [lower, held] : held_) all->push_back(held);
  reassertChunk(epoch, std::move(all), 0, std::move(done));
}

void RedisHub::reassertChunk(std::uint64_t epoch, std::shared_ptr<std::vector<Held>> all,
                             std::size_t from, std::function<void(bool)> done) {
  if (from >= all->size()) {
    loop_.post([done = std::move(done)] { done(true); });
    return;
  }
  const std::size_t to = std::min(all->size(), from + kReassertChunk);
  const ClusterKeys& keys = node_.keys();
  auto strings = std::make_shared<std::vector<std::string>>();
  strings->reserve(3 * (to - from) + 1);
  strings->push_back(std::to_string(epoch));
  for (std::size_t i = from; i < to; ++i) {
    strings->push_back(lowerAscii((*all)[i].spelling));
    strings->push_back((*all)[i].spelling);
    strings->push_back(std::to_string((*all)[i].connection));
  }
  std::vector<std::string_view> args{keys.node};
  args.insert(args.end(), strings->begin(), strings->end());
  redis_->evalScript(
      reassertScript_, {keys.names, keys.online, keys.nameBytes, keys.lease, keys.nodeNames}, args,
      [this, epoch, all, from, to, done = std::move(done)](const RedisReply& reply) mutable {
        if (closing_) return;
        if (!startsWith(reply, "ok")) {
          if (reply.isError() && !reply.unavailable()) {
            spdlog::error("cluster: reassert.lua failed: {}", reply.str());
          }
          done(false);
          return;
        }
        const auto& e = reply.elements();
        node_.counters().reasserted.fetch_add(to - from - (e.size() - 1),
                                              std::memory_order_relaxed);
        for (std::size_t k = 1; k < e.size(); ++k) {
          const std::int64_t index = e[k].integer();
          if (index < 1 || static_cast<std::size_t>(index) > to - from) continue;
          const Held& lost = (*all)[from + static_cast<std::size_t>(index) - 1];
          // Still this session's? It may have left while the call was in flight.
          const auto found = held_.find(lowerAscii(lost.spelling));
          if (found == held_.end() || found->second.connection != lost.connection) continue;
          spdlog::warn(
              "cluster: '{}' was taken on another node while this one was fenced; "
              "disconnecting its session here",
              lost.spelling);
          node_.counters().takenWhileFenced.fetch_add(1, std::memory_order_relaxed);
          // The session's close releases the name locally; release.lua then leaves the
          // other node's record alone (it is not this session's).
          delivery_.actLocal(lost.connection, node_.options().takenWhileFenced);
        }
        reassertChunk(epoch, std::move(all), to, std::move(done));
      });
}

}  // namespace classchat::hub
