#include "client/line_editor.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

#include <climits>
#include <cstring>
#include <cwchar>
#include <cwctype>

#include "client/login.h"
#include "client/signals.h"

namespace classchat::client {
namespace {

constexpr char kInvisible = '\1';
constexpr int kHistorySize = 500;
// How long the rest of an escape sequence may take to follow its ESC.
constexpr int kEscapeSequenceWaitMs = 50;

// Columns the text takes on screen: code points, two for wide ones, skipping "\1" spans.
std::size_t displayWidth(std::string_view text) {
  std::size_t width = 0;
  bool invisible = false;
  std::mbstate_t state{};
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] == kInvisible) {
      invisible = !invisible;
      ++i;
      continue;
    }
    wchar_t wc = 0;
    const std::size_t n = std::mbrtowc(&wc, text.data() + i, text.size() - i, &state);
    if (n == 0 || n == static_cast<std::size_t>(-1) || n == static_cast<std::size_t>(-2)) {
      state = {};
      ++i;
      if (!invisible) ++width;
      continue;
    }
    i += n;
    if (!invisible) {
      const int w = ::wcwidth(wc);
      width += w < 0 ? 0 : static_cast<std::size_t>(w);
    }
  }
  return width;
}

std::size_t codePoints(std::string_view text) {
  std::size_t n = 0;
  for (char c : text) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

LineEditor& editorOf(EditLine* el) {
  void* data = nullptr;
  el_get(el, EL_CLIENTDATA, &data);
  return *static_cast<LineEditor*>(data);
}

}  // namespace

LineEditor::LineEditor(const char* programName, FILE* in, FILE* out, Completer completer)
    : inFd_(::fileno(in)), out_(out), completer_(std::move(completer)) {
  el_ = el_init(programName, in, out, stderr);
  history_ = history_init();
  HistEvent event;
  history(history_, &event, H_SETSIZE, kHistorySize);
  history(history_, &event, H_SETUNIQUE, 1);
  el_set(el_, EL_CLIENTDATA, this);
  el_set(el_, EL_EDITOR, "emacs");
  el_set(el_, EL_HIST, history, history_);
  el_set(el_, EL_PROMPT_ESC, &LineEditor::promptFor, kInvisible);
  // The wide-character call stores the (static) strings as they are; the narrow one
  // copies them and never frees the copies.
  el_wset(el_, EL_ADDFN, L"classchat-complete", L"Complete a username or command",
          &LineEditor::completeKey);
  el_set(el_, EL_BIND, "^I", "classchat-complete", nullptr);
  el_wset(el_, EL_ADDFN, L"classchat-search", L"Search the history backwards",
          &LineEditor::searchKey);
  el_set(el_, EL_BIND, "^R", "classchat-search", nullptr);
  // libedit's emacs map differs from readline's here: its Ctrl-W kills to the mark (the
  // whole line when none is set) and its Ctrl-U the whole line.
  el_set(el_, EL_BIND, "^W", "ed-delete-prev-word", nullptr);
  el_set(el_, EL_BIND, "^U", "vi-kill-line-prev", nullptr);
  el_set(el_, EL_GETCFN, &LineEditor::readKey);
  // Our own signal handling restores the terminal; libedit's would re-raise signals
  // to the whole process group.
  el_set(el_, EL_SIGNAL, 0);
}

LineEditor::~LineEditor() {
  stop();
  el_end(el_);
  history_end(history_);
}

int LineEditor::fd() const {
  return inFd_;
}

char* LineEditor::promptFor(EditLine* el) {
  return editorOf(el).prompt_.data();
}

unsigned char LineEditor::completeKey(EditLine* el, int) {
  LineEditor& self = editorOf(el);
  const LineInfo* info = el_line(el);
  const std::string_view before(info->buffer,
                                static_cast<std::size_t>(info->cursor - info->buffer));
  const Completion completion = self.completer_(before);
  if (!completion.insert.empty()) {
    el_deletestr(
        el, static_cast<int>(codePoints(before.substr(before.size() - completion.replaceBytes))));
    el_insertstr(el, completion.insert.c_str());
    return CC_REFRESH;
  }
  if (!completion.candidates.empty()) {
    std::string list;
    for (const std::string& name : completion.candidates) {
      if (!list.empty()) list += "  ";
      list += name;
    }
    self.printAbove(list);
    return CC_NORM;
  }
  return CC_REFRESH_BEEP;
}

