#include "protocol/byte_scan.h"

#include <string>

#include <gtest/gtest.h>

namespace classchat::protocol {
namespace {

// Every position around the 16-byte blocks, so both the vector loop and the tail are hit.
TEST(ByteScan, FindAnyOfFindsTheFirstOfThreeAtEveryPosition) {
  for (std::size_t size = 0; size <= 40; ++size) {
    for (std::size_t at = 0; at <= size; ++at) {
      std::string text(size, 'x');
      if (at < size) text[at] = '}';
      if (at + 1 < size) text[at + 1] = '{';  // a later hit must not win
      const char* end = text.data() + text.size();
      EXPECT_EQ(findAnyOf(text.data(), end, '{', '}', '"') - text.data(),
                static_cast<std::ptrdiff_t>(at))
          << "size " << size << " at " << at;
    }
  }
}

TEST(ByteScan, FindJsonEscapeStopsAtQuotesBackslashesAndControlsOnly) {
  for (const char special : {'"', '\\', '\n', '\x01', '\x1f'}) {
    for (std::size_t at = 0; at < 35; ++at) {
      std::string text(35, 'a');
      text[at] = special;
      EXPECT_EQ(findJsonEscape(text.data(), text.data() + text.size()) - text.data(),
                static_cast<std::ptrdiff_t>(at))
          << static_cast<int>(special) << " at " << at;
    }
  }
  // Bytes of multi-byte UTF-8 (0x80 and up), DEL and space need no escape: signed
  // comparison would wrongly flag the high bytes as controls.
  const std::string plain = "\xc3\xa9\xe2\x82\xac\x7f \x20 ~ padding past sixteen bytes \xff\x80";
  const char* end = plain.data() + plain.size();
  EXPECT_EQ(findJsonEscape(plain.data(), end), end);
}

}  // namespace
}  // namespace classchat::protocol
