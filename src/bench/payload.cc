#include "bench/payload.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace classchat::bench {
namespace {

constexpr std::string_view kMagic = "cb2.";
// Offsets of the fixed fields after the magic.
constexpr std::size_t kKindAt = 4;
constexpr std::size_t kSenderAt = 6;
constexpr std::size_t kRecipientAt = 15;
constexpr std::size_t kSeqAt = 24;
constexpr std::size_t kScheduledAt = 37;
constexpr std::size_t kPadAt = 54;
constexpr std::size_t kCrcDigits = 8;

// The generator writes and checks every message of a run (over a million a second), so
// these work on a buffer sized once, never one push_back per byte.
char* writeHex(char* out, std::uint64_t value, int digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = digits - 1; i >= 0; --i) *out++ = kHex[(value >> (4 * i)) & 0xF];
  return out;
}

// The value of a hex digit, or -1. A table, since from_chars was 11% of the generator's
// CPU reading shouts (four fields per delivery, a million deliveries a second).
constexpr std::array<std::int8_t, 256> kHexValue = [] {
  std::array<std::int8_t, 256> table{};
  table.fill(-1);
  for (int i = 0; i < 10; ++i) table['0' + i] = static_cast<std::int8_t>(i);
  for (int i = 0; i < 6; ++i) {
    table['a' + i] = static_cast<std::int8_t>(10 + i);
    table['A' + i] = static_cast<std::int8_t>(10 + i);
  }
  return table;
}();

bool readHex(std::string_view text, std::size_t at, std::size_t digits, std::uint64_t& value) {
  if (at + digits > text.size()) return false;
  std::uint64_t result = 0;
  for (std::size_t i = at; i < at + digits; ++i) {
    const std::int8_t digit = kHexValue[static_cast<unsigned char>(text[i])];
    if (digit < 0) return false;
    result = result << 4 | static_cast<std::uint64_t>(digit);
  }
  value = result;
  return true;
}

}  // namespace

std::uint32_t payloadChecksum(std::string_view bytes) {
  // Eight bytes per step. Each step (xor a word, multiply by an odd constant, rotate) is a
  // bijection of the state for a fixed word, so two inputs of the same length that differ
  // in any one word end in different 64-bit states; the length is mixed in first.
  constexpr std::uint64_t kOdd = 0x9E3779B97F4A7C15ull;
  std::uint64_t state = 0xCBF29CE484222325ull ^ (bytes.size() * kOdd);
  const char* p = bytes.data();
  std::size_t left = bytes.size();
  auto mix = [&state](std::uint64_t word) {
    state = (state ^ word) * kOdd;
    state = (state << 29) | (state >> 35);
  };
  for (; left >= 8; p += 8, left -= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    mix(word);
  }
  if (left > 0) {
    std::uint64_t word = 0;
    std::memcpy(&word, p, left);
    mix(word);
  }
  state *= kOdd;
  return static_cast<std::uint32_t>(state ^ (state >> 32));
}

void appendPayload(std::string& out, const Payload& payload, std::size_t totalBytes) {
  const std::size_t size = std::max(totalBytes, kMinPayloadBytes);
  const std::size_t start = out.size();
  out.resize(start + size);
  char* const first = out.data() + start;
  char* p = first;
  std::memcpy(p, kMagic.data(), kMagic.size());
  p += kMagic.size();
  *p++ = static_cast<char>(payload.kind);
  *p++ = '.';
  p = writeHex(p, payload.sender, 8);
  *p++ = '.';
  p = writeHex(p, payload.recipient, 8);
  *p++ = '.';
  p = writeHex(p, payload.seq, 12);
  *p++ = '.';
  p = writeHex(p, static_cast<std::uint64_t>(payload.scheduled), 16);
  *p++ = '.';
  // Filler that differs from message to message, so a server replaying an old
  // message's bytes into a new one is caught by the checksum.
  char* const crcDot = first + size - kCrcDigits - 1;
  std::uint64_t state = payload.seq * 0x9E3779B97F4A7C15ull + payload.sender + 1;
  while (p < crcDot) {
    state ^= state >> 29;
    state *= 0xBF58476D1CE4E5B9ull;
    // Five letters from each 64-bit step (12 bits apiece).
    for (int i = 0; i < 5 && p < crcDot; ++i)
      *p++ = static_cast<char>('a' + ((state >> (12 * i)) & 0xFFF) % 26);
  }
  const std::uint32_t crc =
      payloadChecksum(std::string_view(first, static_cast<std::size_t>(crcDot - first)));
  *p++ = '.';
  writeHex(p, crc, kCrcDigits);
}

bool decodePayload(std::string_view text, Payload& out) {
  if (text.size() < kMinPayloadBytes || text.substr(0, kMagic.size()) != kMagic) return false;
  const std::size_t crcDot = text.size() - kCrcDigits - 1;
  std::uint64_t crc = 0;
  if (text[crcDot] != '.' || !readHex(text, crcDot + 1, kCrcDigits, crc) ||
      payloadChecksum(text.substr(0, crcDot)) != crc) {
    return false;
  }
  std::uint64_t sender = 0, recipient = 0, seq = 0, scheduled = 0;
  if (text[kKindAt + 1] != '.' || text[kRecipientAt - 1] != '.' || text[kSeqAt - 1] != '.' ||
      text[kScheduledAt - 1] != '.' || text[kPadAt - 1] != '.' ||
      !readHex(text, kSenderAt, 8, sender) || !readHex(text, kRecipientAt, 8, recipient) ||
      !readHex(text, kSeqAt, 12, seq) || !readHex(text, kScheduledAt, 16, scheduled)) {
    return false;
  }
  const char kind = text[kKindAt];
  if (kind != 'd' && kind != 's' && kind != 'h') return false;
  out.kind = static_cast<PayloadKind>(kind);
  out.sender = static_cast<std::uint32_t>(sender);
  out.recipient = static_cast<std::uint32_t>(recipient);
  out.seq = seq;
  out.scheduled = static_cast<TimeNs>(scheduled);
  return true;
}

bool PayloadReader::decode(std::string_view text, Payload& out) {
  if (valid_ && text == last_) {
    out = lastPayload_;
    return true;
  }
  if (!decodePayload(text, out)) return false;
  last_.assign(text);
  lastPayload_ = out;
  valid_ = true;
  return true;
}

}  // namespace classchat::bench
