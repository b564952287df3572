#include "hub/name_index.h"

#include <algorithm>

#include "protocol/names.h"

namespace classchat::server {
namespace {

char lowerAscii(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// nameLess without its case tie-break: the index holds no two names equal ignoring case,
// so among its entries this is nameLess's order, and a lookup in any case finds the entry.
bool foldedLess(std::string_view a, std::string_view b) {
  const std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    const char x = lowerAscii(a[i]);
    const char y = lowerAscii(b[i]);
    if (x != y) return x < y;
  }
  return a.size() < b.size();
}

bool entryLess(const std::string* entry, std::string_view name) {
  return foldedLess(*entry, name);
}

}  // namespace

std::vector<NameIndex::Block>::const_iterator NameIndex::blockFor(std::string_view name) const {
  return std::partition_point(blocks_.begin(), blocks_.end(),
                              [&](const Block& block) { return entryLess(block.back(), name); });
}

void NameIndex::insert(const std::string* name) {
  if (blocks_.empty()) {
    blocks_.push_back(Block{name});
    ++size_;
    return;
  }
  auto found = blockFor(*name);
  if (found == blocks_.end()) --found;  // after every name: the last block takes it
  const auto index = static_cast<std::size_t>(found - blocks_.begin());
  Block& block = blocks_[index];
  block.insert(std::lower_bound(block.begin(), block.end(), *name, entryLess), name);
  ++size_;
  if (block.size() > kMaxBlock) {
    // Split in halves, each exactly sized, so a block's slack stays under one half.
    const auto middle = block.begin() + static_cast<std::ptrdiff_t>(block.size() / 2);
    Block upper(middle, block.end());
    block.erase(middle, block.end());
    block.shrink_to_fit();
    blocks_.insert(blocks_.begin() + static_cast<std::ptrdiff_t>(index) + 1, std::move(upper));
  }
}

void NameIndex::erase(std::string_view name) {
  const auto found = blockFor(name);
  if (found == blocks_.end()) return;
  const auto index = static_cast<std::size_t>(found - blocks_.begin());
  Block& block = blocks_[index];
  const auto at = std::lower_bound(block.begin(), block.end(), name, entryLess);
  if (at == block.end() || foldedLess(name, **at)) return;  // not there
  block.erase(at);
  --size_;
  if (block.empty()) {
    blocks_.erase(blocks_.begin() + static_cast<std::ptrdiff_t>(index));
    return;
  }
  // Merge a block that fell to a quarter into its neighbour, so that erasures cannot
  // leave many small blocks to walk.
  if (block.size() < kMaxBlock / 4 && index + 1 < blocks_.size() &&
      block.size() + blocks_[index + 1].size() <= kMaxBlock) {
    Block& next = blocks_[index + 1];
    block.insert(block.end(), next.begin(), next.end());
    blocks_.erase(blocks_.begin() + static_cast<std::ptrdiff_t>(index) + 1);
  }
}

std::optional<std::size_t> NameIndex::rankOf(std::string_view name) const {
  std::size_t before = 0;
  for (const Block& block : blocks_) {
    if (entryLess(block.back(), name)) {
      before += block.size();
      continue;
    }
    const auto at = std::lower_bound(block.begin(), block.end(), name, entryLess);
    if (foldedLess(name, **at)) return std::nullopt;
    return before + static_cast<std::size_t>(at - block.begin());
  }
  return std::nullopt;
}

void NameIndex::collect(std::size_t first, std::size_t count,
                        std::vector<std::string_view>& out) const {
  for (const Block& block : blocks_) {
    if (count == 0) return;
    if (first >= block.size()) {
      first -= block.size();
      continue;
    }
    const std::size_t taken = std::min(count, block.size() - first);
    for (std::size_t i = first; i < first + taken; ++i) out.emplace_back(*block[i]);
    count -= taken;
    first = 0;
  }
}

}  // namespace classchat::server
