// The online names in nameLess order, with ranks, in about ten bytes a name.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace classchat::server {

// An ordered index over names owned elsewhere (a LocalHub replica's keys, whose addresses
// are stable), for /list pages and the welcome's first names: sorted blocks of at most
// kMaxBlock pointers. Finding a rank walks the blocks (about N/100 of them) and then
// bisects one; inserting or erasing moves at most one block's pointers. A balanced tree
// would make ranks O(log N), but costs some 64 bytes a name in every loop's replica
// against about 10 here, and the server's budget is 1 KB per idle connection.
//
// Names must be distinct under nameLess's equivalence (case-insensitive equality), as a
// replica's are. Thread-safety: none; used by one loop.
class NameIndex {
 public:
  static constexpr std::size_t kMaxBlock = 128;

  void insert(const std::string* name);
  // Removes the entry equivalent to `name`, if any.
  void erase(std::string_view name);
  std::size_t size() const { return size_; }
  // The 0-based position of `name` (ignoring case), or nullopt.
  std::optional<std::size_t> rankOf(std::string_view name) const;
  // Appends up to `count` names from position `first` on to `out`.
  void collect(std::size_t first, std::size_t count, std::vector<std::string_view>& out) const;
  std::size_t blockCount() const { return blocks_.size(); }

 private:
  using Block = std::vector<const std::string*>;
  // The first block whose last name is not before `name` (end() if none).
  std::vector<Block>::const_iterator blockFor(std::string_view name) const;

  std::vector<Block> blocks_;  // each sorted and non-empty; in order one after another
  std::size_t size_ = 0;
};

}  // namespace classchat::server
