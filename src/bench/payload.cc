#include "bench/payload.h"

#include <charconv>

namespace classchat::bench {
namespace {

constexpr std::string_view kMagic = "cb1.";
// Offsets of the fixed fields after the magic.
constexpr std::size_t kKindAt = 4;
constexpr std::size_t kSenderAt = 6;
constexpr std::size_t kRecipientAt = 15;
constexpr std::size_t kSeqAt = 24;
constexpr std::size_t kScheduledAt = 37;
constexpr std::size_t kPadAt = 54;
constexpr std::size_t kCrcDigits = 8;

void appendHex(std::string& out, std::uint64_t value, int digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = digits - 1; i >= 0; --i) out += kHex[(value >> (4 * i)) & 0xF];
}

bool readHex(std::string_view text, std::size_t at, std::size_t digits, std::uint64_t& value) {
  if (at + digits > text.size()) return false;
  const char* first = text.data() + at;
  const auto [end, ec] = std::from_chars(first, first + digits, value, 16);
  return ec == std::errc() && end == first + digits;
}

}  // namespace

std::uint32_t fnv1a(std::string_view bytes) {
  std::uint32_t hash = 2166136261u;
  for (const char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 16777619u;
  }
  return hash;
}

void appendPayload(std::string& out, const Payload& payload, std::size_t totalBytes) {
  const std::size_t start = out.size();
  out += kMagic;
  out += static_cast<char>(payload.kind);
  out += '.';
  appendHex(out, payload.sender, 8);
  out += '.';
  appendHex(out, payload.recipient, 8);
  out += '.';
  appendHex(out, payload.seq, 12);
  out += '.';
  appendHex(out, static_cast<std::uint64_t>(payload.scheduled), 16);
  out += '.';
  // Filler that differs from message to message, so a server replaying an old
  // message's bytes into a new one is caught by the checksum.
  const std::size_t padBytes =
      totalBytes > kMinPayloadBytes ? totalBytes - (kMinPayloadBytes - 1) : 1;
  std::uint64_t state = payload.seq * 0x9E3779B97F4A7C15ull + payload.sender + 1;
  for (std::size_t i = 0; i < padBytes; ++i) {
    state ^= state >> 29;
    state *= 0xBF58476D1CE4E5B9ull;
    out += static_cast<char>('a' + (state >> 59) % 26);
  }
  const std::uint32_t crc = fnv1a(std::string_view(out).substr(start));
  out += '.';
  appendHex(out, crc, kCrcDigits);
}

bool decodePayload(std::string_view text, Payload& out) {
  if (text.size() < kMinPayloadBytes || text.substr(0, kMagic.size()) != kMagic) return false;
  const std::size_t crcDot = text.size() - kCrcDigits - 1;
  std::uint64_t crc = 0;
  if (text[crcDot] != '.' || !readHex(text, crcDot + 1, kCrcDigits, crc) ||
      fnv1a(text.substr(0, crcDot)) != crc) {
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

}  // namespace classchat::bench
