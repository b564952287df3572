// Bans: what they are and the --bans file's format.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace classchat::server {

using WallClock = std::chrono::system_clock;

struct Ban {
  std::string target;  // a username, or a numeric IPv4/IPv6 address
  bool address = false;
  std::optional<WallClock::time_point> until;  // nullopt: until lifted
  std::string by;                              // the admin who banned
  std::string reason;                          // may be empty
};

// True if `text` is a numeric IPv4 or IPv6 address (what /ban takes as an address).
bool isAddress(std::string_view text);

// The bans file: one ban per line, `name|address TARGET never|UNIX-SECONDS BY [REASON]`.
// Pure: no locking, no I/O.
class BanList {
 public:
  // On the first bad line returns nullopt and sets `error` to "line N: ...".
  static std::optional<BanList> parse(std::string_view text, std::string& error);
  std::string serialize() const;

  // The ban in force on `name` (case-insensitive) or `address` at `now`, or nullptr.
  const Ban* find(std::string_view target, bool address, WallClock::time_point now) const;
  // Adds or replaces the ban on the same target.
  void add(Ban ban);
  bool remove(std::string_view target);
  // Bans still in force at `now`; expired ones are dropped.
  std::vector<Ban> active(WallClock::time_point now);

 private:
  std::vector<Ban> bans_;
};

// "until 2026-12-01 15:04 UTC" or "until lifted".
std::string describeUntil(const std::optional<WallClock::time_point>& until);

}  // namespace classchat::server
