// The classchat JSON wire contract (PROTOCOL.md) as a bench Driver.
#pragma once

#include <string>

#include <simdjson.h>

#include "bench/driver.h"

namespace classchat::bench {

// Sends the bare username, then compact JSON objects built with src/protocol's writer.
// Reads JSON objects with the protocol's FrameDecoder, so any framing works: one per line
// (classchatd), or back to back with no separator (the class's original Python server).
// Classifies them by from.name and to: SERVER frames are welcome / reply / error, frames
// to "Everyone" are shouts, the rest direct messages. Field order and whitespace do not
// matter; text outside objects is reported as kMalformed.
//
// Not thread-safe (holds a simdjson parser): one per engine.
class ClassChatDriver final : public Driver {
 public:
  std::string_view name() const override { return "classchat"; }
  void appendLogin(std::string& out, std::string_view user) override;
  void appendDirect(std::string& out, std::string_view from, std::string_view to,
                    std::string_view text) override;
  void appendShout(std::string& out, std::string_view from, std::string_view text) override;
  bool appendCommand(std::string& out, std::string_view command, std::string_view arg) override;
  bool shoutIsAcknowledged() const override { return true; }
  std::size_t parse(std::string_view input, IncomingSink& sink) override;

  // Parses one frame (one JSON object). Public for tests.
  Incoming parseFrame(std::string_view line);

  // A reply larger than this is reported as kMalformed and skipped (classchatd's own
  // messages are at most its --max-message-bytes, 64 KiB by default, plus escaping).
  static constexpr std::size_t kMaxFrameBytes = 1 << 20;

 private:
  static Incoming classify(std::string_view from, std::string_view to, std::string_view msg);

  void appendRequest(std::string& out, std::string_view from, std::string_view to,
                     std::string_view msg);
  simdjson::dom::parser parser_;
  std::string scratch_;  // the frame, copied with simdjson's padding after it
};

}  // namespace classchat::bench
