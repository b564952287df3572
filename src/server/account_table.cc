#include "server/account_table.h"

#include <vector>

#include <fmt/format.h>

namespace classchat::server {
namespace {

// libsodium's crypto_pwhash_STRBYTES: the longest hash string, terminator included.
constexpr std::size_t kMaxHashBytes = 128;

bool isBlank(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

// Splits a line into fields separated by blanks.
std::vector<std::string_view> fieldsOf(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && isBlank(line[i])) ++i;
    const std::size_t start = i;
    while (i < line.size() && !isBlank(line[i])) ++i;
    if (i > start) fields.push_back(line.substr(start, i - start));
  }
  return fields;
}

}  // namespace

std::optional<AccountTable> AccountTable::parse(std::string_view text, std::string& error) {
  AccountTable table;
  std::size_t lineNumber = 0;
  while (!text.empty()) {
    ++lineNumber;
    const std::size_t end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    const std::vector<std::string_view> fields = fieldsOf(line);
    if (fields.empty() || fields.front().front() == '#') continue;
    if (fields.size() != 3) {
      error = fmt::format("line {}: expected NAME ROLE HASH, found {} field(s)", lineNumber,
                          fields.size());
      return std::nullopt;
    }
    const protocol::NameVerdict verdict = protocol::checkName(fields[0]);
    if (verdict != protocol::NameVerdict::kValid) {
      error = fmt::format("line {}: {}", lineNumber, protocol::describeRefusal(verdict, fields[0]));
      return std::nullopt;
    }
    Account account{std::string(fields[0]), Role::kUser, std::string(fields[2])};
    if (fields[1] == "admin") {
      account.role = Role::kAdmin;
    } else if (fields[1] != "user") {
      error = fmt::format("line {}: the role must be 'user' or 'admin'", lineNumber);
      return std::nullopt;
    }
    if (!account.hash.starts_with("$argon2id$") || account.hash.size() >= kMaxHashBytes) {
      error = fmt::format(
          "line {}: the hash must be an argon2id string from classchatd --hash-password",
          lineNumber);
      return std::nullopt;
    }
    if (table.accounts_.contains(account.name)) {
      error = fmt::format("line {}: '{}' is listed twice", lineNumber, account.name);
      return std::nullopt;
    }
    std::string key = account.name;
    table.accounts_.emplace(std::move(key), std::move(account));
  }
  return table;
}

const Account* AccountTable::find(std::string_view name) const {
  const auto found = accounts_.find(std::string(name));
  return found == accounts_.end() ? nullptr : &found->second;
}

}  // namespace classchat::server
