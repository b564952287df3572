#include "client/input.h"

#include <fmt/format.h>

#include "protocol/names.h"
#include "protocol/utf8.h"

namespace classchat::client {
namespace {

bool isSpace(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trimSpaces(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return s;
}

// Splits "word rest" at the first space or tab; `rest` is trimmed.
std::pair<std::string_view, std::string_view> splitWord(std::string_view s) {
  std::size_t end = 0;
  while (end < s.size() && !isSpace(s[end])) ++end;
  return {s.substr(0, end), trimSpaces(s.substr(end))};
}

InputAction hint(std::string text) {
  InputAction action;
  action.kind = InputKind::kHint;
  action.hint = std::move(text);
  return action;
}

InputAction send(std::string_view to, std::string_view msg) {
  InputAction action;
  action.kind = InputKind::kSend;
  action.to = std::string(to);
  action.msg = std::string(msg);
  return action;
}

// A name the user typed, or the hint explaining why it cannot be one.
std::string nameProblem(std::string_view name) {
  const protocol::NameVerdict verdict = protocol::checkName(name);
  if (verdict == protocol::NameVerdict::kValid) return {};
  if (verdict == protocol::NameVerdict::kReserved && protocol::namesEqual(name, "Everyone")) {
    return "To write to everyone, use /shout TEXT.";
  }
  return fmt::format("'{}' cannot be a username.", protocol::sanitizeForEcho(name));
}

bool isNameCharacter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

// The first character a name may not contain, for a sentence: "a space", "'é'".
std::string firstBadCharacter(std::string_view name) {
  for (std::size_t i = 0; i < name.size(); ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (isNameCharacter(name[i])) continue;
    if (c == ' ') return "a space";
    if (c < 0x20 || c == 0x7F) return "a control character";
    std::size_t length = 1;
    if (c >= 0x80) {
      while (i + length < name.size() &&
             (static_cast<unsigned char>(name[i + length]) & 0xC0) == 0x80) {
        ++length;
      }
    }
    return fmt::format("'{}'", protocol::sanitizeForEcho(name.substr(i, length)));
  }
  return "a character names cannot hold";
}

InputAction parseCommand(std::string_view line) {
  const auto [command, args] = splitWord(line);
  if (protocol::namesEqual(command, "/quit")) {
    InputAction action;
    action.kind = InputKind::kQuit;
    return action;
  }
  if (protocol::namesEqual(command, "/help")) {
    // The server's /help describes the JSON fields; a person wants the client's.
    if (protocol::namesEqual(args, "server")) return send(command, "");
    InputAction action;
    action.kind = InputKind::kHelp;
    return action;
  }
  if (protocol::namesEqual(command, "/to")) {
    InputAction action;
    if (args.empty()) {
      action.kind = InputKind::kCloseConversation;
      return action;
    }
    const auto [name, extra] = splitWord(args);
    if (!extra.empty()) return hint("Usage: /to NAME (then type plain lines to talk to NAME).");
    if (std::string problem = nameProblem(name); !problem.empty()) return hint(std::move(problem));
    action.kind = InputKind::kOpenConversation;
    action.to = std::string(name);
    return action;
  }
  if (protocol::namesEqual(command, "/shout") && args.empty()) {
    return hint("Usage: /shout TEXT (sends TEXT to everyone online).");
  }
  return send(command, args);
}

InputAction parseDirect(std::string_view line) {
  const auto [word, text] = splitWord(line);
  const std::string_view name = word.substr(1);
  if (name.empty()) return hint("Put the username right after '@': @bob hello.");
  if (std::string problem = nameProblem(name); !problem.empty()) return hint(std::move(problem));
  if (text.empty()) {
    return hint(
        fmt::format("Type the message after the name (@{0} hello), or /to {0} to talk "
                    "to {0} with plain lines.",
                    name));
  }
  return send(name, text);
}

}  // namespace

InputAction parseInput(std::string_view line, std::string_view conversation) {
  if (line.ends_with('\n')) line.remove_suffix(1);
  if (line.ends_with('\r')) line.remove_suffix(1);
  const std::string_view trimmed = trimSpaces(line);
  if (trimmed.empty()) return {};

  std::string_view text = trimmed;
  if (trimmed.starts_with("//")) {
    text.remove_prefix(1);  // escaped: plain text that starts with '/'
  } else if (trimmed.front() == '/') {
    return parseCommand(trimmed);
  } else if (trimmed.front() == '@') {
    return parseDirect(trimmed);
  }
  if (conversation.empty()) {
    return hint(
        "Not sent: write @name message, or /to name to start a conversation (/help "
        "for more).");
  }
  return send(conversation, text);
}

std::string describeNameProblem(std::string_view name) {
  const std::string shown = protocol::sanitizeForEcho(name);
  switch (protocol::checkName(name)) {
    case protocol::NameVerdict::kValid:
      return {};
    case protocol::NameVerdict::kEmpty:
      return "Please type a name: 1 to 32 letters (A-Z, a-z), digits, dots, dashes or underscores.";
    case protocol::NameVerdict::kTooLong:
      return fmt::format("'{}' is too long: a name has at most {} characters.", shown,
                         protocol::kMaxNameLength);
    case protocol::NameVerdict::kBadCharacter:
      return fmt::format(
          "'{}' has {}: use only letters A-Z a-z, digits, dots, dashes and underscores.", shown,
          firstBadCharacter(name));
    case protocol::NameVerdict::kReserved:
      if (name.starts_with('/')) return "A name cannot start with '/'.";
      return fmt::format("'{}' is reserved; please choose another name.", shown);
  }
  return fmt::format("'{}' cannot be a name; please choose another.", shown);
}

}  // namespace classchat::client
