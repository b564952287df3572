// An owned copy of one Redis reply, so that callers never touch hiredis types.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

struct redisReply;  // hiredis's type, only converted from in redis_reply.cc

namespace classchat::hub {

// A plain value: copyable, movable, no thread affinity. Errors come in two kinds, told
// apart by unavailable(): an error Redis sent (a script's error, WRONGTYPE, NOSCRIPT...),
// and an error made here when the command could not be answered (not connected, the link
// was lost with the command in flight, too many commands pending). The second kind means
// "try again later"; the command may or may not have run.
class RedisReply {
 public:
  enum class Type { kNil, kString, kStatus, kInteger, kArray, kError };

  RedisReply() = default;
  // Deep copy of a hiredis reply (nullptr, as hiredis passes on disconnect, gives an
  // unavailable error).
  static RedisReply fromHiredis(const redisReply* reply);
  // An error made by the client: unavailable() is true.
  static RedisReply unavailableError(std::string_view why);
  static RedisReply status(std::string_view text);

  Type type() const { return type_; }
  bool isNil() const { return type_ == Type::kNil; }
  bool isError() const { return type_ == Type::kError; }
  bool unavailable() const { return unavailable_; }
  bool isString() const { return type_ == Type::kString || type_ == Type::kStatus; }
  bool isInteger() const { return type_ == Type::kInteger; }
  bool isArray() const { return type_ == Type::kArray; }

  // The text of a string, status or error reply (empty otherwise).
  const std::string& str() const { return str_; }
  std::int64_t integer() const { return integer_; }
  const std::vector<RedisReply>& elements() const { return elements_; }
  // For an error, whether its text starts with `code` (e.g. "NOSCRIPT").
  bool hasErrorCode(std::string_view code) const;

 private:
  Type type_ = Type::kNil;
  bool unavailable_ = false;
  std::string str_;
  std::int64_t integer_ = 0;
  std::vector<RedisReply> elements_;
};

}  // namespace classchat::hub
