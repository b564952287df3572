#include "server/ban_list.h"

#include <arpa/inet.h>

#include <charconv>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "protocol/names.h"
#include "protocol/utf8.h"

namespace classchat::server {
namespace {

// system_clock counts nanoseconds in 64 bits, which ends in the year 2262: later ends are
// refused rather than overflowing (found by fuzz_trust_files).
constexpr long long kLatestBanEnd = 9'000'000'000;

std::string_view nextField(std::string_view& rest) {
  while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
  const std::size_t end = rest.find_first_of(" \t");
  const std::string_view field = rest.substr(0, end);
  rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
  return field;
}

bool sameTarget(const Ban& ban, std::string_view target) {
  return ban.address ? ban.target == target : protocol::namesEqual(ban.target, target);
}

bool inForce(const Ban& ban, WallClock::time_point now) {
  return !ban.until || *ban.until > now;
}

}  // namespace

bool isAddress(std::string_view text) {
  if (text.empty() || text.size() > 45) return false;
  const std::string s(text);
  unsigned char buffer[16];
  return ::inet_pton(AF_INET, s.c_str(), buffer) == 1 ||
         ::inet_pton(AF_INET6, s.c_str(), buffer) == 1;
}

std::optional<BanList> BanList::parse(std::string_view text, std::string& error) {
  BanList list;
  std::size_t lineNumber = 0;
  while (!text.empty()) {
    ++lineNumber;
    const std::size_t end = text.find('\n');
    std::string_view rest = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (!rest.empty() && rest.back() == '\r') rest.remove_suffix(1);
    const std::string_view kind = nextField(rest);
    if (kind.empty() || kind.front() == '#') continue;
    Ban ban;
    if (kind == "address") {
      ban.address = true;
    } else if (kind != "name") {
      error = fmt::format("line {}: expected 'name' or 'address' first", lineNumber);
      return std::nullopt;
    }
    ban.target = std::string(nextField(rest));
    if (ban.address ? !isAddress(ban.target)
                    : protocol::checkName(ban.target) != protocol::NameVerdict::kValid) {
      error = fmt::format("line {}: '{}' is not a valid {}", lineNumber,
                          protocol::sanitizeForEcho(ban.target, 40),
                          ban.address ? "address" : "username");
      return std::nullopt;
    }
    const std::string_view until = nextField(rest);
    if (until != "never") {
      long long seconds = 0;
      const auto [ptr, ec] = std::from_chars(until.data(), until.data() + until.size(), seconds);
      if (until.empty() || ec != std::errc() || ptr != until.data() + until.size() || seconds < 0 ||
          seconds > kLatestBanEnd) {
        error = fmt::format("line {}: the end must be 'never' or Unix seconds", lineNumber);
        return std::nullopt;
      }
      ban.until = WallClock::time_point(std::chrono::seconds(seconds));
    }
    ban.by = std::string(nextField(rest));
    if (ban.by.empty()) {
      error = fmt::format("line {}: who banned is missing", lineNumber);
      return std::nullopt;
    }
    if (protocol::checkName(ban.by) != protocol::NameVerdict::kValid) {
      error = fmt::format("line {}: who banned must be a username", lineNumber);
      return std::nullopt;
    }
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
    ban.reason = std::string(rest);
    list.add(std::move(ban));
  }
  return list;
}

std::string BanList::serialize() const {
  std::string out = "# classchatd bans: name|address TARGET never|UNIX-SECONDS BY [REASON]\n";
  for (const Ban& ban : bans_) {
    const std::string until = ban.until
                                  ? std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                                       ban.until->time_since_epoch())
                                                       .count())
                                  : "never";
    out += fmt::format("{} {} {} {}{}{}\n", ban.address ? "address" : "name", ban.target, until,
                       ban.by, ban.reason.empty() ? "" : " ", ban.reason);
  }
  return out;
}

const Ban* BanList::find(std::string_view target, bool address, WallClock::time_point now) const {
  for (const Ban& ban : bans_) {
    if (ban.address == address && sameTarget(ban, target) && inForce(ban, now)) return &ban;
  }
  return nullptr;
}

void BanList::add(Ban ban) {
  // The reason is written on the ban's line: no line breaks or other controls in it, and no
  // blanks at its ends, so that what is written reads back the same.
  for (char& c : ban.reason) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
  }
  const std::size_t first = ban.reason.find_first_not_of(' ');
  ban.reason = first == std::string::npos
                   ? std::string()
                   : ban.reason.substr(first, ban.reason.find_last_not_of(' ') - first + 1);
  remove(ban.target);
  bans_.push_back(std::move(ban));
}

bool BanList::remove(std::string_view target) {
  return std::erase_if(bans_, [&](const Ban& ban) { return sameTarget(ban, target); }) > 0;
}

std::vector<Ban> BanList::active(WallClock::time_point now) {
  std::erase_if(bans_, [&](const Ban& ban) { return !inForce(ban, now); });
  return bans_;
}

std::string describeUntil(const std::optional<WallClock::time_point>& until) {
  if (!until) return "until lifted";
  return fmt::format("until {:%Y-%m-%d %H:%M} UTC",
                     std::chrono::floor<std::chrono::seconds>(*until));
}

}  // namespace classchat::server
