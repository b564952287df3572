// A byte queue: append at the back, consume from the front.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace classchat::net {

// Output queue of one connection. Starts empty with no heap memory and returns large
// allocations once drained, so idle connections stay small. Not thread-safe.
class Buffer {
 public:
  void append(std::string_view bytes);
  std::string_view readable() const { return std::string_view(data_).substr(head_); }
  std::size_t size() const { return data_.size() - head_; }
  bool empty() const { return size() == 0; }
  // Drops the first `n` readable bytes.
  void consume(std::size_t n);
  std::size_t capacity() const { return data_.capacity(); }

 private:
  std::string data_;
  std::size_t head_ = 0;  // Bytes before head_ were already consumed.
};

}  // namespace classchat::net