unsigned char LineEditor::searchKey(EditLine* el, int) {
  LineEditor& self = editorOf(el);
  if (!self.started_) return CC_ERROR;  // the questions at start-up have no history
  self.beginSearch();
  return CC_NORM;  // beginSearch has drawn the search prompt
}

int LineEditor::readKey(EditLine* el, wchar_t* out) {
  return editorOf(el).nextCharacter(out);
}

int LineEditor::nextCharacter(wchar_t* out) {
  char bytes[MB_LEN_MAX];
  std::size_t length = 0;
  for (;;) {
    if (!pending_.empty()) {
      bytes[length++] = pending_.front();
      pending_.erase(0, 1);
    } else {
      const int rc = readByte(bytes[length]);
      if (rc <= 0) {
        inputEnded_ = true;
        return rc;
      }
      ++length;
    }
    std::mbstate_t state{};
    const std::size_t rc = std::mbrtowc(out, bytes, length, &state);
    if (rc == static_cast<std::size_t>(-2) && length < sizeof bytes) continue;  // incomplete
    if (rc == static_cast<std::size_t>(-1) || rc == static_cast<std::size_t>(-2)) {
      length = 0;  // not a character in this locale: skip it, as libedit does
      continue;
    }
    return 1;
  }
}

int LineEditor::readByte(char& byte) {
  for (;;) {
    pollfd fds[2] = {{inFd_, POLLIN, 0}, {asking_ ? signalFd() : -1, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (fds[1].revents & POLLIN) {
      for (const int signo : takeSignals()) {
        if (signo == SIGWINCH) {
          el_resize(el_);
        } else {
          interrupted_ = true;
        }
      }
      if (interrupted_) return 0;  // read as the end of input
      continue;
    }
    if (fds[0].revents == 0) continue;
    const ssize_t n = ::read(inFd_, &byte, 1);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return -1;
    }
    return n == 0 ? 0 : 1;
  }
}

std::optional<std::string> LineEditor::ask(std::string_view prompt) {
  if (interrupted_) return std::nullopt;
  prompt_ = std::string(prompt);
  promptWidth_ = displayWidth(prompt_);
  int count = 0;
  asking_ = true;
  const char* text = el_gets(el_, &count);
  asking_ = false;
  if (interrupted_) std::fputc('\n', out_);  // leave the question's line
  if (text == nullptr || count <= 0 || interrupted_) return std::nullopt;
  std::string answer(text, static_cast<std::size_t>(count));
  while (!answer.empty() && (answer.back() == '\n' || answer.back() == '\r')) answer.pop_back();
  return answer;
}

std::optional<std::string> LineEditor::askSecret(std::string_view prompt) {
  if (interrupted_) return std::nullopt;
  std::fwrite(prompt.data(), 1, prompt.size(), out_);
  std::fflush(out_);
  // The terminal's own line discipline reads the line (Backspace works), without echo;
  // ECHONL still moves to the next line on Enter.
  termios saved{};
  const bool isTerminal = ::tcgetattr(inFd_, &saved) == 0;
  if (isTerminal) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ICANON | ECHONL;
    ::tcsetattr(inFd_, TCSAFLUSH, &quiet);
  }
  std::string answer;
  bool complete = false;
  asking_ = true;
  for (char byte = 0; readByte(byte) > 0;) {
    if (byte == '\n') {
      complete = true;
      break;
    }
    answer.push_back(byte);
  }
  asking_ = false;
  if (isTerminal) ::tcsetattr(inFd_, TCSANOW, &saved);
  if (!complete) std::fputc('\n', out_);  // Ctrl-D or a signal: leave the question's line
  std::fflush(out_);
  if (!complete || interrupted_) {
    wipe(answer);
    return std::nullopt;
  }
  if (!answer.empty() && answer.back() == '\r') answer.pop_back();
  return answer;
}

void LineEditor::start(std::string prompt) {
  if (started_) return;
  prompt_ = std::move(prompt);
  promptWidth_ = displayWidth(prompt_);
  started_ = true;
  std::fflush(out_);
  el_set(el_, EL_UNBUFFERED, 1);  // raw mode, and shows the prompt
}

void LineEditor::stop() {
  if (!started_) return;
  started_ = false;
  eraseInputArea();
  std::fflush(out_);
  if (search_) {
    prompt_ = search_->prompt;
    promptWidth_ = displayWidth(prompt_);
    search_.reset();
  }
  el_set(el_, EL_UNBUFFERED, 0);  // back to the terminal's original mode
}

