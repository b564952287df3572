// What the teacher decided (bans, kept in --bans FILE, and mutes) and the login throttle.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "protocol/names.h"
#include "server/ban_list.h"

namespace classchat::server {

// Thread-safety: every method may be called from any thread (one mutex, taken on the
// connect, registration, login and moderation paths; never per message).
class Moderation {
 public:
  // `bansPath` empty: bans live in memory only.
  explicit Moderation(std::string bansPath = "") : bansPath_(std::move(bansPath)) {}

  // Reads --bans FILE (a missing file is an empty list). False with `error` if unreadable
  // or malformed; the bans in memory are then kept.
  bool load(std::string& error);

  std::optional<Ban> banOn(std::string_view target, bool address) const;
  // Adds the ban and writes the file atomically (temporary file, fsync, rename). Returns
  // false with `error` if the file could not be written; the ban holds in memory anyway.
  bool ban(Ban ban, std::string& error);
  bool unban(std::string_view target, std::string& error);
  std::vector<Ban> bans();

  void mute(std::string_view name, WallClock::time_point until);
  std::optional<WallClock::time_point> mutedUntil(std::string_view name) const;
  void unmute(std::string_view name);

  // Wrong passwords: at most kMaxFailuresPerName per name and kMaxFailuresPerAddress per
  // address within kFailureWindow. How long until a login may be tried again, or 0.
  static constexpr std::size_t kMaxFailuresPerName = 5;
  static constexpr std::size_t kMaxFailuresPerAddress = 20;
  static constexpr std::chrono::seconds kFailureWindow{300};
  std::chrono::seconds loginBlockedFor(std::string_view name, std::string_view address);
  void loginFailed(std::string_view name, std::string_view address);
  void loginSucceeded(std::string_view name);

 private:
  struct Failures {
    WallClock::time_point windowStart{};
    std::size_t count = 0;
  };
  bool saveLocked(std::string& error);
  static std::chrono::seconds blockedFor(Failures& failures, std::size_t limit,
                                         WallClock::time_point now);

  std::string bansPath_;
  mutable std::mutex mutex_;
  BanList bans_;  // guarded by mutex_
  std::unordered_map<std::string, WallClock::time_point, protocol::NameHash, protocol::NameEqual>
      mutes_;  // guarded by mutex_
  std::unordered_map<std::string, Failures, protocol::NameHash, protocol::NameEqual>
      nameFailures_;                                           // guarded by mutex_
  std::unordered_map<std::string, Failures> addressFailures_;  // guarded by mutex_
};

}  // namespace classchat::server
