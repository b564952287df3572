// Signals as events: the handlers only write the signal number to a pipe, which the
// poll loop (or the line editor, while it asks a question) reads.
#pragma once

#include <vector>

namespace classchat::client {

// Catches SIGINT, SIGTERM, SIGHUP and SIGWINCH, and ignores SIGPIPE. Call once, first.
void installSignalHandlers();

// The read end of the pipe: readable when a signal has arrived.
int signalFd();

// The signals that arrived since the last call, oldest first (does not block).
std::vector<int> takeSignals();

}  // namespace classchat::client
