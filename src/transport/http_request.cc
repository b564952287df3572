#include "transport/http_request.h"

#include <algorithm>
#include <charconv>

namespace classchat::transport {
namespace {

bool equalsIgnoringCase(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    return lower(x) == lower(y);
  });
}

// RFC 9110 5.6.2: tchar.
bool isTokenChar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool isToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), isTokenChar);
}

bool isOptionalWhitespace(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trimOptionalWhitespace(std::string_view s) {
  while (!s.empty() && isOptionalWhitespace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isOptionalWhitespace(s.back())) s.remove_suffix(1);
  return s;
}

// Field values: visible ASCII, obs-text (bytes >= 0x80) and whitespace; never CR, LF, NUL
// or other controls.
bool isValidFieldValue(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u == '\t' || (u >= 0x20 && u != 0x7F);
  });
}

// Request targets: visible ASCII only (RFC 3986 characters and '%').
bool isValidTarget(std::string_view s) {
  return !s.empty() && s.front() == '/' && std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7F;
  });
}

// Splits the next line off `rest` (CRLF or LF), without its terminator.
std::string_view takeLine(std::string_view& rest) {
  const std::size_t lf = rest.find('\n');
  std::string_view line = rest.substr(0, lf);
  rest.remove_prefix(lf == std::string_view::npos ? rest.size() : lf + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

bool hasConnectionToken(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    if (equalsIgnoringCase(trimOptionalWhitespace(value.substr(0, comma)), token)) return true;
    value.remove_prefix(comma == std::string_view::npos ? value.size() : comma + 1);
  }
  return false;
}

}  // namespace

std::optional<std::string_view> HttpRequest::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (equalsIgnoringCase(key, name)) return std::string_view(value);
  }
  return std::nullopt;
}

void HttpRequestReader::append(std::string_view bytes) {
  if (!failed_) buffer_.append(bytes);
}

HttpRequestReader::Status HttpRequestReader::fail(int status, std::string reason) {
  failed_ = true;
  errorStatus_ = status;
  errorReason_ = std::move(reason);
  buffer_.clear();
  buffer_.shrink_to_fit();
  return Status::kError;
}

HttpRequestReader::Status HttpRequestReader::next() {
  if (failed_) return Status::kError;
  // Empty lines before a request line are ignored (RFC 9112 2.2).
  std::size_t start = 0;
  while (start < buffer_.size() && (buffer_[start] == '\r' || buffer_[start] == '\n')) ++start;
  if (start > 0) buffer_.erase(0, start);

  const std::string_view data(buffer_);
  // The head ends at the first empty line: "\n\n" or "\n\r\n".
  std::size_t end = std::string_view::npos;
  for (std::size_t lf = data.find('\n'); lf != std::string_view::npos;
       lf = data.find('\n', lf + 1)) {
    if (lf == 0) continue;
    if (lf + 1 < data.size() && data[lf + 1] == '\n') {
      end = lf + 2;
      break;
    }
    if (lf + 2 < data.size() && data[lf + 1] == '\r' && data[lf + 2] == '\n') {
      end = lf + 3;
      break;
    }
  }
  const std::size_t firstLineEnd = data.find('\n');
  if ((firstLineEnd == std::string_view::npos ? data.size() : firstLineEnd) >
      limits_.maxRequestLine) {
    return fail(414,
                "request line longer than " + std::to_string(limits_.maxRequestLine) + " bytes");
  }
  if (end == std::string_view::npos) {
    if (data.size() > limits_.maxHeaderBytes) {
      return fail(431,
                  "request head longer than " + std::to_string(limits_.maxHeaderBytes) + " bytes");
    }
    return Status::kNeedMore;
  }
  if (end > limits_.maxHeaderBytes) {
    return fail(431,
                "request head longer than " + std::to_string(limits_.maxHeaderBytes) + " bytes");
  }
  const Status status = parseHead(data.substr(0, end));
  if (status == Status::kComplete) buffer_.erase(0, end);
  return status;
}

HttpRequestReader::Status HttpRequestReader::parseHead(std::string_view head) {
  request_ = HttpRequest{};
  std::string_view line = takeLine(head);

  // request-line = method SP request-target SP HTTP-version
  const std::size_t firstSpace = line.find(' ');
  const std::size_t secondSpace =
      firstSpace == std::string_view::npos ? firstSpace : line.find(' ', firstSpace + 1);
  if (secondSpace == std::string_view::npos ||
      line.find(' ', secondSpace + 1) != std::string_view::npos) {
    return fail(400, "malformed request line");
  }
  const std::string_view method = line.substr(0, firstSpace);
  const std::string_view target = line.substr(firstSpace + 1, secondSpace - firstSpace - 1);
  const std::string_view version = line.substr(secondSpace + 1);
  if (!isToken(method)) return fail(400, "malformed method");
  if (!isValidTarget(target)) return fail(400, "the request target must be a path");
  if (version == "HTTP/1.1") {
    request_.minorVersion = 1;
  } else if (version == "HTTP/1.0") {
    request_.minorVersion = 0;
  } else if (version.size() == 8 && version.starts_with("HTTP/") && version[6] == '.') {
    return fail(505, "only HTTP/1.0 and HTTP/1.1 are served");
  } else {
    return fail(400, "malformed HTTP version");
  }
  request_.method = std::string(method);
  request_.target = std::string(target);
  request_.path = std::string(target.substr(0, target.find('?')));

  while (!head.empty()) {
    line = takeLine(head);
    if (line.empty()) break;  // the empty line that ends the head
    if (isOptionalWhitespace(line.front())) return fail(400, "obsolete header line folding");
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return fail(400, "header line without a colon");
    const std::string_view name = line.substr(0, colon);
    if (!isToken(name)) return fail(400, "malformed header name");
    const std::string_view value = trimOptionalWhitespace(line.substr(colon + 1));
    if (!isValidFieldValue(value)) return fail(400, "control character in a header value");
    if (request_.headers.size() == limits_.maxHeaders) {
      return fail(431, "more than " + std::to_string(limits_.maxHeaders) + " header fields");
    }
    request_.headers.emplace_back(std::string(name), std::string(value));
  }

  if (request_.minorVersion == 1 && !request_.header("Host")) {
    return fail(400, "HTTP/1.1 requests need a Host header");
  }
  if (request_.header("Transfer-Encoding")) return fail(501, "request bodies are not accepted");
  if (const auto length = request_.header("Content-Length")) {
    std::size_t value = 0;
    const auto [end, error] =
        std::from_chars(length->data(), length->data() + length->size(), value);
    if (error != std::errc() || end != length->data() + length->size()) {
      return fail(400, "malformed Content-Length");
    }
    if (value != 0) return fail(413, "request bodies are not accepted");
  }
  const auto connection = request_.header("Connection");
  request_.keepAlive = request_.minorVersion == 1
                           ? !(connection && hasConnectionToken(*connection, "close"))
                           : (connection && hasConnectionToken(*connection, "keep-alive"));
  return Status::kComplete;
}

std::string_view httpReasonPhrase(int status) {
  switch (status) {
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 426:
      return "Upgrade Required";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

}  // namespace classchat::transport
