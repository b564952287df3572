#include "bench/json_out.h"

#include <cmath>
#include <cstdio>

#include <fmt/format.h>

#include "protocol/json_writer.h"

namespace classchat::bench {

void JsonOut::separate() {
  if (afterKey_) {
    afterKey_ = false;
    return;
  }
  if (!first_.empty()) {
    if (!first_.back()) out_ += ',';
    first_.back() = false;
  }
}

JsonOut& JsonOut::beginObject() {
  separate();
  out_ += '{';
  first_.push_back(true);
  return *this;
}

JsonOut& JsonOut::endObject() {
  out_ += '}';
  first_.pop_back();
  return *this;
}

JsonOut& JsonOut::beginArray() {
  separate();
  out_ += '[';
  first_.push_back(true);
  return *this;
}

JsonOut& JsonOut::endArray() {
  out_ += ']';
  first_.pop_back();
  return *this;
}

JsonOut& JsonOut::key(std::string_view name) {
  separate();
  protocol::appendJsonString(out_, name);
  out_ += ':';
  afterKey_ = true;
  return *this;
}

JsonOut& JsonOut::value(std::string_view text) {
  separate();
  protocol::appendJsonString(out_, text);
  return *this;
}

JsonOut& JsonOut::value(double number) {
  separate();
  out_ += std::isfinite(number) ? fmt::format("{:.6g}", number) : "null";
  return *this;
}

JsonOut& JsonOut::value(std::int64_t number) {
  separate();
  out_ += fmt::format("{}", number);
  return *this;
}

JsonOut& JsonOut::value(std::uint64_t number) {
  separate();
  out_ += fmt::format("{}", number);
  return *this;
}

JsonOut& JsonOut::value(bool flag) {
  separate();
  out_ += flag ? "true" : "false";
  return *this;
}

bool writeTextFile(const std::string& path, std::string_view content) {
  if (path == "-") {
    std::fwrite(content.data(), 1, content.size(), stdout);
    return std::fflush(stdout) == 0;
  }
  std::FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) return false;
  const bool ok = std::fwrite(content.data(), 1, content.size(), file) == content.size();
  return std::fclose(file) == 0 && ok;
}

}  // namespace classchat::bench
