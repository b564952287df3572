#include "protocol/frame_decoder.h"

namespace classchat::protocol {
namespace {

constexpr std::size_t kGarbageSnippetBytes = 64;

bool isJsonWhitespace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

}  // namespace

FrameDecoder::FrameDecoder(std::size_t maxObjectBytes) : maxObjectBytes_(maxObjectBytes) {}

bool FrameDecoder::track(char c) {
  if (inString_) {
    if (escaped_) {
      escaped_ = false;
    } else if (c == '\\') {
      escaped_ = true;
    } else if (c == '"') {
      inString_ = false;
    }
    return false;
  }
  switch (c) {
    case '"':
      inString_ = true;
      return false;
    case '{':
      ++depth_;
      return false;
    case '}':
      return --depth_ == 0;
    default:
      return false;
  }
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
        const bool closed = track(c);
        ++i;
        ++objectBytes_;
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
        if (track(c)) resetObject();
        ++i;
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
