// The text the load generator puts in every message it sends, and its verification.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "bench/clock.h"

namespace classchat::bench {

enum class PayloadKind : char { kDirect = 'd', kShout = 's', kHeartbeat = 'h' };

// Identifies one message: who sent it to whom, its place in the (sender, recipient,
// kind) stream, and when it was scheduled to be sent (CLOCK_MONOTONIC ns).
struct Payload {
  PayloadKind kind = PayloadKind::kDirect;
  std::uint32_t sender = 0;
  std::uint32_t recipient = 0;  // kAllRecipients for a shout
  std::uint64_t seq = 0;
  TimeNs scheduled = 0;
};

inline constexpr std::uint32_t kAllRecipients = 0xFFFFFFFF;

// Wire form, ASCII only so no server needs to escape it:
//   cb2.<kind>.<sender:8 hex>.<recipient:8 hex>.<seq:12 hex>.<scheduled:16 hex>.<pad>.<crc:8 hex>
// <pad> is filler derived from the seq to reach `totalBytes`; <crc> is payloadChecksum over
// every byte before its '.', so any changed byte is detected.
inline constexpr std::size_t kMinPayloadBytes = 64;

// Appends the encoding of `payload`, at least kMinPayloadBytes and otherwise `totalBytes`.
void appendPayload(std::string& out, const Payload& payload, std::size_t totalBytes);

// Parses and checks a received text. False when it is not an intact payload.
bool decodePayload(std::string_view text, Payload& out);

// decodePayload with a memory of the last text it accepted. A shout reaches every
// listener with the same text, so a generator thread reading 1,000 copies of it checks it
// once and compares the other 999 byte for byte (any changed byte still means a full
// decode, which fails). Not thread-safe: one per engine thread.
class PayloadReader {
 public:
  bool decode(std::string_view text, Payload& out);

 private:
  std::string last_;
  Payload lastPayload_;
  bool valid_ = false;
};

// A 32-bit checksum over 8-byte words (FNV-1a, one multiply per byte, was 13% of the
// generator's CPU at a million messages a second). A change to any one 8-byte word of
// the input changes the 64-bit state it is folded from.
std::uint32_t payloadChecksum(std::string_view bytes);

}  // namespace classchat::bench
