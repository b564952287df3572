#include "protocol/names.h"

#include <fmt/format.h>
#include <array>

#include "protocol/utf8.h"

namespace classchat::protocol {
namespace {

char lowerAscii(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool isNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

// Compared once '_', '-' and '.' are removed and case is ignored, so that `Server.`,
// `SERVER_` or `s-e-r-v-e-r` cannot pass for the server in a chat window.
constexpr std::array<std::string_view, 3> kReservedNames = {"server", "everyone", "guest"};

bool isSeparator(char c) {
  return c == '_' || c == '-' || c == '.';
}

// `name` (already checked to be name characters) without separators equals `reserved`
// (lower case), ignoring case.
bool looksLike(std::string_view name, std::string_view reserved) {
  std::size_t next = 0;
  for (char c : name) {
    if (isSeparator(c)) continue;
    if (next == reserved.size() || lowerAscii(c) != reserved[next]) return false;
    ++next;
  }
  return next == reserved.size();
}

}  // namespace

NameVerdict checkName(std::string_view name) {
  if (name.empty()) return NameVerdict::kEmpty;
  if (name.front() == '/') return NameVerdict::kReserved;
  if (name.size() > kMaxNameLength) return NameVerdict::kTooLong;
  for (char c : name) {
    if (!isNameChar(c)) return NameVerdict::kBadCharacter;
  }
  for (std::string_view reserved : kReservedNames) {
    if (looksLike(name, reserved)) return NameVerdict::kReserved;
  }
  return NameVerdict::kValid;
}

std::string describeRefusal(NameVerdict verdict, std::string_view name) {
  const std::string shown = sanitizeForEcho(name);
  switch (verdict) {
    case NameVerdict::kValid:
      return {};
    case NameVerdict::kEmpty:
      return "a username is required: send it as your first bytes (1-32 characters from A-Z a-z "
             "0-9 _ - .)";
    case NameVerdict::kTooLong:
      return fmt::format("invalid username '{}': at most {} characters", shown, kMaxNameLength);
    case NameVerdict::kBadCharacter:
      return fmt::format("invalid username '{}': use only A-Z a-z 0-9 _ - .", shown);
    case NameVerdict::kReserved:
      if (!name.empty() && name.front() == '/') {
        return fmt::format("username '{}' is reserved: names cannot start with '/'", shown);
      }
      return fmt::format(
          "username '{}' is reserved: SERVER, Everyone and Guest cannot be used, in any case "
          "or with _ - . added",
          shown);
  }
  return "invalid username";
}

bool namesEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lowerAscii(a[i]) != lowerAscii(b[i])) return false;
  }
  return true;
}

std::size_t nameHash(std::string_view name) {
  // FNV-1a over the lower-cased bytes: short keys, so a simple hash is fast enough.
  std::uint64_t h = 1469598103934665603ull;
  for (char c : name) {
    h ^= static_cast<unsigned char>(lowerAscii(c));
    h *= 1099511628211ull;
  }
  return static_cast<std::size_t>(h);
}

bool nameLess(std::string_view a, std::string_view b) {
  const std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    const char x = lowerAscii(a[i]);
    const char y = lowerAscii(b[i]);
    if (x != y) return x < y;
  }
  if (a.size() != b.size()) return a.size() < b.size();
  return a < b;  // Same name in another case: keep a total order.
}

}  // namespace classchat::protocol
