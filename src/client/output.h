// Where the client's lines go in each mode.
#pragma once

#include <string>
#include <string_view>

#include "client/line_editor.h"
#include "protocol/server_message.h"

namespace classchat::client {

enum class Mode {
  kInteractive,  // stdin and stdout are terminals: line editing, prompts, colour
  kScript,       // otherwise: each input line handled as if typed
  kSend,         // --send TO MSG
  kListen,       // --listen: JSON lines out, no input
};

// Received messages and the client's own notices, written for a person or a program:
//   interactive  both above the input line, formatted, coloured if allowed
//   script       messages formatted on stdout, notices on stderr
//   --send       server replies on stdout, errors on stderr, nothing else
//   --listen     every message as one JSON line on stdout, notices on stderr
// Not thread-safe.
class Output {
 public:
  // `editor` is required in interactive mode and unused otherwise.
  Output(Mode mode, bool colour, LineEditor* editor);

  void message(const protocol::ServerMessage& message);
  // One sentence from the client itself; `problem` marks what went wrong.
  void notice(std::string_view text, bool problem);

  // True once stdout's reader has gone (`classchat --listen | head -n 1`).
  bool readerGone() const { return readerGone_; }

 private:
  void printLine(const std::string& text);
  void flush();

  Mode mode_;
  bool colour_;
  LineEditor* editor_;
  bool readerGone_ = false;
};

}  // namespace classchat::client
