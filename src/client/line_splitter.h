// Splits a byte stream (a script on stdin) into lines.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace classchat::client {

// Buffers what has been read and hands out complete lines, without their "\n" (a
// "\r" before it is kept; the input parser drops it). Not thread-safe.
class LineSplitter {
 public:
  void feed(std::string_view bytes) { buffer_.append(bytes); }
  // The input ended: a last line without "\n" still counts.
  void finish() { finished_ = true; }

  // The next complete line, if there is one.
  std::optional<std::string> next();
  // True once finish() was called and every line has been handed out.
  bool exhausted() const { return finished_ && start_ >= buffer_.size(); }

 private:
  std::string buffer_;
  std::size_t start_ = 0;
  bool finished_ = false;
};

}  // namespace classchat::client
