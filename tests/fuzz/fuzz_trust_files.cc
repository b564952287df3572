// libFuzzer target: the --accounts and --bans file readers. A bad line must be an error
// that names its line, never a crash; a list that parses must survive its own round trip.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "server/account_table.h"
#include "server/ban_list.h"

using namespace classchat::server;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string error;
  if (!AccountTable::parse(text, error) && !error.starts_with("line ")) std::abort();
  error.clear();
  std::optional<BanList> bans = BanList::parse(text, error);
  if (!bans) {
    if (!error.starts_with("line ")) std::abort();
    return 0;
  }
  const std::string written = bans->serialize();
  std::optional<BanList> again = BanList::parse(written, error);
  if (!again || again->serialize() != written) std::abort();
  return 0;
}
