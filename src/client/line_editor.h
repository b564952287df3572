// Line editing and history on a terminal (libedit), with room for output that
// arrives while the user is typing.
#pragma once

#include <histedit.h>

#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "client/completion.h"

namespace classchat::client {

// Wraps one libedit EditLine in "unbuffered" mode: the owner polls the input fd and
// calls readChar() each time it is readable, so the program never blocks in libedit
// and can print received messages between keystrokes. printAbove() erases the prompt
// and the half-typed line, prints, and redraws them exactly as they were.
//
// Owns the terminal mode while started: raw mode between start() and stop(), the
// original mode otherwise (also restored by the destructor). Not thread-safe; one
// instance per process (libedit keeps some state per terminal).
class LineEditor {
 public:
  // Returns what Tab should do for the text before the cursor.
  using Completer = std::function<Completion(std::string_view beforeCursor)>;

  LineEditor(const char* programName, FILE* in, FILE* out, Completer completer);
  ~LineEditor();
  LineEditor(const LineEditor&) = delete;
  LineEditor& operator=(const LineEditor&) = delete;

  int fd() const;

  // Blocking question with its own prompt, for start-up; nullopt at the end of input or
  // when SIGINT, SIGTERM or SIGHUP arrives (see signals.h). Only while not started.
  std::optional<std::string> ask(std::string_view prompt);

  // Shows `prompt` and starts editing a line. `prompt` may contain "\1...\1" spans of
  // invisible bytes (colour escapes) that take no room on screen.
  void start(std::string prompt);
  void stop();
  bool started() const { return started_; }
  // Changes the prompt, keeping the line being typed.
  void setPrompt(std::string prompt);

  enum class Event { kNone, kLine, kEndOfInput };
  // Processes the input that is ready. On kLine, `line` holds the completed line
  // (without its newline), which is also added to the history.
  Event readChar(std::string& line);

  // Prints `text` (one or more lines, without the final newline) above the input line.
  void printAbove(std::string_view text);

  // Call after SIGWINCH.
  void resize();

 private:
  static char* promptFor(EditLine* el);
  static unsigned char completeKey(EditLine* el, int ch);
  // libedit's read function: one character from the terminal. While asking, a signal
  // ends the question instead of being retried.
  static int readKey(EditLine* el, wchar_t* out);

  // Moves the cursor to the start of the prompt and clears the input area.
  void eraseInputArea();
  std::size_t terminalColumns() const;

  EditLine* el_ = nullptr;
  History* history_ = nullptr;
  int inFd_;
  FILE* out_;
  Completer completer_;
  std::string prompt_;
  std::size_t promptWidth_ = 0;
  bool started_ = false;
  bool asking_ = false;
  bool interrupted_ = false;
};

}  // namespace classchat::client
