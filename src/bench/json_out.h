// A minimal streaming JSON writer for reports.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace classchat::bench {

// Builds compact JSON; commas are inserted automatically. Misuse (a value where a key
// is needed) is not detected: it is for the bench's own, fixed report shapes.
// Not thread-safe.
class JsonOut {
 public:
  JsonOut& beginObject();
  JsonOut& endObject();
  JsonOut& beginArray();
  JsonOut& endArray();
  JsonOut& key(std::string_view name);
  JsonOut& value(std::string_view text);
  JsonOut& value(const char* text) { return value(std::string_view(text)); }
  JsonOut& value(double number);
  JsonOut& value(std::int64_t number);
  JsonOut& value(std::uint64_t number);
  JsonOut& value(int number) { return value(static_cast<std::int64_t>(number)); }
  JsonOut& value(bool flag);
  // key(name).value(v) in one call.
  template <typename T>
  JsonOut& field(std::string_view name, const T& v) {
    key(name);
    return value(v);
  }
  const std::string& str() const { return out_; }

 private:
  void separate();
  std::string out_;
  std::vector<bool> first_;  // per open container: nothing written yet
  bool afterKey_ = false;
};

// Writes `content` to `path` ("-" is stdout). Returns false (with errno) on failure.
bool writeTextFile(const std::string& path, std::string_view content);

}  // namespace classchat::bench
