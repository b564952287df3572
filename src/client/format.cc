#include "client/format.h"

#include <algorithm>
#include <ctime>
#include <cwchar>
#include <limits>

#include <fmt/format.h>

#include "protocol/json_writer.h"
#include "protocol/utf8.h"

namespace classchat::client {
namespace {

// SGR sequences. Kept to the eight basic colours so every terminal shows them.
constexpr std::string_view kReset = "\033[0m";
constexpr std::string_view kDim = "\033[2m";
constexpr std::string_view kRed = "\033[31m";
constexpr std::string_view kBoldRed = "\033[1;31m";
constexpr std::string_view kBoldGreen = "\033[1;32m";
constexpr std::string_view kYellow = "\033[33m";
constexpr std::string_view kBoldYellow = "\033[1;33m";
constexpr std::string_view kBoldMagenta = "\033[1;35m";
constexpr std::string_view kCyan = "\033[36m";

std::string paint(std::string_view text, std::string_view style, bool colour) {
  if (!colour) return std::string(text);
  return fmt::format("{}{}{}", style, text, kReset);
}

// What starts a line from the server and one of the client's own notices. Usernames
// are made of A-Z a-z 0-9 _ - . only, and a user's line starts with the name, so no
// user can start a line with these: a student named "Server." shows as "Server.: ...",
// next to the real "[server] ...".
constexpr std::string_view kServerLabel = "[server]";
constexpr std::string_view kNoticeLabel = "-!-";

}  // namespace

MessageKind classify(const protocol::ServerMessage& message) {
  if (message.fromServer()) {
    return message.isError() ? MessageKind::kServerError : MessageKind::kServer;
  }
  return message.isShout() ? MessageKind::kShout : MessageKind::kDirect;
}

bool shouldUseColour(bool noColorFlag, const char* noColorEnv, bool stdoutIsTerminal) {
  if (noColorFlag) return false;
  if (noColorEnv != nullptr && noColorEnv[0] != '\0') return false;
  return stdoutIsTerminal;
}

std::string clockStamp(std::chrono::system_clock::time_point when) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(when);
  std::tm local{};
  ::localtime_r(&seconds, &local);
  return fmt::format("{:02}:{:02}:{:02}", local.tm_hour, local.tm_min, local.tm_sec);
}

std::string sanitizeForTerminal(std::string_view text, std::string_view indent) {
  const std::string valid =
      protocol::sanitizeForEcho(text, std::numeric_limits<std::size_t>::max());
  std::string out;
  out.reserve(valid.size());
  for (std::size_t i = 0; i < valid.size(); ++i) {
    const auto c = static_cast<unsigned char>(valid[i]);
    if (c == '\n') {
      out += '\n';
      out += indent;
    } else if (c == '\t') {
      out += c;
    } else if (c < 0x20 || c == 0x7F) {
      out += '^';
      out += static_cast<char>(c ^ 0x40);
    } else if (c == 0xC2 && i + 1 < valid.size() &&
               static_cast<unsigned char>(valid[i + 1]) <= 0x9F) {
      // U+0080..U+009F: C1 controls, which some terminals obey (0x9B is CSI).
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string wrapForTerminal(std::string_view text, std::size_t columns, std::string_view indent) {
  if (columns <= indent.size() + 1) return std::string(text);  // no room to indent
  std::string out;
  out.reserve(text.size() + text.size() / columns * (indent.size() + 1));
  std::size_t used = 0;  // columns taken on the current row
  std::mbstate_t state{};
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] == '\n') {
      out += '\n';
      used = 0;
      ++i;
      continue;
    }
    if (text[i] == '\033' && i + 1 < text.size() && text[i + 1] == '[') {
      // A control sequence: copy it up to its final byte (0x40-0x7E).
      std::size_t end = i + 2;
      while (end < text.size() && (text[end] < 0x40 || text[end] > 0x7E)) ++end;
      end = std::min(end + 1, text.size());
      out.append(text.substr(i, end - i));
      i = end;
      continue;
    }
    wchar_t wc = 0;
    std::size_t length = std::mbrtowc(&wc, text.data() + i, text.size() - i, &state);
    std::size_t width = 1;
    if (length == 0 || length == static_cast<std::size_t>(-1) ||
        length == static_cast<std::size_t>(-2)) {
      state = {};
      length = 1;
    } else {
      const int w = ::wcwidth(wc);
      width = w < 0 ? 0 : static_cast<std::size_t>(w);
    }
    if (used + width > columns) {
      out += '\n';
      out += indent;
      used = indent.size();
    }
    out.append(text.substr(i, length));
    used += width;
    i += length;
  }
  return out;
}

std::string asSentence(std::string_view text) {
  std::string sentence(text);
  if (!sentence.ends_with('.') && !sentence.ends_with('!') && !sentence.ends_with('?')) {
    sentence += '.';
  }
  return sentence;
}

std::string formatMessage(const protocol::ServerMessage& message, std::string_view stamp,
                          bool colour) {
  const std::string when = paint(fmt::format("[{}]", stamp), kDim, colour);
  const std::string text = sanitizeForTerminal(message.msg);
  switch (classify(message)) {
    case MessageKind::kServer:
      return fmt::format("{} {} {}", when, paint(kServerLabel, kBoldYellow, colour),
                         paint(text, kYellow, colour));
    case MessageKind::kServerError:
      return fmt::format("{} {} {}", when, paint(kServerLabel, kBoldRed, colour),
                         paint(text, kRed, colour));
    case MessageKind::kShout:
      return fmt::format(
          "{} {}: {}", when,
          paint(sanitizeForTerminal(message.fromName) + " (to everyone)", kBoldMagenta, colour),
          text);
    case MessageKind::kDirect:
      break;
  }
  return fmt::format("{} {}: {}", when,
                     paint(sanitizeForTerminal(message.fromName), kBoldGreen, colour), text);
}

std::string formatNotice(std::string_view text, NoticeKind kind, std::string_view stamp,
                         bool colour) {
  const std::string when = paint(fmt::format("[{}]", stamp), kDim, colour);
  const std::string line = fmt::format("{} {}", kNoticeLabel, sanitizeForTerminal(text));
  return fmt::format("{} {}", when,
                     paint(line, kind == NoticeKind::kProblem ? kBoldRed : kCyan, colour));
}

std::string jsonLine(const protocol::ServerMessage& message) {
  std::string out;
  protocol::appendMessageFrame(out, message.fromName, message.fromIp, message.to, message.msg);
  out.pop_back();  // the frame's "\n": callers add their own line end
  return out;
}

}  // namespace classchat::client
