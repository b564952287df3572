// libFuzzer target: WebSocket upgrade requests. Whatever the head holds, the check must
// not crash, must answer 101 only with a 28-character accept value, and otherwise a 4xx;
// the origin check must not crash on any Origin and Host.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "transport/http_request.h"
#include "transport/websocket_handshake.h"

using namespace classchat::transport;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  HttpRequestReader reader(HttpLimits{512, 2048, 32});
  reader.append(input);
  const OriginPolicy own;
  const OriginPolicy listed{{"https://chat.example.org", "http://localhost:3000"}};
  while (reader.next() == HttpRequestReader::Status::kComplete) {
    const HttpRequest& request = reader.request();
    for (const OriginPolicy* policy : {&own, &listed}) {
      const WebSocketHandshake result = checkWebSocketHandshake(request, *policy);
      if (result.status == 101 && result.accept.size() != 28) std::abort();
      if (result.status != 101 && (result.status < 400 || result.status > 499)) std::abort();
      if (result.status != 101 && result.reason.empty()) std::abort();
    }
  }
  // Origin and Host straight from the input, split at the first newline.
  const std::size_t newline = input.find('\n');
  const std::string_view origin = input.substr(0, newline);
  const std::string_view host = newline == std::string_view::npos ? "" : input.substr(newline + 1);
  (void)originAllowed(origin, host, own);
  (void)originAllowed(origin, host, listed);
  return 0;
}
