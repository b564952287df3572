#include "client/output.h"

#include <cerrno>
#include <chrono>
#include <cstdio>

#include "client/format.h"

namespace classchat::client {
namespace {

std::string now() {
  return clockStamp(std::chrono::system_clock::now());
}

void printError(std::string_view text) {
  std::fprintf(stderr, "classchat: %s\n", sanitizeForTerminal(text).c_str());
}

}  // namespace

Output::Output(Mode mode, bool colour, LineEditor* editor)
    : mode_(mode), colour_(colour), editor_(editor) {}

void Output::message(const protocol::ServerMessage& message) {
  switch (mode_) {
    case Mode::kListen:
      std::fputs(jsonLine(message).c_str(), stdout);
      std::fputc('\n', stdout);
      flush();
      return;
    case Mode::kSend:
      if (message.isError()) {
        printError(message.msg);
      } else if (message.fromServer()) {
        std::fprintf(stdout, "%s\n", sanitizeForTerminal(message.msg).c_str());
        flush();
      }
      return;
    case Mode::kInteractive:
    case Mode::kScript:
      printLine(formatMessage(message, now(), colour_));
      return;
  }
}

void Output::notice(std::string_view text, bool problem) {
  if (mode_ != Mode::kInteractive) {
    printError(text);
    return;
  }
  printLine(formatNotice(text, problem ? NoticeKind::kProblem : NoticeKind::kInfo, now(), colour_));
}

void Output::printLine(const std::string& text) {
  if (editor_ != nullptr) {
    editor_->printAbove(wrapForTerminal(text, editor_->columns()));
    return;
  }
  std::fputs(text.c_str(), stdout);
  std::fputc('\n', stdout);
  flush();
}

void Output::flush() {
  if (std::fflush(stdout) != 0 && errno == EPIPE) readerGone_ = true;
}

}  // namespace classchat::client
