#include "hub/name_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <list>
#include <random>
#include <string>
#include <vector>

#include "protocol/names.h"

namespace classchat::server {
namespace {

// Random inserts and erasures, many more than one block holds, checked after each batch
// against a sorted copy: order, size, every rank, pages from any position, and that the
// blocks stay few.
TEST(NameIndex, MatchesASortedListThroughInsertsAndErasures) {
  std::mt19937 random(11);
  std::list<std::string> owned;  // stable addresses, as a replica's keys are
  std::vector<std::string> expected;
  NameIndex index;
  for (int round = 0; round < 40; ++round) {
    for (int change = 0; change < 100; ++change) {
      const bool grow = round < 20 ? random() % 4 != 0 : random() % 4 == 0;
      if (grow || expected.empty()) {
        // Built by appending only: GCC 12 at -O3 warns falsely (-Wrestrict) on "u" + string.
        std::string name(1, random() % 2 ? 'u' : 'U');
        name += std::to_string(random() % 100000);
        const bool taken = std::any_of(expected.begin(), expected.end(), [&](const auto& n) {
          return protocol::namesEqual(n, name);
        });
        if (taken) continue;
        owned.push_back(name);
        index.insert(&owned.back());
        expected.push_back(name);
      } else {
        const std::size_t victim = random() % expected.size();
        std::string name = expected[victim];
        for (char& c : name) c = static_cast<char>(std::toupper(c));  // erased ignoring case
        index.erase(name);
        expected.erase(expected.begin() + static_cast<std::ptrdiff_t>(victim));
      }
    }
    std::sort(expected.begin(), expected.end(), protocol::nameLess);
    ASSERT_EQ(index.size(), expected.size()) << round;
    std::vector<std::string_view> all;
    index.collect(0, expected.size() + 5, all);
    ASSERT_EQ(std::vector<std::string>(all.begin(), all.end()), expected) << round;
    for (std::size_t i = 0; i < expected.size(); ++i) {
      ASSERT_EQ(index.rankOf(expected[i]), std::optional<std::size_t>(i)) << expected[i];
    }
    EXPECT_FALSE(index.rankOf("nobody"));
    for (std::size_t first : {std::size_t{0}, expected.size() / 3, expected.size() - 1}) {
      std::vector<std::string_view> page;
      index.collect(first, 24, page);
      const std::size_t end = std::min(first + 24, expected.size());
      ASSERT_EQ(std::vector<std::string>(page.begin(), page.end()),
                std::vector<std::string>(expected.begin() + static_cast<std::ptrdiff_t>(first),
                                         expected.begin() + static_cast<std::ptrdiff_t>(end)));
    }
    // Blocks are at least a quarter full on average, whatever the history.
    EXPECT_LE(index.blockCount(), expected.size() / (NameIndex::kMaxBlock / 4) + 2) << round;
  }
}

TEST(NameIndex, ErasingAMissingNameChangesNothing) {
  std::string a = "alice", b = "bob";
  NameIndex index;
  index.insert(&a);
  index.insert(&b);
  index.erase("carol");
  index.erase("");
  EXPECT_EQ(index.size(), 2u);
  EXPECT_EQ(index.rankOf("BOB"), std::optional<std::size_t>(1));
}

}  // namespace
}  // namespace classchat::server
