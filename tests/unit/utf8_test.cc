#include "protocol/utf8.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace classchat::protocol {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

TEST(IsValidUtf8, AcceptsAsciiAndWellFormedSequences) {
  EXPECT_TRUE(isValidUtf8(""));
  EXPECT_TRUE(isValidUtf8("hello"));
  EXPECT_TRUE(isValidUtf8(std::string_view("\0", 1)));
  EXPECT_TRUE(isValidUtf8("\x7F"));
  EXPECT_TRUE(isValidUtf8("\xC2\x80"));          // U+0080, smallest 2-byte
  EXPECT_TRUE(isValidUtf8("caf\xC3\xA9"));       // é
  EXPECT_TRUE(isValidUtf8("\xDF\xBF"));          // U+07FF
  EXPECT_TRUE(isValidUtf8("\xE0\xA0\x80"));      // U+0800, smallest 3-byte
  EXPECT_TRUE(isValidUtf8("\xED\x9F\xBF"));      // U+D7FF, just below the surrogates
  EXPECT_TRUE(isValidUtf8("\xEE\x80\x80"));      // U+E000, just above them
  EXPECT_TRUE(isValidUtf8("\xEF\xBF\xBD"));      // U+FFFD
  EXPECT_TRUE(isValidUtf8("\xF0\x90\x80\x80"));  // U+10000, smallest 4-byte
  EXPECT_TRUE(isValidUtf8("\xF0\x9F\x98\x80"));  // emoji
  EXPECT_TRUE(isValidUtf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF, the largest
}

TEST(IsValidUtf8, RefusesOverlongEncodings) {
  EXPECT_FALSE(isValidUtf8("\xC0\xAF"));  // '/' in 2 bytes
  EXPECT_FALSE(isValidUtf8("\xC1\xBF"));
  EXPECT_FALSE(isValidUtf8("\xE0\x80\xAF"));      // '/' in 3 bytes
  EXPECT_FALSE(isValidUtf8("\xE0\x9F\xBF"));      // U+07FF in 3 bytes
  EXPECT_FALSE(isValidUtf8("\xF0\x80\x80\xAF"));  // '/' in 4 bytes
  EXPECT_FALSE(isValidUtf8("\xF0\x8F\xBF\xBF"));  // U+FFFF in 4 bytes
}

TEST(IsValidUtf8, RefusesSurrogates) {
  EXPECT_FALSE(isValidUtf8("\xED\xA0\x80"));              // U+D800
  EXPECT_FALSE(isValidUtf8("\xED\xBF\xBF"));              // U+DFFF
  EXPECT_FALSE(isValidUtf8("\xED\xA0\xBD\xED\xB8\x80"));  // a CESU-8 surrogate pair
}

TEST(IsValidUtf8, RefusesValuesPastU10FFFF) {
  EXPECT_FALSE(isValidUtf8("\xF4\x90\x80\x80"));  // U+110000
  EXPECT_FALSE(isValidUtf8("\xF5\x80\x80\x80"));
  EXPECT_FALSE(isValidUtf8("\xF7\xBF\xBF\xBF"));
  EXPECT_FALSE(isValidUtf8("\xF8\x88\x80\x80\x80"));  // old 5-byte form
  EXPECT_FALSE(isValidUtf8("\xFE"));
  EXPECT_FALSE(isValidUtf8("\xFF"));
}

TEST(IsValidUtf8, RefusesTruncatedAndStrayBytes) {
  EXPECT_FALSE(isValidUtf8("\xC3"));          // lead byte at the end
  EXPECT_FALSE(isValidUtf8("\xE2\x82"));      // 2 of 3 bytes
  EXPECT_FALSE(isValidUtf8("\xF0\x9F\x98"));  // 3 of 4 bytes
  EXPECT_FALSE(isValidUtf8("\xE2\x82x"));     // continuation replaced by ASCII
  EXPECT_FALSE(isValidUtf8("\x80"));          // lone continuation byte
  EXPECT_FALSE(isValidUtf8("ab\xBF"));
  EXPECT_FALSE(isValidUtf8("\xC3\xA9\xA9"));  // one continuation too many
  EXPECT_FALSE(isValidUtf8("ok\xF0\x9F\x98\x80\xF0"));
}

TEST(SanitizeForEcho, KeepsShortValidTextAsItIs) {
  EXPECT_EQ(sanitizeForEcho(""), "");
  EXPECT_EQ(sanitizeForEcho("alice"), "alice");
  EXPECT_EQ(sanitizeForEcho("caf\xC3\xA9 \xF0\x9F\x98\x80"), "caf\xC3\xA9 \xF0\x9F\x98\x80");
  // Control characters are left for the JSON writer to escape.
  EXPECT_EQ(sanitizeForEcho("a\nb"), "a\nb");
}

TEST(SanitizeForEcho, ReplacesInvalidBytesWithTheReplacementCharacter) {
  EXPECT_EQ(sanitizeForEcho("a\xFF"
                            "b"),
            "a" + std::string(kReplacement) + "b");
  EXPECT_EQ(sanitizeForEcho("\xC0\xAF"), std::string(kReplacement) + std::string(kReplacement));
  const std::string cleaned = sanitizeForEcho("x\xED\xA0\x80y\xF0\x9F\x98");
  EXPECT_TRUE(isValidUtf8(cleaned));
  EXPECT_EQ(cleaned.front(), 'x');
  EXPECT_NE(cleaned.find("y"), std::string::npos);
  EXPECT_NE(cleaned.find(kReplacement), std::string::npos);
}

TEST(SanitizeForEcho, TruncatesLongTextWithAnEllipsis) {
  const std::string text(100, 'a');
  EXPECT_EQ(sanitizeForEcho(text), std::string(40, 'a') + "...");
  EXPECT_EQ(sanitizeForEcho(text, 10), std::string(10, 'a') + "...");
  // Exactly the limit is not cut.
  EXPECT_EQ(sanitizeForEcho(std::string(40, 'a')), std::string(40, 'a'));
  EXPECT_EQ(sanitizeForEcho(std::string(41, 'a')), std::string(40, 'a') + "...");
}

TEST(SanitizeForEcho, CutsAtACharacterBoundary) {
  // 2-byte characters with an odd limit: the cut falls before the split character.
  std::string accents;
  for (int i = 0; i < 30; ++i) accents += "\xC3\xA9";
  const std::string cut = sanitizeForEcho(accents, 41);
  EXPECT_EQ(cut.size(), 40u + 3u);
  EXPECT_TRUE(isValidUtf8(cut));
  EXPECT_EQ(cut.substr(40), "...");

  // A 4-byte emoji straddling the limit is dropped whole.
  const std::string emoji = std::string(38, 'a') + "\xF0\x9F\x98\x80" + "tail";
  EXPECT_EQ(sanitizeForEcho(emoji, 40), std::string(38, 'a') + "...");
}

TEST(SanitizeForEcho, ResultIsAlwaysValidUtf8) {
  // Every single byte and every byte pair after a lead byte.
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; b += 7) {
      const std::string text = {'x', static_cast<char>(a), static_cast<char>(b), 'y'};
      const std::string cleaned = sanitizeForEcho(text);
      ASSERT_TRUE(isValidUtf8(cleaned)) << a << " " << b;
      EXPECT_EQ(isValidUtf8(text), cleaned == text) << a << " " << b;
    }
  }
}

}  // namespace
}  // namespace classchat::protocol
