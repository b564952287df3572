// UTF-8 validation and safe quoting of untrusted bytes in server replies.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace classchat::protocol {

// True if `text` is well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF).
bool isValidUtf8(std::string_view text);

// Returns `text` made safe to echo back: invalid UTF-8 sequences become U+FFFD,
// and text longer than `maxBytes` is cut at a character boundary and ends in "...".
// The result is valid UTF-8 and may still contain control characters (the JSON
// writer escapes those).
std::string sanitizeForEcho(std::string_view text, std::size_t maxBytes = 40);

}  // namespace classchat::protocol
