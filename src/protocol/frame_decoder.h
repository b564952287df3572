// Splits a client's byte stream into top-level JSON objects.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace classchat::protocol {

// What the decoder reports, in stream order.
class FrameSink {
 public:
  virtual ~FrameSink() = default;
  // One complete top-level object, braces included. The view is valid only during the call.
  virtual void onObject(std::string_view object) = 0;
  // A run of text outside any object that is not whitespace (up to the next '{',
  // newline or the end of the chunk). `text` is the start of the run, at most 64 bytes.
  virtual void onGarbage(std::string_view text) = 0;
  // An object grew past the limit; its remaining bytes are skipped without buffering.
  virtual void onOversize(std::size_t limit) = 0;
};

// Incremental scanner for a stream of JSON objects with or without separators.
//
// It tracks only brace depth and string/escape state, so it finds object boundaries
// without parsing; validation is the message parser's job. Objects that lie inside
// one fed chunk are reported without copying; only an object split across chunks is
// buffered, and that buffer is released once the object completes, so an idle
// decoder holds no heap memory.
//
// Not thread-safe: one decoder per connection, used by the connection's loop.
class FrameDecoder {
 public:
  explicit FrameDecoder(std::size_t maxObjectBytes);

  // Scans `chunk`, reporting every event to `sink` in order.
  void feed(std::string_view chunk, FrameSink& sink);

  // Bytes of an incomplete object held between feeds.
  std::size_t bufferedBytes() const { return partial_.size(); }
  // Heap bytes reserved for that buffer (0 while it fits the string's inline storage).
  std::size_t bufferCapacity() const {
    return partial_.capacity() > std::string().capacity() ? partial_.capacity() : 0;
  }
  bool insideObject() const { return state_ != State::kBetween; }

 private:
  enum class State : std::uint8_t { kBetween, kInObject, kSkipping };

  // Advances string/depth tracking from `p` towards `end`. Returns true with `p` just
  // past the brace that closes the object, or false with `p` == `end`.
  bool track(const char*& p, const char* end);
  void resetObject();
  // Skips one run of text outside objects starting at chunk[i], reporting it.
  void scanGarbage(std::string_view chunk, std::size_t& i, FrameSink& sink);

  std::size_t maxObjectBytes_;
  std::size_t objectBytes_ = 0;
  std::uint32_t depth_ = 0;
  State state_ = State::kBetween;
  bool inString_ = false;
  bool escaped_ = false;
  // Inside a quoted string within garbage (text outside objects), across chunks.
  bool garbageInString_ = false;
  bool garbageEscaped_ = false;
  std::string partial_;
};

}  // namespace classchat::protocol
