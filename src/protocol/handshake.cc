#include "protocol/handshake.h"

#include "protocol/json_whitespace.h"

namespace classchat::protocol {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && isJsonWhitespace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isJsonWhitespace(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

HandshakeSplit splitHandshake(std::string_view firstRead) {
  HandshakeSplit split;
  const std::size_t firstNonSpace = [&] {
    std::size_t i = 0;
    while (i < firstRead.size() && isJsonWhitespace(firstRead[i])) ++i;
    return i;
  }();
  if (firstNonSpace < firstRead.size() && firstRead[firstNonSpace] == '{') {
    split.jsonFirst = true;
    split.terminated = true;
    split.rest = firstRead.substr(firstNonSpace);
    return split;
  }
  const std::size_t end = firstRead.find_first_of("\n\r{");
  if (end == std::string_view::npos) {
    split.name = trim(firstRead);
    return split;
  }
  split.name = trim(firstRead.substr(0, end));
  split.rest = firstRead.substr(end);
  split.terminated = true;
  return split;
}

}  // namespace classchat::protocol
