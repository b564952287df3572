// The accounts file (--accounts): who must log in, and who is a teacher (admin).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "protocol/names.h"

namespace classchat::server {

enum class Role { kUser, kAdmin };

struct Account {
  std::string name;  // as written in the file
  Role role = Role::kUser;
  std::string hash;  // argon2id, as printed by crypto_pwhash_str (classchatd --hash-password)
};

// One version of the accounts file. Immutable once parsed, so loops share it freely. Pure:
// no I/O, no libsodium (so the parser can be fuzzed on its own).
class AccountTable {
 public:
  // Parses the file's text: one `NAME ROLE HASH` per line, blank lines and lines starting
  // with '#' ignored. On the first bad line returns nullopt and sets `error` to
  // "line N: what is wrong" (never echoing a hash).
  static std::optional<AccountTable> parse(std::string_view text, std::string& error);

  // The account for `name`, ASCII case-insensitively, or nullptr.
  const Account* find(std::string_view name) const;
  std::size_t size() const { return accounts_.size(); }

 private:
  std::unordered_map<std::string, Account, protocol::NameHash, protocol::NameEqual> accounts_;
};

}  // namespace classchat::server
