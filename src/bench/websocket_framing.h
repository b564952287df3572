// The client side of RFC 6455 for the bench: the upgrade request, the check of the
// server's 101, masked frames out and unmasked frames in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace classchat::bench {

// Stateless helpers plus a mask generator. Decoding never copies: a decoded frame's
// payload is a view into the caller's input.
//
// Thread-safety: none (the mask generator has state); one per engine, like a Driver.
class WebSocketFraming {
 public:
  enum Opcode : std::uint8_t {
    kContinuation = 0x0,
    kText = 0x1,
    kBinary = 0x2,
    kClose = 0x8,
    kPing = 0x9,
    kPong = 0xA,
  };

  struct Frame {
    std::uint8_t opcode = 0;
    bool fin = false;
    std::string_view payload;  // a view into the decoded input
    std::size_t size = 0;      // header and payload: the bytes the frame takes
  };

  enum class Decode : std::uint8_t {
    kFrame,       // `frame` holds the frame at the front of the input
    kIncomplete,  // more bytes are needed
    kError,       // not a frame a server may send (masked, RSV bits, bad control frame)
  };

  // How the server's answer to the upgrade request reads.
  enum class Handshake : std::uint8_t { kAccepted, kIncomplete, kRefused };

  explicit WebSocketFraming(std::uint64_t seed);

  // A Sec-WebSocket-Key: base64 of 16 bytes made from `seed`.
  static std::string makeKey(std::uint64_t seed);
  // base64(SHA-1(key + RFC 6455 GUID)), what the server must answer.
  static std::string acceptFor(std::string_view key);
  // GET /ws with Host, Upgrade, Connection, Sec-WebSocket-Key and Version 13; no Origin
  // (the server allows clients that send none).
  static void appendUpgradeRequest(std::string& out, std::string_view host, std::string_view key);
  // Reads the response head at the front of `input`. kAccepted: `headBytes` is its size.
  // kRefused: `reason` says why (status line, or a wrong Sec-WebSocket-Accept).
  static Handshake checkResponse(std::string_view input, std::string_view expectedAccept,
                                 std::size_t& headBytes, std::string& reason);

  // Appends one final frame masked with a fresh key (clients must mask every frame).
  void appendFrame(std::string& out, std::uint8_t opcode, std::string_view payload);
  // The same with a given key. Public for tests.
  static void appendFrame(std::string& out, std::uint8_t opcode, std::string_view payload,
                          const std::uint8_t mask[4]);

  // Decodes the frame at the front of `input`; frames larger than `maxPayload` are errors.
  static Decode decode(std::string_view input, std::size_t maxPayload, Frame& frame,
                       std::string& error);

 private:
  std::uint64_t state_;  // xorshift64: masks need not be secret here, only present
};

}  // namespace classchat::bench
