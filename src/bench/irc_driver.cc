#include "bench/irc_driver.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace classchat::bench {
namespace {

// RFC 2812 allows 15 parameters; the 15th takes the rest of the line.
constexpr std::size_t kMaxParams = 15;

// One IRC message, split: [@tags] [:prefix] command params... [:trailing]
struct Message {
  std::string_view source;  // the prefix's nick (before '!' or '@'), or a server name
  std::string_view command;
  std::array<std::string_view, kMaxParams> params;
  std::size_t paramCount = 0;

  std::string_view param(std::size_t i) const { return i < paramCount ? params[i] : ""; }
};

// Commands a server sends to a client. Anything else is not IRC as far as the bench goes.
constexpr std::array<std::string_view, 24> kServerCommands = {
    "PRIVMSG", "NOTICE",  "PING",    "PONG",    "ERROR", "JOIN",   "PART",    "QUIT",
    "KICK",    "KILL",    "MODE",    "NICK",    "TOPIC", "INVITE", "WALLOPS", "CAP",
    "AWAY",    "ACCOUNT", "CHGHOST", "SETNAME", "BATCH", "TAGMSG", "FAIL",    "WARN",
};

void skipSpaces(std::string_view& rest) {
  const std::size_t start = rest.find_first_not_of(' ');
  rest.remove_prefix(start == std::string_view::npos ? rest.size() : start);
}

std::string_view takeWord(std::string_view& rest) {
  const std::size_t end = std::min(rest.find(' '), rest.size());
  const std::string_view word = rest.substr(0, end);
  rest.remove_prefix(end);
  return word;
}

bool isNumeric(std::string_view command) {
  return command.size() == 3 &&
         std::all_of(command.begin(), command.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool isKnownCommand(std::string_view command) {
  return std::find(kServerCommands.begin(), kServerCommands.end(), command) !=
         kServerCommands.end();
}

bool equalsIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// Splits a line into a Message; false if it is not one. The line has no line ending.
bool split(std::string_view line, Message& out) {
  // NUL and CR are the bytes that may not appear inside an IRC message.
  if (line.find_first_of(std::string_view("\0\r", 2)) != std::string_view::npos) return false;
  std::string_view rest = line;
  if (rest.starts_with('@')) {  // IRCv3 message tags: not requested, tolerated
    takeWord(rest);
    skipSpaces(rest);
  }
  if (rest.starts_with(':')) {
    rest.remove_prefix(1);
    const std::string_view prefix = takeWord(rest);
    out.source = prefix.substr(0, prefix.find_first_of("!@"));
    if (out.source.empty()) return false;
    skipSpaces(rest);
  }
  out.command = takeWord(rest);
  const bool letters =
      !out.command.empty() && std::all_of(out.command.begin(), out.command.end(),
                                          [](char c) { return c >= 'A' && c <= 'Z'; });
  if (!isNumeric(out.command) && !(letters && isKnownCommand(out.command))) return false;
  while (true) {
    skipSpaces(rest);
    if (rest.empty()) break;
    if (rest.front() == ':' || out.paramCount + 1 == kMaxParams) {
      out.params[out.paramCount++] = rest.starts_with(':') ? rest.substr(1) : rest;
      break;
    }
    out.params[out.paramCount++] = takeWord(rest);
  }
  return true;
}

void appendLine(std::string& out, std::string_view command, std::string_view target,
                std::string_view text) {
  out += command;
  out += ' ';
  out += target;
  out += " :";
  out += text;
  out += "\r\n";
}

}  // namespace

void IrcDriver::appendLogin(std::string& out, std::string_view user) {
  out += "NICK ";
  out += user;
  out += "\r\nUSER ";
  out += user;
  out += " 0 * :";
  out += user;
  out += "\r\n";
}

void IrcDriver::appendLoginReply(std::string& out, const Incoming& reply) {
  Message message;
  if (options_.receiveShouts && split(reply.text, message) && message.command == "001") {
    out += "JOIN ";
    out += kShoutChannel;
    out += "\r\n";
  }
}

void IrcDriver::appendDirect(std::string& out, std::string_view, std::string_view to,
                             std::string_view text) {
  appendLine(out, "PRIVMSG", to, text);
}

void IrcDriver::appendShout(std::string& out, std::string_view, std::string_view text) {
  appendLine(out, "PRIVMSG", kShoutChannel, text);
}

void IrcDriver::appendHeartbeat(std::string& out, std::string_view self, std::string_view text) {
  out += "PING :";
  out += self;
  out += ' ';
  out += text;
  out += "\r\n";
}

std::size_t IrcDriver::parse(std::string_view input, IncomingSink& sink) {
  std::size_t consumed = 0;
  while (consumed < input.size()) {
    const void* newline = std::memchr(input.data() + consumed, '\n', input.size() - consumed);
    if (newline == nullptr) break;
    const auto end = static_cast<std::size_t>(static_cast<const char*>(newline) - input.data());
    std::string_view line = input.substr(consumed, end - consumed);
    consumed = end + 1;
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.empty()) continue;
    sink.onIncoming(parseLine(line));
  }
  // A line that never ends would grow the engine's input buffer without bound: report
  // it and drop what there is. The tail of that line, when its end comes, is reported
  // again as malformed, unless it happens to be a message.
  if (input.size() - consumed > kMaxLineBytes) {
    Incoming incoming;
    incoming.text = input.substr(consumed, kMaxLineBytes);
    sink.onIncoming(incoming);
    consumed = input.size();
  }
  return consumed;
}

Incoming IrcDriver::parseLine(std::string_view line) const {
  Incoming incoming;
  incoming.text = line;
  Message message;
  if (line.size() > kMaxLineBytes || !split(line, message)) return incoming;
  incoming.from = message.source;
  const std::string_view command = message.command;
  incoming.kind = Incoming::Kind::kReply;
  if (command == "PRIVMSG") {
    // A user's message: it must name its sender, a target and the text.
    if (message.source.empty() || message.paramCount != 2) {
      incoming.kind = Incoming::Kind::kMalformed;
      return incoming;
    }
    const std::string_view target = message.param(0);
    incoming.kind = target.starts_with('#') || target.starts_with('&') ? Incoming::Kind::kShout
                                                                       : Incoming::Kind::kDirect;
    incoming.text = message.param(1);
  } else if (command == "PONG") {
    // Our heartbeat's token is "<self> <text>"; see the class comment.
    const std::string_view token =
        message.paramCount > 0 ? message.params[message.paramCount - 1] : std::string_view();
    const std::size_t space = token.find(' ');
    if (space != std::string_view::npos && space > 0) {
      incoming.kind = Incoming::Kind::kDirect;
      incoming.from = token.substr(0, space);
      incoming.text = token.substr(space + 1);
    }
  } else if (command == "ERROR") {
    incoming.kind = Incoming::Kind::kError;
  } else if (isNumeric(command)) {
    // 422 ERR_NOMOTD only says that the server has no message of the day.
    if (command >= "400" && command <= "599" && command != "422") {
      incoming.kind = Incoming::Kind::kError;
    } else if (command == "001" && !options_.receiveShouts) {
      incoming.kind = Incoming::Kind::kWelcome;
    } else if (command == "366" && options_.receiveShouts &&
               equalsIgnoringCase(message.param(1), kShoutChannel)) {
      incoming.kind = Incoming::Kind::kWelcome;
    }
  }
  return incoming;
}

}  // namespace classchat::bench
