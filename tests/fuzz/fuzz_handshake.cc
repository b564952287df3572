// libFuzzer target: the handshake split, name rules and the echo sanitiser.
//
// Invariants checked: the bare name never contains a terminator or surrounding space, the
// rest is the tail of the input, `terminated` says whether a terminator was there, no
// accepted name spells a reserved one (separators and case aside), refusal texts and
// sanitised echoes are valid UTF-8 and bounded.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "protocol/handshake.h"
#include "protocol/names.h"
#include "protocol/utf8.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace classchat::protocol;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const HandshakeSplit split = splitHandshake(input);
  if (split.name.find_first_of("\n\r{") != std::string_view::npos) std::abort();
  if (!split.name.empty() && (split.name.front() == ' ' || split.name.back() == ' ')) std::abort();
  if (split.rest.size() > input.size() ||
      input.substr(input.size() - split.rest.size()) != split.rest) {
    std::abort();
  }
  if (split.jsonFirst && (split.rest.empty() || split.rest.front() != '{')) std::abort();
  if (split.terminated != (input.find_first_of("\n\r{") != std::string_view::npos)) std::abort();

  const NameVerdict verdict = checkName(split.name);
  if (verdict == NameVerdict::kValid) {
    if (split.name.size() > kMaxNameLength || !isValidUtf8(split.name)) std::abort();
    std::string spelled;
    for (char c : split.name) {
      if (c == '_' || c == '-' || c == '.') continue;
      spelled += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    }
    if (spelled == "server" || spelled == "everyone" || spelled == "guest") std::abort();
  } else {
    const std::string reason = describeRefusal(verdict, split.name);
    if (reason.empty() || !isValidUtf8(reason) || reason.size() > 200) std::abort();
  }
  const std::string echoed = sanitizeForEcho(input, 40);
  if (!isValidUtf8(echoed) || echoed.size() > 43) std::abort();
  return 0;
}
