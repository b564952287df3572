// What a line typed by the user (or read from a script) asks the client to do.
#pragma once

#include <string>
#include <string_view>

namespace classchat::client {

enum class InputKind {
  kNothing,            // a blank line
  kSend,               // send `msg` to `to` (a username or a /command)
  kOpenConversation,   // /to NAME: plain lines now go to `to`
  kCloseConversation,  // /to alone
  kQuit,               // /quit
  kHelp,               // /help: the client's own help (/help server asks the server)
  kHint,               // nothing to send; show `hint` (one sentence)
};

struct InputAction {
  InputKind kind = InputKind::kNothing;
  std::string to;
  std::string msg;
  std::string hint;
};

// Interprets one input line (a trailing "\n" or "\r\n" is ignored):
//   @NAME TEXT      direct message to NAME
//   /to NAME        start a conversation with NAME; "/to" alone ends it
//   /quit           leave
//   /help           the client's help; "/help server" sends /help to the server
//   /CMD ARGS       any other command goes to the server with msg = ARGS
//                   (/shout TEXT, /list [PAGE], /time, /standard, ...)
//   //TEXT          plain text that starts with '/'
//   TEXT            to the open conversation, or a hint when there is none
// `conversation` is the name of the open conversation ("" when none). Pure.
InputAction parseInput(std::string_view line, std::string_view conversation);

// Why `name`, typed at the name prompt, cannot be a username, in words for a person
// (the server's reasons are written for programs); empty when it can. Checked before
// anything is sent, with the same rules as the server (protocol::checkName). Pure.
std::string describeNameProblem(std::string_view name);

}  // namespace classchat::client
