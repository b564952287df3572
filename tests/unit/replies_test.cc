#include "server/replies.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdlib>
#include <ctime>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/json_writer.h"
#include "protocol/wire.h"

namespace classchat::server {
namespace {

const std::string kLongName(32, 'q');  // the longest requester name allowed

std::vector<std::string_view> views(const std::vector<std::string>& names) {
  return {names.begin(), names.end()};
}

// n distinct names of exactly `length` characters, already in nameLess order.
std::vector<std::string> sortedNames(std::size_t n, std::size_t length) {
  std::vector<std::string> names;
  for (std::size_t i = 0; i < n; ++i) {
    std::string number = std::to_string(i);
    number.insert(0, 6 - number.size(), '0');
    names.push_back("u" + number + std::string(length - 7, 'x'));
  }
  return names;
}

std::vector<std::string> split(std::string_view text, std::string_view separator) {
  std::vector<std::string> parts;
  while (true) {
    const std::size_t at = text.find(separator);
    parts.emplace_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + separator.size());
  }
}

TEST(SmallReplyBudget, IsExactlyWhatFitsInOneKibibyte) {
  for (std::string_view to :
       {std::string_view("a"), std::string_view("alice"), std::string_view(kLongName)}) {
    const std::size_t budget = smallReplyBudget(to);
    EXPECT_EQ(protocol::serverFrame(to, std::string(budget, 'x')).size(),
              protocol::kSmallReplyBytes);
  }
}

TEST(WelcomeText, AloneSaysSoAndPointsToHelp) {
  const std::string text = welcomeText("alice", {});
  EXPECT_EQ(text.rfind("Welcome alice! ", 0), 0u) << text;
  EXPECT_NE(text.find("only one online"), std::string::npos) << text;
  EXPECT_NE(text.find("/help"), std::string::npos) << text;
}

TEST(WelcomeText, ListsTheOthers) {
  const std::vector<std::string_view> others = {"bob", "Carol"};
  const std::string text = welcomeText("alice", others);
  EXPECT_EQ(text.rfind("Welcome alice! ", 0), 0u) << text;
  EXPECT_NE(text.find("(2): bob, Carol."), std::string::npos) << text;
  EXPECT_EQ(text.find("more"), std::string::npos) << text;
  EXPECT_NE(text.find("/help"), std::string::npos) << text;
}

TEST(WelcomeText, NeedsOnlyTheShownNamesAndTheCount) {
  const std::vector<std::string> names = sortedNames(25, 8);
  const std::vector<std::string_view> all = views(names);
  const std::span<const std::string_view> firstEleven(all.data(), kWelcomeNames + 1);
  EXPECT_EQ(welcomeText("alice", firstEleven, all.size()), welcomeText("alice", all));
}

TEST(WelcomeText, CapsTheListAndCountsTheRest) {
  const std::vector<std::string> names = sortedNames(25, 8);
  const std::string text = welcomeText("alice", views(names));
  EXPECT_NE(text.find("(25): "), std::string::npos) << text;
  EXPECT_NE(text.find(names[0]), std::string::npos) << text;
  EXPECT_NE(text.find(names[9]), std::string::npos) << text;
  EXPECT_EQ(text.find(names[10]), std::string::npos) << text;
  EXPECT_NE(text.find("and 15 more"), std::string::npos) << text;
  EXPECT_NE(text.find("/help"), std::string::npos) << text;
}

TEST(WelcomeText, FitsOneKibibyteForTheLongestNames) {
  for (std::size_t others : {0u, 1u, 10u, 11u, 20000u}) {
    const std::vector<std::string> names = sortedNames(others, 32);
    const std::string frame =
        protocol::serverFrame(kLongName, welcomeText(kLongName, views(names)));
    EXPECT_LE(frame.size(), protocol::kSmallReplyBytes) << others << " others";
  }
}

TEST(UserListText, AloneSaysYouAreTheOnlyActiveUser) {
  EXPECT_EQ(userListText({}, "", smallReplyBudget("alice")), "You are the only active user!");
  EXPECT_EQ(userListText({}, "2", smallReplyBudget("alice")), "You are the only active user!");
}

TEST(UserListText, SinglePageHasTheExactFormat) {
  const std::vector<std::string_view> others = {"alice", "Bob", "carol"};
  const std::size_t budget = smallReplyBudget("dave");
  EXPECT_EQ(userListText(others, "", budget), "Online users (3): alice, Bob, carol");
  EXPECT_EQ(userListText(others, "hello", budget), "Online users (3): alice, Bob, carol");
  EXPECT_EQ(userListText(others, "1", budget), "Online users (3): alice, Bob, carol");
  EXPECT_EQ(userListText({{"solo"}}, "", budget), "Online users (1): solo");
}

TEST(UserListText, ListThatExactlyFillsTheBudgetIsOnePage) {
  const std::vector<std::string> names = sortedNames(3, 10);
  const std::string full = userListText(views(names), "", 10000);
  EXPECT_EQ(userListText(views(names), "", full.size()), full);
  EXPECT_NE(userListText(views(names), "", full.size() - 1), full);
}

TEST(UserListText, PageBeyondTheLastIsAnError) {
  const std::vector<std::string_view> others = {"alice", "bob"};
  const std::string text = userListText(others, "2", smallReplyBudget("dave"));
  EXPECT_EQ(text.rfind("Error:", 0), 0u) << text;
  EXPECT_EQ(userListText(others, "page 99", smallReplyBudget("dave")).rfind("Error:", 0), 0u);
}

// Walks every page of a long list and checks each fits and that together they cover
// every name exactly once, in order.
void checkPaging(const std::vector<std::string>& names, const std::string& requester) {
  const std::size_t budget = smallReplyBudget(requester);
  const std::string prefix = "Online users (" + std::to_string(names.size()) + "): ";
  const std::regex suffix(R"( \(page (\d+)/(\d+)(, (\d+) more; [^)]*)?\)$)");
  std::vector<std::string> listed;
  std::size_t pages = 0;
  for (std::size_t page = 1; pages == 0 || page <= pages; ++page) {
    const std::string text = userListText(views(names), std::to_string(page), budget);
    const std::string frame = protocol::serverFrame(requester, text);
    ASSERT_LE(frame.size(), protocol::kSmallReplyBytes) << "page " << page << ": " << text;
    ASSERT_LE(text.size(), budget);
    ASSERT_EQ(text.rfind(prefix, 0), 0u) << text;
    std::smatch match;
    ASSERT_TRUE(std::regex_search(text, match, suffix)) << text;
    ASSERT_EQ(std::stoul(match[1]), page) << text;
    if (pages == 0) pages = std::stoul(match[2]);
    ASSERT_EQ(std::stoul(match[2]), pages) << text;
    const std::vector<std::string> onPage = split(
        std::string_view(text).substr(prefix.size(), match.position(0) - prefix.size()), ", ");
    ASSERT_FALSE(onPage.empty());
    listed.insert(listed.end(), onPage.begin(), onPage.end());
    if (page < pages) {
      // "N more" counts the names after this page, and the hint names the next page.
      ASSERT_TRUE(match[4].matched) << text;
      EXPECT_EQ(std::stoul(match[4]), names.size() - listed.size()) << text;
      EXPECT_NE(text.find("msg " + std::to_string(page + 1)), std::string::npos) << text;
    } else {
      EXPECT_FALSE(match[3].matched) << text;
    }
  }
  EXPECT_GT(pages, 1u);
  EXPECT_EQ(listed, names);
  const std::string beyond = userListText(views(names), std::to_string(pages + 1), budget);
  EXPECT_EQ(beyond.rfind("Error:", 0), 0u) << beyond;
}

TEST(UserListText, PagesOfLongNamesFitAndCoverEveryNameOnce) {
  checkPaging(sortedNames(200, 32), kLongName);
}

TEST(UserListText, TwentyThousandUsersPageCorrectly) {
  checkPaging(sortedNames(20000, 32), kLongName);
}

TEST(UserListText, ShortNamesAndAShortRequesterPageCorrectly) {
  std::vector<std::string> names;
  for (int i = 0; i < 2000; ++i) names.push_back("n" + std::to_string(1000 + i));
  checkPaging(names, "a");
}

TEST(UserListText, RecognisesPageRequests) {
  const std::vector<std::string> names = sortedNames(300, 32);
  const std::size_t budget = smallReplyBudget(kLongName);
  const auto pageOf = [&](std::string_view request) {
    const std::string text = userListText(views(names), request, budget);
    std::smatch match;
    const std::regex page(R"(\(page (\d+)/)");
    EXPECT_TRUE(std::regex_search(text, match, page)) << request << " -> " << text;
    return match.empty() ? 0ul : std::stoul(match[1]);
  };
  EXPECT_EQ(pageOf(""), 1u);
  EXPECT_EQ(pageOf("2"), 2u);
  EXPECT_EQ(pageOf("page 2"), 2u);
  EXPECT_EQ(pageOf(" PAGE 3 "), 3u);
  EXPECT_EQ(pageOf("Page\t4\n"), 4u);
  // Anything that is not a page request means page 1.
  for (std::string_view request : {"hello", "0", "-2", "2x", "page", "page two", "1.5", "+2"}) {
    EXPECT_EQ(pageOf(request), 1u) << request;
  }
}

TEST(TimeText, IsHoursMinutesSecondsInLocalTime) {
  const char* savedTz = std::getenv("TZ");
  const std::string saved = savedTz ? savedTz : "";
  ::setenv("TZ", "UTC0", 1);  // POSIX TZ strings need no tzdata
  ::tzset();
  // 2023-11-14 22:13:20 UTC
  const auto when = std::chrono::system_clock::from_time_t(1700000000);
  EXPECT_EQ(timeText(when), "Server time: 22:13:20");
  EXPECT_EQ(timeText(std::chrono::system_clock::from_time_t(1700000000 - 22 * 3600 - 13 * 60 - 15)),
            "Server time: 00:00:05");
  ::setenv("TZ", "XYZ-2", 1);  // two hours east of UTC
  ::tzset();
  EXPECT_EQ(timeText(when), "Server time: 00:13:20");
  if (savedTz) {
    ::setenv("TZ", saved.c_str(), 1);
  } else {
    ::unsetenv("TZ");
  }
  ::tzset();
  EXPECT_TRUE(std::regex_match(timeText(std::chrono::system_clock::now()),
                               std::regex(R"(Server time: \d\d:\d\d:\d\d)")));
}

TEST(StandardText, ShowsEveryFieldAndAValidExample) {
  const std::string text = standardText();
  for (const char* field : {"\"from\"", "\"name\"", "\"ip\"", "\"to\"", "\"msg\""}) {
    EXPECT_NE(text.find(field), std::string::npos) << field;
  }
  const std::size_t example = text.find("Example: ");
  ASSERT_NE(example, std::string::npos);
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  ASSERT_EQ(parser.parse(text.substr(example + 9)).get_object().get(object), simdjson::SUCCESS);
  std::string_view value;
  EXPECT_EQ(object.at_pointer("/from/name").get_string().get(value), simdjson::SUCCESS);
  EXPECT_EQ(object.at_pointer("/from/ip").get_string().get(value), simdjson::SUCCESS);
  EXPECT_EQ(object["to"].get_string().get(value), simdjson::SUCCESS);
  EXPECT_EQ(object["msg"].get_string().get(value), simdjson::SUCCESS);
}

TEST(StandardText, FitsOneKibibyteOnceEscaped) {
  EXPECT_LE(protocol::serverFrame(kLongName, standardText()).size(), protocol::kSmallReplyBytes);
}

}  // namespace
}  // namespace classchat::server
