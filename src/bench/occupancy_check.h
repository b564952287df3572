// The safety check of the modes that shout: is anyone else on the server?
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bench/address.h"
#include "bench/clock.h"
#include "bench/targets.h"

namespace classchat::bench {

struct CommonOptions;

// Who else was online, asked the way a person would: log in, send /list.
struct Occupancy {
  enum class Status : std::uint8_t {
    kAlone,        // the list named nobody but the probe
    kOthers,       // it named someone else (or someone wrote to the probe)
    kUnreachable,  // no connection: there is nobody the run could reach either
    kUnknown,      // connected, but the answer could not be read as a list
  };
  Status status = Status::kUnknown;
  std::vector<std::string> others;  // the names seen (a paged list: its first page)
  std::size_t othersCount = 0;      // "(N)" of the reply when it gives one
  std::string detail;               // what went wrong, or the reply
};

// Connects with a blocking socket, registers as `probeName`, waits for the welcome, sends
// /list and reads the reply, all within `timeout`, then disconnects. Sends nothing to
// anyone. Thread-safe (uses only its own socket).
Occupancy checkOccupancy(const ServerAddress& server, const std::string& probeName, TimeNs timeout);

// Reads a /list reply: "You are the only active user!", or "Online users (N): a, b"
// (classchatd adds " (page 1/3, ...)" to a long list; the class's server may list the
// asker too). Fills the names other than `self`. Returns false if `text` is neither form.
// Pure; public for tests.
bool parseUserList(std::string_view text, std::string_view self, std::vector<std::string>& others,
                   std::size_t& othersCount);

// The exit status of a mode that refused to run because other people were online.
inline constexpr int kExitOthersOnline = 3;

// The guard of every mode that sends shouts: unless --force, checks every target in turn
// with the probe name <prefix>check (<prefix>check2, 3... on the next targets, whose
// lists may still show an earlier probe: those names are not counted) and, if anyone
// else is online at any of them or an answer cannot be read, prints why on stderr and
// returns kExitOthersOnline. Returns 0 to go ahead.
int refuseIfOthersOnline(const CommonOptions& options, const std::vector<Target>& targets,
                         std::string_view mode, std::string_view prefix);

}  // namespace classchat::bench
