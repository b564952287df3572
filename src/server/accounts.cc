#include "server/accounts.h"

#include <sodium.h>

#include <fmt/format.h>

#include "server/config_file.h"

namespace classchat::server {
namespace {

bool ensureSodium() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

}  // namespace

bool Accounts::load(const std::string& path, std::string& error) {
  const std::optional<std::string> text = readConfigFile(path, false, error);
  if (!text) return false;
  std::string parseError;
  std::optional<AccountTable> table = AccountTable::parse(*text, parseError);
  if (!table) {
    error = fmt::format("{}: {}", path, parseError);
    return false;
  }
  auto fresh = std::make_shared<const AccountTable>(std::move(*table));
  std::lock_guard lock(mutex_);
  current_ = std::move(fresh);
  return true;
}

std::shared_ptr<const AccountTable> Accounts::snapshot() const {
  std::lock_guard lock(mutex_);
  return current_;
}

std::optional<std::string> hashPassword(std::string_view password) {
  if (!ensureSodium()) return std::nullopt;
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    return std::nullopt;
  }
  return std::string(out);
}

bool verifyPassword(const std::string& hash, std::string_view password) {
  if (!ensureSodium()) return false;
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

}  // namespace classchat::server
