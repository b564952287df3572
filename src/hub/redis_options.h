// Where Redis is and how a connection to it behaves.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace classchat::hub {

struct RedisEndpoint {
  // An IP address, or a name resolved by getaddrinfo on every (re)connect, on the loop's
  // thread: a name should resolve locally (/etc/hosts) so that it does not stall the loop.
  std::string host = "127.0.0.1";
  int port = 6379;
  // Reconnection backoff: 100 ms doubling to 2 s, +-20% jitter.
  std::chrono::milliseconds initialBackoff{100};
  std::chrono::milliseconds maxBackoff{2000};
  // A connect that has not completed by then is abandoned (a silent host would otherwise
  // hold it for the kernel's SYN retries, about two minutes).
  std::chrono::milliseconds connectTimeout{2000};
};

}  // namespace classchat::hub
