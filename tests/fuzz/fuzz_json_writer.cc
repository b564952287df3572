// libFuzzer target: the JSON string writer. Any valid UTF-8 text, written as a JSON string,
// must parse back (with simdjson) to exactly the same text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "protocol/json_writer.h"
#include "protocol/utf8.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static simdjson::dom::parser parser;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (!classchat::protocol::isValidUtf8(text)) return 0;
  std::string json;
  classchat::protocol::appendJsonString(json, text);
  std::string_view decoded;
  if (parser.parse(json).get_string().get(decoded) || decoded != text) std::abort();
  return 0;
}
