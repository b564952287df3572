// Tab completion: the usernames the client has seen and how a word is completed.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/names.h"

namespace classchat::client {

// The names in a server reply that lists users, or nullopt when `serverText` is not
// such a reply. Understands the /list reply ("Online users (N): a, b, c" with an
// optional "(page ...)" suffix) and the welcome ("Welcome x! Online now (N): a, b and
// 3 more (see /list). ..."). `isFirstPage` is set when the reply starts a listing
// (a welcome, or /list page 1), so the caller can forget the previous listing.
struct ListedNames {
  std::vector<std::string> names;
  bool isFirstPage = true;
};
std::optional<ListedNames> parseListedNames(std::string_view serverText);

// Who the user can complete: the users of the last /list (or welcome) and everyone
// who wrote to this client. Names compare ignoring ASCII case, as on the server.
class NameBook {
 public:
  // Learns from a server reply; returns true if it was a list of users.
  bool learnFromServerReply(std::string_view serverText);
  void addWriter(std::string_view name);
  void forgetListed() { listed_.clear(); }

  // Known names starting with `prefix` (ignoring case), sorted, each once.
  std::vector<std::string> matching(std::string_view prefix) const;

 private:
  struct Less {
    bool operator()(const std::string& a, const std::string& b) const {
      return protocol::nameLess(a, b) && !protocol::namesEqual(a, b);
    }
  };
  std::set<std::string, Less> listed_;
  std::set<std::string, Less> writers_;
};

// What pressing Tab does: replace the last `replaceBytes` bytes before the cursor with
// `insert`. When nothing can be inserted but several names fit, `candidates` lists them.
struct Completion {
  std::size_t replaceBytes = 0;
  std::string insert;
  std::vector<std::string> candidates;
};

// Completes the word that ends at the cursor, given the text before the cursor:
//   first word starting with '/'   a client command (/list, /to, /quit, ...)
//   "@na"                          a username, after the '@'
//   anything else                  a username
// A unique match is completed with a trailing space. Pure.
Completion complete(std::string_view beforeCursor, const NameBook& names);

// The commands the client knows, for completion and help.
const std::vector<std::string>& clientCommands();

}  // namespace classchat::client
