#include "hub/redis_reply.h"

#include <hiredis/hiredis.h>

namespace classchat::hub {

RedisReply RedisReply::fromHiredis(const redisReply* reply) {
  if (reply == nullptr) return unavailableError("connection to Redis lost");
  RedisReply out;
  switch (reply->type) {
    case REDIS_REPLY_STRING:
      out.type_ = Type::kString;
      out.str_.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type_ = Type::kStatus;
      out.str_.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type_ = Type::kError;
      out.str_.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type_ = Type::kInteger;
      out.integer_ = reply->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type_ = Type::kArray;
      out.elements_.reserve(reply->elements);
      for (std::size_t i = 0; i < reply->elements; ++i) {
        out.elements_.push_back(fromHiredis(reply->element[i]));
      }
      break;
    default:  // REDIS_REPLY_NIL
      break;
  }
  return out;
}

RedisReply RedisReply::unavailableError(std::string_view why) {
  RedisReply out;
  out.type_ = Type::kError;
  out.unavailable_ = true;
  out.str_ = "UNAVAILABLE ";
  out.str_ += why;
  return out;
}

RedisReply RedisReply::status(std::string_view text) {
  RedisReply out;
  out.type_ = Type::kStatus;
  out.str_ = text;
  return out;
}

bool RedisReply::hasErrorCode(std::string_view code) const {
  return type_ == Type::kError && std::string_view(str_).substr(0, code.size()) == code &&
         (str_.size() == code.size() || str_[code.size()] == ' ');
}

}  // namespace classchat::hub
