// JSON's insignificant whitespace, the one definition of "space" in the wire contract.
#pragma once

namespace classchat::protocol {

// Space, tab, line feed and carriage return (RFC 8259, section 2): what may surround JSON
// tokens, what the frame decoder skips between objects, and what is trimmed around a bare
// username or a command's argument. Thread-safe (pure).
constexpr bool isJsonWhitespace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

}  // namespace classchat::protocol
