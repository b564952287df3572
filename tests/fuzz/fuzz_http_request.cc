// libFuzzer target: the HTTP request reader, fed in two pieces, must never crash, never
// hold more than its limit plus the input, and must agree with itself when the same bytes
// come whole.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "transport/http_request.h"

using classchat::transport::HttpRequestReader;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const classchat::transport::HttpLimits limits{256, 1024, 16};

  auto drain = [](HttpRequestReader& reader, int& requests) {
    HttpRequestReader::Status status;
    while ((status = reader.next()) == HttpRequestReader::Status::kComplete) {
      const auto& request = reader.request();
      if (request.target.empty() || request.target.front() != '/') std::abort();
      if (request.minorVersion != 0 && request.minorVersion != 1) std::abort();
      ++requests;
    }
    return status;
  };

  HttpRequestReader whole(limits);
  int wholeRequests = 0;
  whole.append(input);
  const auto wholeStatus = drain(whole, wholeRequests);
  if (wholeStatus == HttpRequestReader::Status::kError &&
      (whole.errorStatus() < 400 || whole.errorStatus() > 505)) {
    std::abort();
  }

  // The same bytes in two reads: the split must not change what is read. (Errors may be
  // found earlier with less input, so only successful runs are compared.)
  HttpRequestReader split(limits);
  int splitRequests = 0;
  const std::size_t cut = size / 2;
  split.append(input.substr(0, cut));
  auto splitStatus = drain(split, splitRequests);
  if (splitStatus != HttpRequestReader::Status::kError) {
    split.append(input.substr(cut));
    splitStatus = drain(split, splitRequests);
  }
  if (wholeStatus == HttpRequestReader::Status::kNeedMore &&
      splitStatus == HttpRequestReader::Status::kNeedMore && splitRequests != wholeRequests) {
    std::abort();
  }
  if (whole.buffered() > limits.maxHeaderBytes + size) std::abort();
  return 0;
}
