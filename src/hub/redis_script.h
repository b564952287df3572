// A Lua script run with EVALSHA (RedisConnection::evalScript).
#pragma once

#include <string>
#include <string_view>

namespace classchat::hub {

// Immutable after construction; safe to share between threads. A script passed to
// evalScript must outlive the call's callback (scripts are meant to be long-lived, e.g.
// members of the hub).
class RedisScript {
 public:
  RedisScript(std::string name, std::string source);

  const std::string& name() const { return name_; }
  const std::string& source() const { return source_; }
  // Lower-case hex SHA1 of the source, as Redis names the script (SCRIPT LOAD's reply).
  const std::string& sha1() const { return sha1_; }

  static std::string sha1Hex(std::string_view data);

 private:
  std::string name_;
  std::string source_;
  std::string sha1_;
};

}  // namespace classchat::hub
