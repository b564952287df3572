#include "hub/redis_connection.h"

#include <hiredis/async.h>

#include <algorithm>
#include <string>
#include <utility>

#include "hub/redis_link.h"
#include "hub/redis_loop_adapter.h"

namespace classchat::hub {
namespace {

// What one pending command is charged against maxPendingBytes beyond its arguments: the
// RESP framing hiredis adds to each argument.
constexpr std::size_t kArgumentOverhead = 16;

// Commands that change how hiredis matches replies to callbacks; they belong to
// RedisSubscriber, and here would break the one-callback-per-reply order.
bool changesReplyMode(std::string_view name) {
  static constexpr std::string_view kModal[] = {"subscribe", "psubscribe", "unsubscribe",
                                                "punsubscribe", "monitor"};
  for (std::string_view modal : kModal) {
    if (name.size() == modal.size() && std::equal(name.begin(), name.end(), modal.begin(),
                                                  [](char a, char b) { return (a | 0x20) == b; })) {
      return true;
    }
  }
  return false;
}

}  // namespace

RedisConnection::RedisConnection(net::EventLoop& loop, Options options)
    : loop_(loop), options_(std::move(options)) {
  link_ = std::make_unique<RedisLink>(
      loop_, options_.endpoint, this,
      [this] {
        knownScripts_.clear();
        if (onUp_) onUp_();
      },
      [this] { handleDown(); });
}

RedisConnection::~RedisConnection() {
  loop_.assertInLoopThread();
  *alive_ = false;
  if (refusedTimer_ != 0) loop_.cancelTimer(refusedTimer_);
  if (progressTimer_ != 0) loop_.cancelTimer(progressTimer_);
  link_.reset();  // hiredis no longer calls back into this object
  failAll("Redis connection closed");
  auto refused = std::move(refused_);
  for (auto& [callback, why] : refused) callback(RedisReply::unavailableError(why));
}

void RedisConnection::start() {
  link_->start();
  if (progressTimer_ == 0) {
    progressTimer_ = loop_.runAfter(progressPeriod(), [this] { checkProgress(); });
  }
}

std::chrono::milliseconds RedisConnection::progressPeriod() const {
  return std::max(options_.replyTimeout / 4, std::chrono::milliseconds(10));
}

void RedisConnection::checkProgress() {
  progressTimer_ = 0;
  if (link_->isUp() && !inflight_.empty() &&
      net::Clock::now() - lastProgress_ > options_.replyTimeout) {
    auto alive = alive_;
    link_->drop("no reply within the reply timeout");  // fails what is pending
    if (!*alive) return;
  }
  progressTimer_ = loop_.runAfter(progressPeriod(), [this] { checkProgress(); });
}

bool RedisConnection::isUp() const {
  return link_ != nullptr && link_->isUp();
}

std::uint64_t RedisConnection::linkWriteEvents() const {
  RedisLoopAdapter* adapter = link_ != nullptr ? link_->adapter() : nullptr;
  return adapter != nullptr ? adapter->writeEvents() : 0;
}

std::uint64_t RedisConnection::connects() const {
  return link_ ? link_->connects() : 0;
}

bool RedisConnection::command(const std::vector<std::string_view>& argv, Callback callback) {
  loop_.assertInLoopThread();
  redisAsyncContext* context = link_ != nullptr ? link_->context() : nullptr;
  if (context == nullptr) {
    refuse(std::move(callback), "not connected to Redis");
    return false;
  }
  if (argv.empty() || changesReplyMode(argv[0])) {
    refuse(std::move(callback), "command not allowed on a RedisConnection");
    return false;
  }
  std::size_t bytes = 0;
  for (std::string_view arg : argv) bytes += arg.size() + kArgumentOverhead;
  if (inflight_.size() >= options_.maxPendingCommands ||
      pendingBytes_ + bytes > options_.maxPendingBytes) {
    refuse(std::move(callback), "too many Redis commands pending");
    return false;
  }
  // Reused between calls: no allocation per command once they have grown.
  static thread_local std::vector<const char*> pointers;
  static thread_local std::vector<std::size_t> lengths;
  pointers.clear();
  lengths.clear();
  for (std::string_view arg : argv) {
    pointers.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  if (redisAsyncCommandArgv(context, &RedisConnection::handleReply, nullptr,
                            static_cast<int>(argv.size()), pointers.data(),
                            lengths.data()) != REDIS_OK) {
    refuse(std::move(callback), "Redis link closing");
    return false;
  }
  if (inflight_.empty()) lastProgress_ = net::Clock::now();
  inflight_.push_back(Pending{std::move(callback), bytes});
  pendingBytes_ += bytes;
  return true;
}

void RedisConnection::handleReply(::redisAsyncContext* context, void* reply, void*) {
  RedisLink* link = RedisLink::of(context);
  if (link == nullptr) return;  // the connection is being destroyed; it failed the callbacks
  auto* self = static_cast<RedisConnection*>(link->owner());
  if (self->inflight_.empty()) return;
  Pending pending = std::move(self->inflight_.front());
  self->inflight_.pop_front();
  self->pendingBytes_ -= pending.bytes;
  self->lastProgress_ = net::Clock::now();
  // A null reply: the link is being torn down with this command unanswered.
  pending.callback(RedisReply::fromHiredis(static_cast<const redisReply*>(reply)));
}

void RedisConnection::refuse(Callback callback, std::string_view why) {
  if (!*alive_) {  // inside the destructor: no later point to defer to
    callback(RedisReply::unavailableError(why));
    return;
  }
  refused_.emplace_back(std::move(callback), std::string(why));
  if (refusedTimer_ == 0) {
    refusedTimer_ = loop_.runAfter(net::Clock::duration::zero(), [this] {
      refusedTimer_ = 0;
      deliverRefused();
    });
  }
}

void RedisConnection::deliverRefused() {
  auto refused = std::move(refused_);
  refused_.clear();
  auto alive = alive_;
  for (std::size_t i = 0; i < refused.size(); ++i) {
    if (!*alive) {
      // The connection was destroyed by one of these callbacks; the rest still run once.
      for (++i; i < refused.size(); ++i) {
        refused[i].first(RedisReply::unavailableError(refused[i].second));
      }
      return;
    }
    refused[i].first(RedisReply::unavailableError(refused[i].second));
  }
}

void RedisConnection::failAll(std::string_view why) {
  auto inflight = std::move(inflight_);
  inflight_.clear();
  pendingBytes_ = 0;
  for (auto& pending : inflight) pending.callback(RedisReply::unavailableError(why));
}

void RedisConnection::handleDown() {
  // hiredis already failed what was pending when the link died; this is a safety net.
  auto alive = alive_;
  failAll("connection to Redis lost");
  if (!*alive) return;
  knownScripts_.clear();
  if (onDown_) onDown_();
}

bool RedisConnection::evalScript(const RedisScript& script,
                                 const std::vector<std::string_view>& keys,
                                 const std::vector<std::string_view>& args, Callback callback) {
  return sendScript(script, keys, args, true, std::move(callback));
}

bool RedisConnection::sendScript(const RedisScript& script,
                                 const std::vector<std::string_view>& keys,
                                 const std::vector<std::string_view>& args, bool retryOnNoScript,
                                 Callback callback) {
  const bool known = knownScripts_.contains(script.sha1());
  const std::string keyCount = std::to_string(keys.size());
  std::vector<std::string_view> argv;
  argv.reserve(3 + keys.size() + args.size());
  argv.push_back(known ? "EVALSHA" : "EVAL");
  argv.push_back(known ? script.sha1() : script.source());
  argv.push_back(keyCount);
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());

  // Only an EVALSHA can meet NOSCRIPT; only then are the arguments kept for a retry.
  std::vector<std::string> saved;
  if (known && retryOnNoScript) saved.assign(argv.begin() + 3, argv.end());
  auto onReply = [this, alive = alive_, script = &script, keyCount = keys.size(),
                  saved = std::move(saved), known, retryOnNoScript,
                  callback = std::move(callback)](const RedisReply& reply) mutable {
    if (*alive && !reply.unavailable()) {
      if (reply.hasErrorCode("NOSCRIPT")) {
        knownScripts_.erase(script->sha1());
        if (known && retryOnNoScript) {
          std::vector<std::string_view> retryKeys(saved.begin(), saved.begin() + keyCount);
          std::vector<std::string_view> retryArgs(saved.begin() + keyCount, saved.end());
          sendScript(*script, retryKeys, retryArgs, false, std::move(callback));
          return;
        }
      } else {
        knownScripts_.insert(script->sha1());
      }
    }
    callback(reply);
  };
  return command(argv, std::move(onReply));
}

}  // namespace classchat::hub
