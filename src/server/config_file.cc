#include "server/config_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace classchat::server {

std::optional<std::string> readConfigFile(const std::string& path, bool missingIsEmpty,
                                          std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (missingIsEmpty && errno == ENOENT) return std::string();
    error = fmt::format("{}: cannot read it ({})", path, std::strerror(errno));
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return std::move(text).str();
}

}  // namespace classchat::server
