// How src/net reports a failed set-up system call.
#pragma once

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

namespace classchat::net {

// Set-up failures (socket, bind, listen, epoll) end the process with a clear message:
// throws std::runtime_error("<what>: <strerror(errno)>"), which classchatd's main() logs
// before exiting 1. Never on the network path, where errors close one connection instead.
[[noreturn]] inline void dieWithErrno(std::string_view what) {
  throw std::runtime_error(std::string(what) + ": " + std::strerror(errno));
}

}  // namespace classchat::net
