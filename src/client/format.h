// How received messages and the client's own notices look on screen, and as JSON lines.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "protocol/server_message.h"

namespace classchat::client {

enum class MessageKind {
  kServer,       // a reply from the server (welcome, /list, /time, ...)
  kServerError,  // a server reply that starts with "Error:"
  kDirect,       // another user wrote to you
  kShout,        // another user wrote to everyone
};

MessageKind classify(const protocol::ServerMessage& message);

// The client's own lines: hints, connection state, problems.
enum class NoticeKind { kInfo, kProblem };

// Colour is used only when stdout is a terminal, --no-color was not given and the
// NO_COLOR environment variable is unset or empty (https://no-color.org). Pure.
bool shouldUseColour(bool noColorFlag, const char* noColorEnv, bool stdoutIsTerminal);

// "HH:MM:SS" in local time.
std::string clockStamp(std::chrono::system_clock::time_point when);

// Makes untrusted text safe to print on a terminal: invalid UTF-8 becomes U+FFFD,
// control characters become caret notation (ESC is shown as ^[), C1 controls become
// U+FFFD, and each newline is followed by `indent` so continuation lines line up.
std::string sanitizeForTerminal(std::string_view text, std::string_view indent = "    ");

// Breaks each line of `text` that is wider than `columns` into rows, each row after the
// first starting with `indent`, as continuation lines do. The terminal would wrap such
// a line itself, but its next row would start at the first column with whatever the
// sender wrote there: text padded to the width could show a row that starts like one of
// the server's lines. SGR sequences ("\033[...m") take no room; wide characters take
// two columns (wcwidth, in the current locale). Pure.
std::string wrapForTerminal(std::string_view text, std::size_t columns,
                            std::string_view indent = "    ");

// `text` ended with a full stop, unless it already ends with '.', '!' or '?' (a server's
// reason quoted at the end of a sentence may bring its own). Pure.
std::string asSentence(std::string_view text);

// One received message as a line of text (no trailing newline), e.g.
//   [14:02:51] alice: see you at 3?
//   [14:02:51] alice (to everyone): pizza in room 4
//   [14:02:51] [server] Server time: 14:02:51
// The server's lines start with "[server]", which no username can produce (names hold
// only A-Z a-z 0-9 _ - .), so a user named "Server." cannot pass for the server; in
// colour the label is also bold yellow (red for errors), a colour users cannot send.
std::string formatMessage(const protocol::ServerMessage& message, std::string_view stamp,
                          bool colour);

// One of the client's own notices, e.g. "[14:02:51] -!- connection lost" ('!' cannot
// be in a name either: a user named "--" cannot pass for the client).
std::string formatNotice(std::string_view text, NoticeKind kind, std::string_view stamp,
                         bool colour);

// One received message as a compact JSON line (no trailing newline) for --listen:
//   {"from":{"name":..,"ip":..},"to":..,"msg":..}
// the contract's own shape, so the output can be read with the same code as the wire.
std::string jsonLine(const protocol::ServerMessage& message);

}  // namespace classchat::client
