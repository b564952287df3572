#include "net/buffer.h"

namespace classchat::net {
namespace {
// Drained buffers bigger than this are freed instead of kept for reuse.
constexpr std::size_t kKeepCapacity = 16 * 1024;
}  // namespace

void Buffer::append(std::string_view bytes) {
  // Slide the unread tail to the front before growing, so a steady stream reuses space.
  if (head_ > 0 && head_ >= data_.size() / 2 && data_.size() + bytes.size() > data_.capacity()) {
    data_.erase(0, head_);
    head_ = 0;
  }
  data_.append(bytes);
}

void Buffer::consume(std::size_t n) {
  head_ += n;
  if (head_ < data_.size()) return;
  head_ = 0;
  if (data_.capacity() > kKeepCapacity) {
    std::string().swap(data_);
  } else {
    data_.clear();
  }
}

}  // namespace classchat::net
