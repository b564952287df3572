// Serialises chat messages as the compact, newline-terminated JSON the server sends.
#pragma once

#include <string>
#include <string_view>

namespace classchat::protocol {

// Appends `text` to `out` as a JSON string literal, quotes included. Escapes '"', '\\'
// and control characters; other bytes are copied as they are, so `text` must be
// valid UTF-8 for the output to be valid JSON.
void appendJsonString(std::string& out, std::string_view text);

// Appends one wire frame:
//   {"from":{"name":<fromName>,"ip":<fromIp>},"to":<to>,"msg":<msg>}\n
void appendMessageFrame(std::string& out, std::string_view fromName, std::string_view fromIp,
                        std::string_view to, std::string_view msg);

// Appends a frame from the server ({"name":"SERVER","ip":"0.0.0.0"}) to `to`: the one
// way every server reply, error and notice is written.
void appendServerFrame(std::string& out, std::string_view to, std::string_view msg);
// The same as a new string, for a frame kept or sent outside a ChatLoop.
std::string serverFrame(std::string_view to, std::string_view msg);

// Bytes a frame adds around its four string values once escaped: the fixed keys,
// punctuation and newline. Used to size replies that must fit kSmallReplyBytes.
std::size_t frameOverheadBytes();

// An upper bound, within a few dozen bytes, on the frame that relaying one client message
// can produce when the client's whole JSON object is at most `maxMessageBytes` long: the
// envelope with the longest name, address and recipient, plus `msg` re-escaped. Escaping
// never makes `msg` longer than it was in the object: every byte the writer escapes
// ('"', '\\', a control) had to be escaped in the client's JSON too, with at least as
// many bytes (a control without a short escape is \u00XX both ways; simdjson refuses
// unescaped ones). A connection's output limit must hold at least this much, or the
// recipient of one legal message is dropped as a slow consumer.
std::size_t maxRelayedFrameBytes(std::size_t maxMessageBytes);

}  // namespace classchat::protocol
