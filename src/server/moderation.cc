#include "server/moderation.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "protocol/utf8.h"
#include "server/config_file.h"

namespace classchat::server {
namespace {

// Writes `text` to `path` so that a crash leaves either the old file or the new one.
bool writeAtomically(const std::string& path, const std::string& text, std::string& error) {
  const std::string temporary = path + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    error = fmt::format("cannot write {}: {}", temporary, std::strerror(errno));
    return false;
  }
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = fmt::format("cannot write {}: {}", temporary, std::strerror(errno));
      ::close(fd);
      return false;
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    error = fmt::format("cannot sync {}: {}", temporary, std::strerror(errno));
    return false;
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    error = fmt::format("cannot rename {} to {}: {}", temporary, path, std::strerror(errno));
    return false;
  }
  // The rename itself is durable once the directory is synced.
  const std::size_t slash = path.rfind('/');
  const std::string directory = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  if (const int dir = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return true;
}

}  // namespace

bool Moderation::load(std::string& error) {
  if (bansPath_.empty()) return true;
  // No file yet is no bans: the first /ban creates it.
  const std::optional<std::string> text = readConfigFile(bansPath_, true, error);
  if (!text) return false;
  std::string parseError;
  std::optional<BanList> list = BanList::parse(*text, parseError);
  if (!list) {
    error = fmt::format("{}: {}", bansPath_, parseError);
    return false;
  }
  std::lock_guard lock(mutex_);
  bans_ = std::move(*list);
  return true;
}

std::optional<Ban> Moderation::banOn(std::string_view target, bool address) const {
  std::lock_guard lock(mutex_);
  const Ban* ban = bans_.find(target, address, WallClock::now());
  return ban == nullptr ? std::nullopt : std::optional<Ban>(*ban);
}

bool Moderation::saveLocked(std::string& error) {
  if (bansPath_.empty()) return true;
  return writeAtomically(bansPath_, bans_.serialize(), error);
}

bool Moderation::ban(Ban ban, std::string& error) {
  std::lock_guard lock(mutex_);
  bans_.add(std::move(ban));
  bans_.active(WallClock::now());
  return saveLocked(error);
}

bool Moderation::unban(std::string_view target, std::string& error) {
  std::lock_guard lock(mutex_);
  if (!bans_.remove(target)) {
    error = fmt::format("'{}' is not banned", protocol::sanitizeForEcho(target, 45));
    return false;
  }
  return saveLocked(error);
}

std::vector<Ban> Moderation::bans() {
  std::lock_guard lock(mutex_);
  return bans_.active(WallClock::now());
}

void Moderation::mute(std::string_view name, WallClock::time_point until) {
  std::lock_guard lock(mutex_);
  mutes_[std::string(name)] = until;
}

std::optional<WallClock::time_point> Moderation::mutedUntil(std::string_view name) const {
  std::lock_guard lock(mutex_);
  const auto found = mutes_.find(name);
  if (found == mutes_.end() || found->second <= WallClock::now()) return std::nullopt;
  return found->second;
}

void Moderation::unmute(std::string_view name) {
  std::lock_guard lock(mutex_);
  mutes_.erase(std::string(name));
}

std::chrono::seconds Moderation::blockedFor(Failures& failures, std::size_t limit,
                                            WallClock::time_point now) {
  if (now - failures.windowStart >= kFailureWindow) failures = Failures{now, 0};
  if (failures.count < limit) return std::chrono::seconds(0);
  return std::chrono::ceil<std::chrono::seconds>(failures.windowStart + kFailureWindow - now);
}

std::chrono::seconds Moderation::loginBlockedFor(std::string_view name, std::string_view address) {
  const auto now = WallClock::now();
  std::lock_guard lock(mutex_);
  return std::max(blockedFor(nameFailures_[std::string(name)], kMaxFailuresPerName, now),
                  blockedFor(addressFailures_[std::string(address)], kMaxFailuresPerAddress, now));
}

void Moderation::loginFailed(std::string_view name, std::string_view address) {
  const auto now = WallClock::now();
  std::lock_guard lock(mutex_);
  for (Failures* failures :
       {&nameFailures_[std::string(name)], &addressFailures_[std::string(address)]}) {
    if (now - failures->windowStart >= kFailureWindow) *failures = Failures{now, 0};
    ++failures->count;
  }
}

void Moderation::loginSucceeded(std::string_view name) {
  std::lock_guard lock(mutex_);
  nameFailures_.erase(std::string(name));
}

}  // namespace classchat::server
