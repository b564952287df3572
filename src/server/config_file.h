// Reading the files an operator gives the server (--accounts, --bans).
#pragma once

#include <optional>
#include <string>

namespace classchat::server {

// The whole text of `path`, or nullopt with `error` set to "PATH: why" (no such file,
// not readable). With `missingIsEmpty`, a file that does not exist reads as empty text.
std::optional<std::string> readConfigFile(const std::string& path, bool missingIsEmpty,
                                          std::string& error);

}  // namespace classchat::server
