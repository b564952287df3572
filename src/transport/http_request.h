// A small, strict HTTP/1.x request reader for classchatd's HTTP port.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace classchat::transport {

struct HttpLimits {
  std::size_t maxRequestLine = 4096;  // method, target and version (414 beyond)
  std::size_t maxHeaderBytes = 8192;  // the whole head, request line included (431 beyond)
  std::size_t maxHeaders = 64;        // header fields (431 beyond)
};

struct HttpRequest {
  std::string method;                                        // as sent; methods are case-sensitive
  std::string target;                                        // origin-form: starts with '/'
  std::string path;                                          // target without its query
  int minorVersion = 1;                                      // HTTP/1.0 or HTTP/1.1
  std::vector<std::pair<std::string, std::string>> headers;  // names as sent
  bool keepAlive = true;  // what the client asked for, by version and Connection

  // The first header named `name` (ASCII case-insensitive).
  std::optional<std::string_view> header(std::string_view name) const;
};

// Reads requests from a byte stream, one head at a time. Only heads without a body are
// accepted (GET and HEAD, or any method with no body: the caller decides on 405): a request
// that announces a body is refused, since nothing the server serves takes one, and an unread
// body would otherwise be parsed as the next request.
//
// Strictness follows RFC 9112: one request line of three parts, HTTP/1.0 or HTTP/1.1, header
// names are tokens with no space before the colon, no obs-fold, no control bytes in values,
// Host required in HTTP/1.1. Lines may end in CRLF or a bare LF (RFC 9112 2.2 allows a
// recipient to accept the latter). Every limit is checked before the bytes are kept, so a
// client can never make the reader hold more than HttpLimits::maxHeaderBytes.
//
// Thread-safety: none; one reader per connection.
class HttpRequestReader {
 public:
  enum class Status {
    kNeedMore,  // no whole head yet
    kComplete,  // request() holds the next request
    kError,     // errorStatus()/errorReason(); the connection should be answered and closed
  };

  explicit HttpRequestReader(HttpLimits limits = {}) : limits_(limits) {}

  // Adds bytes read from the peer. Bytes after a complete head stay buffered for the next
  // request (pipelining), but never more than the head limit.
  void append(std::string_view bytes);
  // Tries to take the next request out of the buffered bytes.
  Status next();

  const HttpRequest& request() const { return request_; }
  int errorStatus() const { return errorStatus_; }
  const std::string& errorReason() const { return errorReason_; }
  // Bytes buffered and not yet part of a returned request.
  std::size_t buffered() const { return buffer_.size(); }
  // Hands over the buffered bytes (after an upgrade they belong to another protocol).
  std::string takeBuffered() { return std::exchange(buffer_, {}); }

 private:
  Status fail(int status, std::string reason);
  Status parseHead(std::string_view head);

  HttpLimits limits_;
  std::string buffer_;
  HttpRequest request_;
  int errorStatus_ = 0;
  std::string errorReason_;
  bool failed_ = false;
};

// The reason phrase of the statuses the server sends.
std::string_view httpReasonPhrase(int status);

}  // namespace classchat::transport
