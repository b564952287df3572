#include "protocol/frame_decoder.h"

#include <algorithm>

#include "protocol/byte_scan.h"
#include "protocol/json_whitespace.h"

namespace classchat::protocol {
namespace {

constexpr std::size_t kGarbageSnippetBytes = 64;

}  // namespace

FrameDecoder::FrameDecoder(std::size_t maxObjectBytes) : maxObjectBytes_(maxObjectBytes) {}

bool FrameDecoder::track(const char*& p, const char* end) {
  // Only quotes, backslashes (in strings) and braces (outside them) change the state,
  // so the scan jumps from one to the next instead of looking at every byte.
  while (p < end) {
    if (escaped_) {
      escaped_ = false;
      ++p;
    } else if (inString_) {
      p = findAnyOf(p, end, '"', '\\', '"');
      if (p == end) break;
      escaped_ = *p == '\\';
      inString_ = *p != '"';
      ++p;
    } else {
      p = findAnyOf(p, end, '{', '}', '"');
      if (p == end) break;
      const char c = *p++;
      if (c == '"') {
        inString_ = true;
      } else if (c == '{') {
        ++depth_;
      } else if (--depth_ == 0) {
        return true;
      }
    }
  }
  return false;
}

void FrameDecoder::resetObject() {
  state_ = State::kBetween;
  depth_ = 0;
  objectBytes_ = 0;
  inString_ = false;
  escaped_ = false;
  // Free the buffer rather than keep it for reuse: only objects split across reads use
  // it, and an idle connection should hold no heap memory for its decoder.
  std::string().swap(partial_);
}

void FrameDecoder::scanGarbage(std::string_view chunk, std::size_t& i, FrameSink& sink) {
  // A garbage run ends at the next '{' outside a string, at a newline, or with the chunk
  // (each read's garbage gets its own report). Quotes are honoured so that a top-level
  // JSON string such as "a{b" is skipped whole instead of its '{' opening an object that
  // would swallow the messages after it. The quote state carries over to the next chunk,
  // so where reads split the stream never changes which objects are found; a newline
  // always ends it, since JSON strings cannot contain one, so a stray quote costs at most
  // the rest of its line.
  const std::size_t start = i;
  for (; i < chunk.size(); ++i) {
    const char g = chunk[i];
    if (g == '\n') {
      garbageInString_ = false;
      garbageEscaped_ = false;
      break;
    }
    if (garbageEscaped_) {
      garbageEscaped_ = false;
    } else if (garbageInString_) {
      garbageEscaped_ = g == '\\';
      garbageInString_ = g != '"';
    } else if (g == '"') {
      garbageInString_ = true;
    } else if (g == '{') {
      break;
    }
  }
  if (i > start) sink.onGarbage(chunk.substr(start, std::min(i - start, kGarbageSnippetBytes)));
}

void FrameDecoder::feed(std::string_view chunk, FrameSink& sink) {
  // Start of the current object inside `chunk`; 0 when it began in an earlier chunk.
  std::size_t objectStart = 0;
  std::size_t i = 0;
  while (i < chunk.size()) {
    const char c = chunk[i];
    switch (state_) {
      case State::kBetween: {
        if (garbageInString_ || garbageEscaped_) {
          // A quoted string in garbage continues from the previous chunk.
          scanGarbage(chunk, i, sink);
        } else if (c == '{') {
          state_ = State::kInObject;
          objectStart = i;
          depth_ = 1;
          objectBytes_ = 1;
          ++i;
        } else if (isJsonWhitespace(c)) {
          ++i;
        } else {
          scanGarbage(chunk, i, sink);
        }
        break;
      }
      case State::kInObject: {
        // Scan at most one byte past the limit: enough to know the object is too big.
        const std::size_t room = std::min(chunk.size() - i, maxObjectBytes_ + 1 - objectBytes_);
        const char* const from = chunk.data() + i;
        const char* p = from;
        const bool closed = track(p, from + room);
        i += static_cast<std::size_t>(p - from);
        objectBytes_ += static_cast<std::size_t>(p - from);
        if (objectBytes_ > maxObjectBytes_) {
          // Too big, even if this byte closes it: report once, then skip the rest of it
          // while still tracking strings and depth to find where it ends.
          const std::uint32_t depth = depth_;
          const bool inString = inString_;
          const bool escaped = escaped_;
          resetObject();
          if (!closed) {
            state_ = State::kSkipping;
            depth_ = depth;
            inString_ = inString;
            escaped_ = escaped;
          }
          sink.onOversize(maxObjectBytes_);
        } else if (closed) {
          if (partial_.empty()) {
            sink.onObject(chunk.substr(objectStart, i - objectStart));
          } else {
            partial_.append(chunk.data(), i);
            sink.onObject(partial_);
          }
          resetObject();
        }
        break;
      }
      case State::kSkipping: {
        const char* const from = chunk.data() + i;
        const char* p = from;
        if (track(p, chunk.data() + chunk.size())) resetObject();
        i += static_cast<std::size_t>(p - from);
        break;
      }
    }
  }
  if (state_ == State::kInObject) {
    const std::size_t from = partial_.empty() ? objectStart : 0;
    partial_.append(chunk.substr(from));
  }
}

}  // namespace classchat::protocol
