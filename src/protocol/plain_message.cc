#include "protocol/plain_message.h"

#include <simdjson.h>

#include "protocol/byte_scan.h"
#include "protocol/json_whitespace.h"

namespace classchat::protocol {
namespace {

// A cursor over the object's bytes. Every method returns false (and the whole scan
// gives up) at the first byte that is not part of the plain shape.
class PlainScanner {
 public:
  explicit PlainScanner(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}

  bool atEnd() {
    skipWhitespace();
    return p_ == end_;
  }
  bool take(char c) {
    skipWhitespace();
    if (p_ == end_ || *p_ != c) return false;
    ++p_;
    return true;
  }
  // A string with no escapes and no control characters; `out` views its body.
  bool takePlainString(std::string_view& out) {
    if (!take('"')) return false;
    const char* close = findJsonEscape(p_, end_);
    if (close == end_ || *close != '"') return false;
    out = std::string_view(p_, static_cast<std::size_t>(close - p_));
    p_ = close + 1;
    return true;
  }
  // The members of an object whose '{' was just taken, up to its closing '}': for each,
  // takes `"key":` and calls `takeValue(key)`, which reads the value (false stops the scan).
  template <typename TakeValue>
  bool takeMembers(TakeValue&& takeValue) {
    if (take('}')) return true;
    do {
      std::string_view key;
      if (!takePlainString(key) || !take(':') || !takeValue(key)) return false;
    } while (take(','));
    return take('}');
  }

 private:
  void skipWhitespace() {
    while (p_ < end_ && isJsonWhitespace(*p_)) ++p_;
  }

  const char* p_;
  const char* end_;
};

// Sets `slot` once; a second occurrence of the key gives up (the full parser's
// first-match rule is not worth repeating here).
bool setOnce(std::optional<std::string_view>& slot, std::string_view value) {
  if (slot) return false;
  slot = value;
  return true;
}

}  // namespace

bool parsePlainMessage(std::string_view object, ClientMessage& out) {
  PlainScanner scan(object);
  std::optional<std::string_view> to, msg, fromName;
  bool sawFrom = false;
  if (!scan.take('{')) return false;
  const bool shaped = scan.takeMembers([&](std::string_view key) {
    if (key == "from" && scan.take('{')) {
      if (sawFrom) return false;
      sawFrom = true;
      return scan.takeMembers([&](std::string_view innerKey) {
        std::string_view value;
        if (!scan.takePlainString(value)) return false;
        return innerKey != "name" || setOnce(fromName, value);
      });
    }
    std::string_view value;
    if (!scan.takePlainString(value)) return false;
    if (key == "to") return setOnce(to, value);
    if (key == "msg") return setOnce(msg, value);
    return key != "from";  // "from" as a string: the full parser's business
  });
  if (!shaped || !scan.atEnd() || !to) return false;
  // The scan checked the structure; simdjson's validator checks every byte's encoding.
  if (!simdjson::validate_utf8(object.data(), object.size())) return false;
  out = ClientMessage{};
  out.to = *to;
  out.hasTo = true;
  out.msg = msg;
  out.fromName = fromName;
  return true;
}

}  // namespace classchat::protocol
