#include "client/login.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace classchat::client {
namespace {

// A password is a line; anything longer than this is not a password file.
constexpr std::size_t kMaxPasswordFileBytes = 4096;

bool startsWithIgnoringCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    const char a = text[i] >= 'A' && text[i] <= 'Z' ? static_cast<char>(text[i] + 32) : text[i];
    if (a != prefix[i]) return false;
  }
  return true;
}

}  // namespace

LoginReply classifyLoginReply(std::string_view msg) {
  if (msg.starts_with("'") && msg.find("' is a protected name: log in within ") != msg.npos) {
    return LoginReply::kPasswordRequested;
  }
  if (msg.starts_with("Logged in. ") || msg.starts_with("Logged in as ")) {
    return LoginReply::kLoggedIn;
  }
  if (!msg.starts_with("Error:")) return LoginReply::kOther;
  if (msg.starts_with("Error: wrong password for ")) return LoginReply::kWrongPassword;
  if (msg.starts_with("Error: too many wrong passwords")) return LoginReply::kTooManyAttempts;
  if (msg.starts_with("Error: no /login within ")) return LoginReply::kTimedOut;
  if (msg.starts_with("Error: the server is busy checking passwords") ||
      msg.starts_with("Error: your last /login is still being checked")) {
    return LoginReply::kBusy;
  }
  return LoginReply::kOtherError;
}

std::string_view welcomeAfterLogin(std::string_view msg) {
  if (!msg.starts_with("Logged in")) return msg;
  const std::size_t welcome = msg.find("Welcome ");
  return welcome == msg.npos ? msg : msg.substr(welcome);
}

bool isLoginLine(std::string_view line) {
  while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
  if (!startsWithIgnoringCase(line, "/login")) return false;
  return line.size() == 6 || line[6] == ' ' || line[6] == '\t';
}

std::string describePasswordFileMode(std::string_view path, mode_t mode) {
  if ((mode & (S_IRWXG | S_IRWXO)) == 0) return "";
  return fmt::format(
      "permissions {:04o} for '{}' are too open: a password file must be readable only by "
      "you (chmod 600 '{}')",
      static_cast<unsigned>(mode & 07777), path, path);
}

std::string passwordFromContents(std::string_view contents) {
  std::string_view line = contents.substr(0, contents.find('\n'));
  if (line.ends_with('\r')) line.remove_suffix(1);
  return std::string(line);
}

std::string readPasswordFile(const std::string& path, std::string& password) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return fmt::format("cannot open the password file '{}': {}", path, std::strerror(errno));
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    const int error = errno;
    ::close(fd);
    return fmt::format("cannot read the password file '{}': {}", path, std::strerror(error));
  }
  // Pipes (--password-file <(pass show alice)) are the user's own; only files are checked.
  if (S_ISREG(info.st_mode)) {
    if (std::string problem = describePasswordFileMode(path, info.st_mode); !problem.empty()) {
      ::close(fd);
      return problem;
    }
  }
  std::string contents;
  char buffer[512];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      wipe(contents);
      return fmt::format("cannot read the password file '{}': {}", path, std::strerror(error));
    }
    if (n == 0) break;
    contents.append(buffer, static_cast<std::size_t>(n));
    if (contents.find('\n') != contents.npos || contents.size() > kMaxPasswordFileBytes) break;
  }
  ::explicit_bzero(buffer, sizeof buffer);
  ::close(fd);
  password = passwordFromContents(contents);
  wipe(contents);
  if (password.empty()) return fmt::format("the password file '{}' has an empty first line", path);
  if (password.size() > kMaxPasswordFileBytes) {
    wipe(password);
    return fmt::format("the first line of the password file '{}' is too long for a password", path);
  }
  return "";
}

void wipe(std::string& secret) {
  if (!secret.empty()) ::explicit_bzero(secret.data(), secret.size());
  secret.clear();
}

}  // namespace classchat::client
