// Compile-time checks of the generated hub/lua_scripts.h: every script is embedded whole and
// carries a SHA-1 that EVALSHA can use. (The scripts' behaviour is tested against a real
// redis-server in tests/blackbox/test_redis_scripts.py.)
#include "hub/lua_scripts.h"

#include <iterator>

namespace classchat::hub {
namespace {

constexpr bool isLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

consteval bool allScriptsWellFormed() {
  for (const LuaScript& script : kLuaScripts) {
    if (script.source.size() < 100 || script.sha1.size() != 40 || !isLowerHex(script.sha1)) {
      return false;
    }
    // Each file starts with its own documentation, naming the file.
    if (script.source.substr(0, 3) != "-- ") return false;
  }
  return true;
}

static_assert(std::size(kLuaScripts) == 10, "a script was added: list it in CMakeLists.txt");
static_assert(allScriptsWellFormed(), "a Lua script or its SHA-1 was not embedded whole");
static_assert(kClaimScript.find("'fenced'") != std::string_view::npos);

}  // namespace
}  // namespace classchat::hub
