#include "client/line_splitter.h"

namespace classchat::client {

std::optional<std::string> LineSplitter::next() {
  const std::size_t newline = buffer_.find('\n', start_);
  std::string line;
  if (newline != std::string::npos) {
    line = buffer_.substr(start_, newline - start_);
    start_ = newline + 1;
  } else if (finished_ && start_ < buffer_.size()) {
    line = buffer_.substr(start_);
    start_ = buffer_.size();
  } else {
    return std::nullopt;
  }
  // Drop what was handed out once it is most of the buffer, so memory stays bounded.
  if (start_ > 4096 && start_ * 2 > buffer_.size()) {
    buffer_.erase(0, start_);
    start_ = 0;
  }
  return line;
}

}  // namespace classchat::client
