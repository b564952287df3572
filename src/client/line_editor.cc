#include "client/line_editor.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

#include <climits>
#include <cstring>
#include <cwchar>

#include "client/signals.h"

namespace classchat::client {
namespace {

constexpr char kInvisible = '\1';
constexpr int kHistorySize = 500;

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

int LineEditor::readKey(EditLine* el, wchar_t* out) {
  LineEditor& self = editorOf(el);
  char bytes[MB_LEN_MAX];
  std::size_t length = 0;
  for (;;) {
    pollfd fds[2] = {{self.inFd_, POLLIN, 0}, {self.asking_ ? signalFd() : -1, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (fds[1].revents & POLLIN) {
      for (const int signo : takeSignals()) {
        if (signo == SIGWINCH) {
          el_resize(el);
        } else {
          self.interrupted_ = true;
        }
      }
      if (self.interrupted_) return 0;  // read as the end of input
      continue;
    }
    if (fds[0].revents == 0) continue;
    const ssize_t n = ::read(self.inFd_, bytes + length, 1);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return -1;
    }
    if (n == 0) return 0;
    ++length;
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
  el_set(el_, EL_UNBUFFERED, 0);  // back to the terminal's original mode
}

void LineEditor::setPrompt(std::string prompt) {
  if (prompt == prompt_) return;
  if (!started_) {
    prompt_ = std::move(prompt);
    promptWidth_ = displayWidth(prompt_);
    return;
  }
  eraseInputArea();
  prompt_ = std::move(prompt);
  promptWidth_ = displayWidth(prompt_);
  std::fflush(out_);
  el_set(el_, EL_REFRESH);
}

LineEditor::Event LineEditor::readChar(std::string& line) {
  int count = 0;
  const char* text = el_gets(el_, &count);
  if (text == nullptr) return count < 0 ? Event::kEndOfInput : Event::kNone;
  const std::string_view typed(text, static_cast<std::size_t>(count));
  if (typed == "\x04") return Event::kEndOfInput;  // Ctrl-D on an empty line
  if (typed.empty() || typed.back() != '\n') return Event::kNone;

  line.assign(typed.substr(0, typed.size() - 1));
  if (!line.empty()) {
    HistEvent event;
    history(history_, &event, H_ENTER, line.c_str());
  }
  // libedit has moved to a fresh line; turning unbuffered mode off and on again
  // resets the line and shows the prompt.
  el_set(el_, EL_UNBUFFERED, 0);
  el_set(el_, EL_UNBUFFERED, 1);
  return Event::kLine;
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
  std::fputs("\r\033[J", out_);
}

void LineEditor::printAbove(std::string_view text) {
  if (!started_) {
    std::fwrite(text.data(), 1, text.size(), out_);
    std::fputc('\n', out_);
    std::fflush(out_);
    return;
  }
  eraseInputArea();
  // The terminal is in raw mode: end every line with "\r\n" ourselves.
  for (char c : text) {
    if (c == '\n') std::fputc('\r', out_);
    std::fputc(c, out_);
  }
  std::fputs("\r\n", out_);
  std::fflush(out_);
  el_set(el_, EL_REFRESH);  // redraws the prompt and the line, cursor where it was
}

void LineEditor::resize() {
  el_resize(el_);
}

}  // namespace classchat::client
