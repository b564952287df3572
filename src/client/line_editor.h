// Line editing and history on a terminal (libedit), with room for output that
// arrives while the user is typing.
#pragma once

#include <histedit.h>

#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/completion.h"

namespace classchat::client {

// Wraps one libedit EditLine in "unbuffered" mode: the owner polls the input fd and
// calls readChar() each time it is readable, so the program never blocks in libedit
// and can print received messages between keystrokes. printAbove() erases the prompt
// and the half-typed line, prints, and redraws them exactly as they were.
//
// The keys are readline's (emacs mode): Ctrl-U and Ctrl-W kill back to the start of
// the line and of the word, Ctrl-K to the end, Ctrl-Y yanks, Alt-B/Alt-F move by word,
// Ctrl-L clears the screen. Ctrl-R is our own reverse history search (libedit's shows
// "bck:" and needs Enter twice): "(reverse-i-search)`text': match", where Enter sends
// the match, Ctrl-R finds an older one, Ctrl-G restores the line, and Escape or any
// other editing key keeps the match and edits it.
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
  // Like ask(), for a password: the terminal does not echo what is typed, and the
  // answer goes into no history. Only while not started. The caller wipes the answer.
  std::optional<std::string> askSecret(std::string_view prompt);

  // Shows `prompt` and starts editing a line. `prompt` may contain "\1...\1" spans of
  // invisible bytes (colour escapes) that take no room on screen.
  void start(std::string prompt);
  void stop();
  bool started() const { return started_; }
  // Changes the prompt, keeping the line being typed.
  void setPrompt(std::string prompt);

  enum class Event { kNone, kLine, kEndOfInput };
  // Processes the input that is ready. On kLine, `line` holds the completed line
  // (without its newline), which is also added to the history unless it is a
  // "/login PASSWORD" line. kEndOfInput means
  // Ctrl-D on an empty line, or the terminal's input ended; editing keys that leave
  // the line empty are kNone.
  Event readChar(std::string& line);

  // Prints `text` (one or more lines, without the final newline) above the input line.
  void printAbove(std::string_view text);

  // The terminal's width, in columns (80 when unknown).
  std::size_t columns() const { return terminalColumns(); }

  // Call after SIGWINCH: redraws the prompt and the line for the new width.
  void resize();

 private:
  // A reverse history search in progress (Ctrl-R).
  struct Search {
    std::string prompt;                // the prompt to restore
    std::string line;                  // the line as it was, restored by Ctrl-G
    std::size_t cursor = 0;            // its cursor, in bytes from the start
    std::vector<std::string> history;  // newest first
    std::string query;
    std::size_t shown = kNoEntry;  // the history entry on screen
    bool failed = false;           // nothing older matches `query`
    static constexpr std::size_t kNoEntry = static_cast<std::size_t>(-1);
  };

  static char* promptFor(EditLine* el);
  static unsigned char completeKey(EditLine* el, int ch);
  static unsigned char searchKey(EditLine* el, int ch);
  // libedit's read function: one character, from pending_ first, then the terminal.
  // While asking, a signal ends the question instead of being retried.
  static int readKey(EditLine* el, wchar_t* out);
  int nextCharacter(wchar_t* out);
  // One byte from the terminal: 1; 0 at the end of input or, while asking, when a signal
  // ends the question; -1 on an error.
  int readByte(char& byte);

  // Lets libedit handle keys until none is pending.
  Event editInput(std::string& line);
  Event searchInput(std::string& line);
  void beginSearch();
  // Finds `query` in the history from entry `from` on (older) and shows the result.
  void searchFrom(std::size_t from);
  void showSearch();
  // Ends the search: keeps the match as the line being edited, or restores the line.
  void endSearch(bool keepMatch);
  // Replaces libedit's line with `text`, the cursor `cursor` bytes into it.
  void replaceLine(const std::string& text, std::size_t cursor);
  // Redraws after `change` (which may alter the prompt or the line), erasing what was
  // on screen first.
  void redraw(const std::function<void()>& change);

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
  // Set by readKey when the terminal's input ends or fails: libedit reports that the
  // same way as a key that empties the line.
  bool inputEnded_ = false;
  // Bytes to hand to libedit before reading the terminal again (a key that ended a
  // search and must still do its job).
  std::string pending_;
  std::optional<Search> search_;
};

}  // namespace classchat::client
