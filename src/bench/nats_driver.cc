#include "bench/nats_driver.h"

#include <algorithm>
#include <charconv>

namespace classchat::bench {
namespace {

constexpr std::string_view kShoutSubject = "all";
constexpr std::string_view kUserPrefix = "u.";
constexpr std::string_view kDirectSid = "1";
// How much of a bad line an Incoming carries, for the bench's error notes.
constexpr std::size_t kQuoteBytes = 100;

// The next space- or tab-separated token of `rest`, removed from it; empty at the end.
std::string_view nextToken(std::string_view& rest) {
  const std::size_t start = rest.find_first_not_of(" \t");
  if (start == std::string_view::npos) {
    rest = {};
    return {};
  }
  rest.remove_prefix(start);
  const std::size_t end = std::min(rest.find_first_of(" \t"), rest.size());
  const std::string_view token = rest.substr(0, end);
  rest.remove_prefix(end);
  return token;
}

// Protocol operations are case-insensitive; `upper` is the upper-case spelling.
bool isOp(std::string_view token, std::string_view upper) {
  if (token.size() != upper.size()) return false;
  for (std::size_t i = 0; i < token.size(); ++i) {
    const char c = token[i];
    if ((c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c) != upper[i]) return false;
  }
  return true;
}

bool parseSize(std::string_view token, std::size_t& value) {
  const char* end = token.data() + token.size();
  const auto [last, ec] = std::from_chars(token.data(), end, value);
  return !token.empty() && ec == std::errc() && last == end;
}

std::string_view trimmed(std::string_view text) {
  const std::size_t start = text.find_first_not_of(" \t");
  if (start == std::string_view::npos) return {};
  return text.substr(start, text.find_last_not_of(" \t") - start + 1);
}

void appendSize(std::string& out, std::size_t value) {
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, end);
}

void appendPublish(std::string& out, std::string_view subjectPrefix, std::string_view subject,
                   std::string_view replyTo, std::string_view text) {
  out += "PUB ";
  out += subjectPrefix;
  out += subject;
  out += ' ';
  out += replyTo;
  out += ' ';
  appendSize(out, text.size());
  out += "\r\n";
  out += text;
  out += "\r\n";
}

void report(IncomingSink& sink, Incoming::Kind kind, std::string_view text,
            std::string_view from = {}) {
  Incoming incoming;
  incoming.kind = kind;
  incoming.from = from;
  incoming.text = text;
  sink.onIncoming(incoming);
}

void reportMalformed(IncomingSink& sink, std::string_view bytes) {
  report(sink, Incoming::Kind::kMalformed, bytes.substr(0, kQuoteBytes));
}

// `MSG <subject> <sid> [reply-to] <#bytes>` whose control line ends at `payloadAt`.
// Returns the offset after the message, or 0 if its payload has not fully arrived.
std::size_t parseMessage(std::string_view input, std::size_t payloadAt, std::string_view line,
                         std::string_view args, IncomingSink& sink) {
  const std::string_view subject = nextToken(args);
  const std::string_view sid = nextToken(args);
  std::string_view replyTo = nextToken(args);
  std::string_view length = nextToken(args);
  if (length.empty()) std::swap(replyTo, length);  // no reply-to
  std::size_t bytes = 0;
  if (sid.empty() || !nextToken(args).empty() || !parseSize(length, bytes) ||
      bytes > NatsDriver::kMaxPayload) {
    reportMalformed(sink, line);
    return payloadAt;
  }
  if (input.size() - payloadAt < bytes + 2) return 0;
  if (input.substr(payloadAt + bytes, 2) != "\r\n") {
    reportMalformed(sink, line);
    return payloadAt;
  }
  const std::string_view payload = input.substr(payloadAt, bytes);
  if (subject == kShoutSubject) {
    // The reader's own shout, echoed because the login asks for echo (see the header).
    if (replyTo != sid) report(sink, Incoming::Kind::kShout, payload, replyTo);
  } else if (subject.starts_with(kUserPrefix)) {
    report(sink, Incoming::Kind::kDirect, payload, replyTo);
  } else {
    reportMalformed(sink, line);
  }
  return payloadAt + bytes + 2;
}

}  // namespace

void NatsDriver::appendLogin(std::string& out, std::string_view user) {
  out += R"(CONNECT {"verbose":false,"pedantic":false,"echo":true,"name":")";
  out += user;
  out += "\"}\r\nSUB ";
  out += kUserPrefix;
  out += user;
  out += ' ';
  out += kDirectSid;
  out += "\r\n";
  if (options_.receiveShouts) {
    out += "SUB ";
    out += kShoutSubject;
    out += ' ';
    out += user;
    out += "\r\n";
  }
  out += "PING\r\n";
}

void NatsDriver::appendDirect(std::string& out, std::string_view from, std::string_view to,
                              std::string_view text) {
  appendPublish(out, kUserPrefix, to, from, text);
}

void NatsDriver::appendShout(std::string& out, std::string_view from, std::string_view text) {
  appendPublish(out, {}, kShoutSubject, from, text);
}

std::size_t NatsDriver::parse(std::string_view input, IncomingSink& sink) {
  std::size_t consumed = 0;
  while (consumed < input.size()) {
    const std::string_view rest = input.substr(consumed);
    const std::size_t newline = rest.find('\n');
    if (newline == std::string_view::npos) {
      if (rest.size() <= kMaxControlLine) break;  // wait for the end of the line
      reportMalformed(sink, rest);
      consumed = input.size();
      continue;
    }
    std::string_view line = rest.substr(0, newline);
    const std::size_t afterLine = consumed + newline + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::string_view args = line;
    const std::string_view op = nextToken(args);
    if (line.size() > kMaxControlLine) {
      reportMalformed(sink, line);
    } else if (isOp(op, "MSG")) {
      const std::size_t end = parseMessage(input, afterLine, line, args, sink);
      if (end == 0) break;
      consumed = end;
      continue;
    } else if (isOp(op, "PONG")) {
      report(sink, Incoming::Kind::kWelcome, line);
    } else if (isOp(op, "PING") || isOp(op, "INFO")) {
      report(sink, Incoming::Kind::kReply, line);
    } else if (isOp(op, "-ERR")) {
      std::string_view text = trimmed(args);
      if (text.size() >= 2 && text.front() == '\'' && text.back() == '\'') {
        text = text.substr(1, text.size() - 2);
      }
      report(sink, Incoming::Kind::kError, text);
    } else if (!op.empty() && !isOp(op, "+OK")) {
      reportMalformed(sink, line);
    }
    consumed = afterLine;
  }
  return consumed;
}

}  // namespace classchat::bench