void LineEditor::setPrompt(std::string prompt) {
  if (search_) {
    search_->prompt = std::move(prompt);  // shown when the search ends
    return;
  }
  if (prompt == prompt_) return;
  if (!started_) {
    prompt_ = std::move(prompt);
    promptWidth_ = displayWidth(prompt_);
    return;
  }
  redraw([&] {
    prompt_ = std::move(prompt);
    promptWidth_ = displayWidth(prompt_);
  });
}

LineEditor::Event LineEditor::readChar(std::string& line) {
  return search_ ? searchInput(line) : editInput(line);
}

LineEditor::Event LineEditor::editInput(std::string& line) {
  for (;;) {
    int count = 0;
    const char* text = el_gets(el_, &count);
    // In unbuffered mode libedit returns after every key with the whole line so far.
    // When the line is empty it returns nullptr and a negative count, both after a key
    // that left it empty (Backspace, Ctrl-U...) and at the end of the input: only our
    // read function can tell them apart.
    if (text == nullptr) {
      if (inputEnded_) return Event::kEndOfInput;
      if (pending_.empty() || search_) return Event::kNone;
      continue;
    }
    const std::string_view typed(text, static_cast<std::size_t>(count));
    if (typed == "\x04") return Event::kEndOfInput;  // Ctrl-D on an empty line
    if (typed.empty() || typed.back() != '\n') {
      if (pending_.empty() || search_) return Event::kNone;
      continue;
    }

    line.assign(typed.substr(0, typed.size() - 1));
    // A password typed after /login must not come back with Up or Ctrl-R.
    if (!line.empty() && !isLoginLine(line)) {
      HistEvent event;
      history(history_, &event, H_ENTER, line.c_str());
    }
    // libedit has moved to a fresh line; turning unbuffered mode off and on again
    // resets the line and shows the prompt.
    el_set(el_, EL_UNBUFFERED, 0);
    el_set(el_, EL_UNBUFFERED, 1);
    return Event::kLine;
  }
}

// --- reverse history search ------------------------------------------------------------

void LineEditor::beginSearch() {
  Search search;
  search.prompt = prompt_;
  const LineInfo* info = el_line(el_);
  search.line.assign(info->buffer, info->lastchar);
  search.cursor = static_cast<std::size_t>(info->cursor - info->buffer);
  HistEvent event;
  for (int rc = history(history_, &event, H_FIRST); rc != -1;
       rc = history(history_, &event, H_NEXT)) {
    search.history.emplace_back(event.str);
  }
  search_ = std::move(search);
  showSearch();
}

LineEditor::Event LineEditor::searchInput(std::string& line) {
  wchar_t key = 0;
  if (nextCharacter(&key) != 1) return Event::kEndOfInput;
  Search& search = *search_;
  switch (key) {
    case L'\r':
    case L'\n':
      // One Enter sends the match: end the search, then let libedit finish the line.
      endSearch(true);
      pending_ = "\r";
      return editInput(line);
    case 0x12:  // Ctrl-R: an older match
      searchFrom(search.shown == Search::kNoEntry ? 0 : search.shown + 1);
      return Event::kNone;
    case 0x07:  // Ctrl-G: give up, the line as it was
      endSearch(false);
      return Event::kNone;
    case 0x08:
    case 0x7F: {  // Backspace: a shorter query, searched again from the newest line
      if (search.query.empty()) return Event::kNone;
      std::size_t end = search.query.size() - 1;
      while (end > 0 && (static_cast<unsigned char>(search.query[end]) & 0xC0) == 0x80) --end;
      search.query.resize(end);
      search.shown = Search::kNoEntry;
      search.failed = false;
      if (search.query.empty()) {
        showSearch();
      } else {
        searchFrom(0);
      }
      return Event::kNone;
    }
    case 0x1B: {
      // Escape alone ends the search on the match. A sequence (an arrow, Alt-B...)
      // follows at once, within one write from the terminal (or a few milliseconds over
      // a slow link): it also ends the search, then does its job.
      endSearch(true);
      pollfd more{inFd_, POLLIN, 0};
      if (::poll(&more, 1, kEscapeSequenceWaitMs) <= 0) return Event::kNone;
      pending_ = "\x1b";
      return editInput(line);
    }
    default:
      break;
  }
  if (key < 0x20 || !std::iswprint(static_cast<wint_t>(key))) {
    // Any other key keeps the match and does its usual job on it.
    endSearch(true);
    char bytes[MB_LEN_MAX];
    std::mbstate_t state{};
    const std::size_t n = std::wcrtomb(bytes, key, &state);
    if (n == static_cast<std::size_t>(-1)) return Event::kNone;
    pending_.assign(bytes, n);
    return editInput(line);
  }
  char bytes[MB_LEN_MAX];
  std::mbstate_t state{};
  const std::size_t n = std::wcrtomb(bytes, key, &state);
  if (n == static_cast<std::size_t>(-1)) return Event::kNone;
  search.query.append(bytes, n);
  // The match on screen stays if it still matches the longer query.
  searchFrom(search.shown == Search::kNoEntry ? 0 : search.shown);
  return Event::kNone;
}

