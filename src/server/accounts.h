// Protected names (--accounts FILE): the current table, reloadable, and password hashing.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "server/account_table.h"

namespace classchat::server {

// The current AccountTable, replaced as a whole on reload.
//
// Thread-safety: all methods may be called from any thread. Readers take a snapshot
// (a shared_ptr copy under a mutex) on the registration and login paths only, never per
// message.
class Accounts {
 public:
  Accounts() : current_(std::make_shared<const AccountTable>()) {}

  // Reads and parses `path`; on success replaces the table and returns true, otherwise
  // keeps the old one and sets `error` ("FILE: line N: ...").
  bool load(const std::string& path, std::string& error);
  std::shared_ptr<const AccountTable> snapshot() const;

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const AccountTable> current_;  // guarded by mutex_
};

// Hashes a password for the accounts file (argon2id, libsodium's interactive limits).
// Returns nullopt if libsodium fails (out of memory).
std::optional<std::string> hashPassword(std::string_view password);
// Checks `password` against a stored hash. Costs tens of milliseconds and 64 MiB: call it
// off the event loops (PasswordVerifier).
bool verifyPassword(const std::string& hash, std::string_view password);

}  // namespace classchat::server
