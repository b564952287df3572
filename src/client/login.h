// Logging in to a protected name (the server's --accounts, PROTOCOL.md "/login"): how
// the server's answers read, the password file, and which typed lines are secret.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

namespace classchat::client {

// What a server line means while the client registers or logs in.
enum class LoginReply {
  kOther,              // nothing to do with logging in
  kPasswordRequested,  // "'alice' is a protected name: log in within 30 s with ..."
  kLoggedIn,           // "Logged in. Welcome alice! ..." (the welcome)
  kWrongPassword,      // "Error: wrong password for 'alice'"
  kTooManyAttempts,    // "Error: too many wrong passwords ... try again in N s"
  kTimedOut,           // "Error: no /login within 30000 ms" (the server then closes)
  kBusy,               // the server could not check the password now; it may later
  kOtherError,         // any other "Error: ..."
};

// Classifies `msg`, the text of a line from SERVER. Pure.
LoginReply classifyLoginReply(std::string_view msg);

// The welcome inside a "Logged in..." answer ("Welcome alice! Online now ..."), so that
// it can be read like a plain welcome; `msg` itself when there is no such prefix.
std::string_view welcomeAfterLogin(std::string_view msg);

// True for a typed line that carries a password ("/login secret"): it is sent, but
// never kept in the line editor's history.
bool isLoginLine(std::string_view line);

// The problem with a password file of mode `mode` (st_mode), or "" when it is fine. Like
// ssh with a private key, a file that others may read or write is refused: the password
// in it is no longer a secret, or someone else chooses it.
std::string describePasswordFileMode(std::string_view path, mode_t mode);

// The password in a password file's contents: its first line, without the line ending
// ("\n" or "\r\n"). Pure.
std::string passwordFromContents(std::string_view contents);

// Reads `path` into `password`: the first line, after checking the file's permissions
// (see describePasswordFileMode). Returns the problem as a sentence, or "" on success.
std::string readPasswordFile(const std::string& path, std::string& password);

// Overwrites `secret`'s bytes before clearing it, so that a password does not linger in
// freed memory.
void wipe(std::string& secret);

}  // namespace classchat::client