void LineEditor::searchFrom(std::size_t from) {
  Search& search = *search_;
  for (std::size_t i = from; i < search.history.size(); ++i) {
    if (search.history[i].find(search.query) != std::string::npos) {
      search.shown = i;
      search.failed = false;
      showSearch();
      return;
    }
  }
  search.failed = true;  // the last match stays on screen, as in bash
  showSearch();
}

void LineEditor::showSearch() {
  const Search& search = *search_;
  redraw([&] {
    prompt_ = (search.failed ? "(failed reverse-i-search)`" : "(reverse-i-search)`") +
              search.query + "': ";
    promptWidth_ = displayWidth(prompt_);
    if (search.shown == Search::kNoEntry) {
      replaceLine(search.line, search.cursor);
    } else {
      const std::string& entry = search.history[search.shown];
      const std::size_t at = search.query.empty() ? 0 : entry.find(search.query);
      replaceLine(entry, at == std::string::npos ? 0 : at);
    }
  });
}

void LineEditor::endSearch(bool keepMatch) {
  Search search = std::move(*search_);
  search_.reset();
  redraw([&] {
    prompt_ = std::move(search.prompt);
    promptWidth_ = displayWidth(prompt_);
    if (!keepMatch) replaceLine(search.line, search.cursor);
  });
}

void LineEditor::replaceLine(const std::string& text, std::size_t cursor) {
  const LineInfo* info = el_line(el_);
  const std::string_view old(info->buffer, static_cast<std::size_t>(info->lastchar - info->buffer));
  const std::string_view afterCursor(info->cursor,
                                     static_cast<std::size_t>(info->lastchar - info->cursor));
  el_cursor(el_, static_cast<int>(codePoints(afterCursor)));  // to the end
  el_deletestr(el_, static_cast<int>(codePoints(old)));
  if (!text.empty()) el_insertstr(el_, text.c_str());
  el_cursor(el_, -static_cast<int>(codePoints(std::string_view(text).substr(cursor))));
}

void LineEditor::redraw(const std::function<void()>& change) {
  if (!started_) {
    change();
    return;
  }
  eraseInputArea();
  change();
  std::fflush(out_);
  el_set(el_, EL_REFRESH);  // libedit now draws on a blank input area
}

std::size_t LineEditor::terminalColumns() const {
  winsize size{};
  if (::ioctl(::fileno(out_), TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return 80;
}

void LineEditor::eraseInputArea() {
  const LineInfo* info = el_line(el_);
  const std::size_t cursorColumn =
      promptWidth_ + displayWidth(std::string_view(
                         info->buffer, static_cast<std::size_t>(info->cursor - info->buffer)));
  const std::size_t row = cursorColumn / terminalColumns();
  if (row > 0) std::fprintf(out_, "\033[%zuA", row);
  // Clears the first row, then everything after its first column: "clear to the end of
  // the screen" at the top-left corner makes tmux (scroll-on-clear) push the whole
  // screen into its history, leaving a stale copy of the line there.
  std::fputs("\r\033[2K\033[2G\033[J\r", out_);
}

void LineEditor::printAbove(std::string_view text) {
  if (!started_) {
    std::fwrite(text.data(), 1, text.size(), out_);
    std::fputc('\n', out_);
    std::fflush(out_);
    return;
  }
  redraw([&] {
    // The terminal is in raw mode: end every line with "\r\n" ourselves.
    for (char c : text) {
      if (c == '\n') std::fputc('\r', out_);
      std::fputc(c, out_);
    }
    std::fputs("\r\n", out_);
  });
}

void LineEditor::resize() {
  if (!started_) {
    el_resize(el_);
    return;
  }
  // libedit only learns the new size: it then believes the cursor is at the start of
  // the input area, and its next redraw lands in the wrong place (and a line drawn at
  // the old width stays broken there). Erase what is on screen, assuming the terminal
  // has rewrapped it to the new width, as tmux, VTE, kitty and iTerm2 do, and draw it
  // again for the new width.
  redraw([&] { el_resize(el_); });
}

}  // namespace classchat::client
