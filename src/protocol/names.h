// Username rules: which names may register and how they compare.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace classchat::protocol {

inline constexpr std::size_t kMaxNameLength = 32;

enum class NameVerdict {
  kValid,
  kEmpty,
  kTooLong,
  kBadCharacter,  // outside A-Z a-z 0-9 _ - .
  // SERVER, Everyone or Guest once '_', '-' and '.' are removed, in any case (so also
  // `Server.` and `g_u_e_s_t`), or a leading '/'.
  kReserved,
};

// Checks `name` against the registration rules. Thread-safe (pure).
NameVerdict checkName(std::string_view name);

// A one-sentence reason for a refused verdict, without the "Error: " prefix.
// `name` is quoted safely (sanitised and shortened) inside the sentence.
std::string describeRefusal(NameVerdict verdict, std::string_view name);

// ASCII case-insensitive equality and hashing: "Bob" and "bob" are one name.
bool namesEqual(std::string_view a, std::string_view b);
std::size_t nameHash(std::string_view name);

// Transparent hash/equality for containers keyed by name (heterogeneous lookup).
struct NameHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return nameHash(s); }
};
struct NameEqual {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const { return namesEqual(a, b); }
};
// Case-insensitive ordering, used to list names in a stable order.
bool nameLess(std::string_view a, std::string_view b);

}  // namespace classchat::protocol
