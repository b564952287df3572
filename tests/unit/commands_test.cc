#include "server/commands.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "protocol/json_writer.h"
#include "protocol/names.h"
#include "protocol/wire.h"
#include "server/replies.h"

namespace classchat::server {
namespace {

const std::string kLongName(32, 'q');

// A directory of names with recorded deliveries. With `answerLater`, every read answers
// later (as a cluster's hub does): the answers wait in `pending` until runLater().
class FakeHub final : public Hub {
 public:
  void add(std::string name, net::ConnectionId connection) { users_[std::move(name)] = connection; }
  void remove(const std::string& name) { users_.erase(name); }

  std::optional<ClaimOutcome> claim(std::string_view, net::ConnectionId, ClaimDone) override {
    return ClaimOutcome{ClaimResult::kTaken, {}, {}};
  }
  void release(std::string_view, net::ConnectionId) override {}
  void checkOwnerGone(std::string_view, std::function<void()>) override {}
  std::optional<DirectoryStats> readStats(std::string_view self, StatsDone done) override {
    DirectoryStats stats{users_.size(), 0, std::nullopt, unavailable};
    for (const auto& [name, connection] : users_) stats.nameBytes += name.size();
    const std::vector<std::string_view> names = sorted();
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (protocol::namesEqual(names[i], self)) stats.selfRank = i;
    }
    return answer(stats, std::move(done));
  }
  std::optional<DirectoryPage> readNames(std::size_t first, std::size_t count,
                                         PageDone done) override {
    ++pageLookups;
    DirectoryPage page{users_.size(), {}, unavailable};
    const std::vector<std::string_view> names = sorted();
    for (std::size_t i = first; i < names.size() && i - first < count; ++i) {
      page.names.emplace_back(names[i]);
    }
    return answer(std::move(page), std::move(done));
  }
  DirectOutcome sendDirect(const DirectMessage& message) override {
    sent.emplace_back(message.senderConnection, std::string(message.to));
    return {};
  }
  SendResult broadcast(std::string_view frame, net::ConnectionId except) override {
    broadcasts.emplace_back(except, std::string(frame));
    return shedBroadcasts ? SendResult::kShed : SendResult::kQueued;
  }
  std::optional<ActOutcome> actOnName(std::string_view name, SessionAction action,
                                      ActDone done) override {
    ActOutcome outcome;
    outcome.unavailable = unavailable;
    for (const auto& [user, connection] : users_) {
      if (unavailable) break;
      if (!protocol::namesEqual(user, name)) continue;
      actions.emplace_back(std::to_string(connection), std::move(action));
      outcome = ActOutcome{true, user, false};
      break;
    }
    return answer(std::move(outcome), std::move(done));
  }
  void actOnAddress(std::string address, SessionAction action) override {
    actions.emplace_back(std::move(address), std::move(action));
  }

  // Runs the answers kept by answerLater, in order.
  void runLater() {
    while (!pending.empty()) {
      auto next = std::move(pending.front());
      pending.erase(pending.begin());
      next();
    }
  }

  // (connection id or address, action)
  std::vector<std::pair<std::string, SessionAction>> actions;
  bool shedBroadcasts = false;
  bool answerLater = false;
  bool unavailable = false;  // every read answers "the directory could not be read"
  std::vector<std::function<void()>> pending;
  int pageLookups = 0;
  std::vector<std::pair<net::ConnectionId, std::string>> sent;
  std::vector<std::pair<net::ConnectionId, std::string>> broadcasts;

 private:
  template <typename T, typename Done>
  std::optional<T> answer(T value, Done done) {
    if (!answerLater) return value;
    if (done) pending.emplace_back([done, value] { done(value); });
    return std::nullopt;
  }
  std::vector<std::string_view> sorted() const {
    std::vector<std::string_view> names;
    for (const auto& [name, connection] : users_) names.push_back(name);
    std::sort(names.begin(), names.end(), protocol::nameLess);
    return names;
  }
  std::map<std::string, net::ConnectionId> users_;
};

class FakeContext final : public CommandContext, public LaterReplies {
 public:
  FakeContext(FakeHub& hub, std::string name, net::ConnectionId connection)
      : hub_(hub), name_(std::move(name)), connection_(connection) {}
  std::string_view senderName() const override { return name_; }
  std::string_view senderIp() const override { return "10.0.0.7"; }
  net::ConnectionId senderConnection() const override { return connection_; }
  Hub& hub() override { return hub_; }
  void reply(std::string_view text) override { replies.emplace_back(text); }
  LaterReply replyLater() override { return LaterReply(*this, connection_); }
  void replyTo(net::ConnectionId connection, std::string_view text) override {
    EXPECT_EQ(connection, connection_);
    replies.emplace_back(text);
  }
  bool senderIsAdmin() const override { return admin; }
  Moderation& moderation() override { return moderation_; }
  void login(std::string_view password) override { logins.emplace_back(password); }

  std::vector<std::string> replies;
  std::vector<std::string> logins;
  bool admin = false;

 private:
  Moderation moderation_;
  FakeHub& hub_;
  std::string name_;
  net::ConnectionId connection_;
};

protocol::ClientMessage messageTo(std::string_view to, std::optional<std::string_view> msg) {
  protocol::ClientMessage message;
  message.to = to;
  message.hasTo = true;
  message.msg = msg;
  return message;
}

// Runs command `name` for `context` and returns its replies.
std::vector<std::string> run(FakeContext& context, std::string_view name,
                             std::optional<std::string_view> msg = std::nullopt) {
  const Command* command = findCommand(name);
  EXPECT_NE(command, nullptr) << name;
  if (command == nullptr) return {};
  command->handler(context, messageTo(name, msg));
  return context.replies;
}

TEST(CommandTable, HasTheRequiredCommands) {
  std::set<std::string> names;
  for (const Command& command : commandTable()) names.emplace(command.name);
  for (const char* required : {"/list", "/time", "/shout", "/help", "/standard"}) {
    EXPECT_EQ(names.count(required), 1u) << required;
  }
}

TEST(CommandTable, EntriesAreWellFormed) {
  std::vector<std::string> lowered;
  for (const Command& command : commandTable()) {
    ASSERT_GE(command.name.size(), 2u);
    EXPECT_EQ(command.name.front(), '/') << command.name;
    EXPECT_EQ(command.name.find_first_of(" \t\n"), std::string_view::npos) << command.name;
    EXPECT_FALSE(command.help.empty()) << command.name;
    EXPECT_EQ(command.help.find_first_of("\r\n"), std::string_view::npos) << command.name;
    EXPECT_EQ(command.usage.find_first_of("\r\n"), std::string_view::npos) << command.name;
    EXPECT_NE(command.handler, nullptr) << command.name;
    std::string name(command.name);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    lowered.push_back(name);
  }
  std::sort(lowered.begin(), lowered.end());
  EXPECT_EQ(std::adjacent_find(lowered.begin(), lowered.end()), lowered.end())
      << "command names must be unique ignoring case";
}

TEST(FindCommand, IgnoresCaseAndRefusesUnknownNames) {
  for (const Command& command : commandTable()) {
    EXPECT_EQ(findCommand(command.name), &command);
    std::string upper(command.name);
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_EQ(findCommand(upper), &command) << upper;
  }
  EXPECT_EQ(findCommand("/LiSt"), findCommand("/list"));
  for (const char* unknown : {"", "/", "list", "/lis", "/lists", "/x", " /list", "/list "}) {
    EXPECT_EQ(findCommand(unknown), nullptr) << '"' << unknown << '"';
  }
}

TEST(HelpText, MentionsEveryCommandAndItsHelp) {
  const std::string text = helpText(true);  // an admin sees every command
  EXPECT_EQ(text.rfind("Available commands", 0), 0u) << text;
  for (const Command& command : commandTable()) {
    EXPECT_NE(text.find(std::string(command.name) + " "), std::string::npos) << command.name;
    EXPECT_NE(text.find(command.help), std::string::npos) << command.name;
  }
  EXPECT_EQ(text.find('\n'), std::string::npos);
}

TEST(HelpText, FitsOneKibibyteForTheLongestName) {
  EXPECT_LE(protocol::serverFrame(kLongName, helpText()).size(), protocol::kSmallReplyBytes);
}

TEST(Commands, HelpAndStandardReplyWithTheirTexts) {
  FakeHub hub;
  FakeContext help(hub, "alice", 1);
  EXPECT_EQ(run(help, "/help"), std::vector<std::string>{helpText()});
  FakeContext standard(hub, "alice", 1);
  EXPECT_EQ(run(standard, "/STANDARD"), std::vector<std::string>{standardText()});
}

TEST(Commands, TimeRepliesWithTheClock) {
  FakeHub hub;
  FakeContext context(hub, "alice", 1);
  const std::vector<std::string> replies = run(context, "/time");
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_TRUE(std::regex_match(replies[0], std::regex(R"(Server time: \d\d:\d\d:\d\d)")))
      << replies[0];
}

TEST(Commands, ListLeavesOutTheRequester) {
  FakeHub hub;
  hub.add("alice", 1);
  hub.add("Bob", 2);
  hub.add("carol", 3);
  FakeContext context(hub, "alice", 1);
  EXPECT_EQ(run(context, "/list"), std::vector<std::string>{"Online users (2): Bob, carol"});

  FakeHub lonely;
  lonely.add("alice", 1);
  FakeContext alone(lonely, "alice", 1);
  EXPECT_EQ(run(alone, "/list"), std::vector<std::string>{"You are the only active user!"});
}

TEST(Commands, ListPagesFitTheRequestersFrame) {
  FakeHub hub;
  for (int i = 0; i < 500; ++i) hub.add("user" + std::to_string(i) + std::string(24, 'z'), i + 2);
  hub.add(kLongName, 1);
  for (const char* page : {"", "2", "page 3"}) {
    FakeContext context(hub, kLongName, 1);
    const std::vector<std::string> replies = run(context, "/list", page);
    ASSERT_EQ(replies.size(), 1u);
    EXPECT_EQ(replies[0].rfind("Online users (500): ", 0), 0u) << replies[0];
    EXPECT_LE(protocol::serverFrame(kLongName, replies[0]).size(), protocol::kSmallReplyBytes);
  }
}

TEST(Commands, ShoutBroadcastsFromTheSenderToEveryone) {
  FakeHub hub;
  hub.add("alice", 1);
  hub.add("bob", 2);
  hub.add("carol", 3);
  FakeContext context(hub, "alice", 1);
  EXPECT_EQ(run(context, "/shout", "hi \"all\""),
            std::vector<std::string>{"Message sent to 2 users"});
  ASSERT_EQ(hub.broadcasts.size(), 1u);
  EXPECT_EQ(hub.broadcasts[0].first, 1u);  // everyone but the sender
  std::string expected;
  protocol::appendMessageFrame(expected, "alice", "10.0.0.7", protocol::kEveryone, "hi \"all\"");
  EXPECT_EQ(hub.broadcasts[0].second, expected);
  EXPECT_TRUE(hub.sent.empty());
}

TEST(Commands, ShoutWithoutTextIsAnError) {
  FakeHub hub;
  hub.add("alice", 1);
  FakeContext missing(hub, "alice", 1);
  const std::vector<std::string> replies = run(missing, "/shout");
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].rfind("Error:", 0), 0u) << replies[0];

  FakeContext notString(hub, "alice", 1);
  protocol::ClientMessage message = messageTo("/shout", std::nullopt);
  message.msgPresentButNotString = true;
  findCommand("/shout")->handler(notString, message);
  ASSERT_EQ(notString.replies.size(), 1u);
  EXPECT_EQ(notString.replies[0].rfind("Error:", 0), 0u) << notString.replies[0];
  EXPECT_TRUE(hub.broadcasts.empty());
}

TEST(Commands, ShoutThatCouldNotReachEveryLoopSaysSo) {
  FakeHub hub;
  hub.add("alice", 1);
  hub.add("bob", 2);
  hub.shedBroadcasts = true;
  FakeContext context(hub, "alice", 1);
  const std::vector<std::string> replies = run(context, "/shout", "hi");
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].rfind("Error: the server is too busy", 0), 0u) << replies[0];
}

TEST(Commands, ListAndShoutShareTheShoutBudget) {
  EXPECT_EQ(findCommand("/list")->rateClass, RateClass::kShout);
  EXPECT_EQ(findCommand("/shout")->rateClass, RateClass::kShout);
  EXPECT_EQ(findCommand("/time")->rateClass, RateClass::kMessage);
}

// Every page, wherever the requester sorts, equals the page cut from the full list, and is
// built from one lookup of the page's names rather than the whole directory.
TEST(Commands, ListPagesMatchTheFullListWhereverTheRequesterSorts) {
  FakeHub hub;
  std::vector<std::string> everyone;
  for (int i = 0; i < 300; ++i) everyone.push_back("user" + std::to_string(1000 + i));
  for (std::size_t i = 0; i < everyone.size(); ++i) hub.add(everyone[i], i + 1);
  for (const std::string& requester :
       {everyone.front(), everyone[37], everyone[150], everyone.back()}) {
    std::vector<std::string_view> others;
    for (const std::string& name : everyone) {
      if (name != requester) others.push_back(name);
    }
    for (int page = 1; page <= 20; ++page) {
      FakeContext context(hub, requester, 1);
      const int lookupsBefore = hub.pageLookups;
      const std::vector<std::string> replies = run(context, "/list", std::to_string(page));
      ASSERT_EQ(replies.size(), 1u);
      EXPECT_EQ(replies[0], userListText(others, std::to_string(page), smallReplyBudget(requester)))
          << requester << " page " << page;
      EXPECT_LE(hub.pageLookups - lookupsBefore, 1);
    }
  }
}

TEST(Commands, ShoutWhenAloneReachesNobody) {
  FakeHub hub;
  hub.add("alice", 1);
  FakeContext context(hub, "alice", 1);
  EXPECT_EQ(run(context, "/shout", "anyone?"), std::vector<std::string>{"Message sent to 0 users"});
}

const Command& command(std::string_view name) {
  const Command* found = findCommand(name);
  EXPECT_NE(found, nullptr) << name;
  return *found;
}

TEST(ModerationCommands, AreAdminOnlyAndHiddenFromOthersHelp) {
  for (std::string_view name :
       {"/kick", "/ban", "/unban", "/bans", "/mute", "/unmute", "/announce"}) {
    EXPECT_TRUE(command(name).adminOnly) << name;
    EXPECT_EQ(helpText(false).find(std::string(name) + " "), std::string::npos) << name;
    EXPECT_NE(helpText(true).find(std::string(name) + " "), std::string::npos) << name;
  }
  EXPECT_FALSE(command("/login").adminOnly);
  EXPECT_LE(protocol::serverFrame(kLongName, helpText(false)).size(), protocol::kSmallReplyBytes);
}

TEST(ModerationCommands, KickDisconnectsTheUserWithTheReason) {
  FakeHub hub;
  hub.add("bob", 42);
  FakeContext teacher(hub, "teacher", 1);
  teacher.admin = true;
  command("/kick").handler(teacher, messageTo("/kick", "BOB stop spamming"));
  ASSERT_EQ(hub.actions.size(), 1u);
  EXPECT_EQ(hub.actions[0].first, "42");
  EXPECT_EQ(hub.actions[0].second.kind, SessionAction::Kind::kDisconnect);
  EXPECT_NE(hub.actions[0].second.notice.find("stop spamming"), std::string::npos);
  EXPECT_EQ(teacher.replies, std::vector<std::string>{"Kicked bob"});

  command("/kick").handler(teacher, messageTo("/kick", "nobody"));
  EXPECT_EQ(teacher.replies.back(), "Error: user 'nobody' not found");
  command("/kick").handler(teacher, messageTo("/kick", "teacher"));
  EXPECT_EQ(hub.actions.size(), 1u);
}

TEST(ModerationCommands, BanTakesANameOrAnAddressWithOptionalMinutes) {
  FakeHub hub;
  hub.add("bob", 42);
  FakeContext teacher(hub, "teacher", 1);
  command("/ban").handler(teacher, messageTo("/ban", "bob 10 rude"));
  const std::optional<Ban> ban = teacher.moderation().banOn("BOB", false);
  ASSERT_TRUE(ban);
  ASSERT_TRUE(ban->until);
  EXPECT_NEAR(std::chrono::duration<double>(*ban->until - WallClock::now()).count(), 600, 5);
  EXPECT_EQ(ban->reason, "rude");
  EXPECT_EQ(ban->by, "teacher");
  ASSERT_EQ(hub.actions.size(), 1u);  // bob is online: disconnected too
  EXPECT_EQ(hub.actions[0].first, "42");

  command("/ban").handler(teacher, messageTo("/ban", "10.0.0.23 flooding"));
  const std::optional<Ban> address = teacher.moderation().banOn("10.0.0.23", true);
  ASSERT_TRUE(address);
  EXPECT_FALSE(address->until);  // no minutes: until lifted
  EXPECT_EQ(address->reason, "flooding");
  ASSERT_EQ(hub.actions.size(), 2u);
  EXPECT_EQ(hub.actions[1].first, "10.0.0.23");

  command("/ban").handler(teacher, messageTo("/ban", "not/a/name"));
  EXPECT_NE(teacher.replies.back().find("Error:"), std::string::npos);
  command("/unban").handler(teacher, messageTo("/unban", "bob"));
  EXPECT_FALSE(teacher.moderation().banOn("bob", false));
  command("/unban").handler(teacher, messageTo("/unban", "bob"));
  EXPECT_EQ(teacher.replies.back(), "Error: 'bob' is not banned");
  command("/bans").handler(teacher, messageTo("/bans", std::nullopt));
  EXPECT_NE(teacher.replies.back().find("address 10.0.0.23 until lifted by teacher (flooding)"),
            std::string::npos)
      << teacher.replies.back();
}

TEST(ModerationCommands, MuteNeedsMinutesAndTellsTheUser) {
  FakeHub hub;
  hub.add("bob", 42);
  FakeContext teacher(hub, "teacher", 1);
  command("/mute").handler(teacher, messageTo("/mute", "bob"));
  EXPECT_NE(teacher.replies.back().find("Error: /mute needs a name and minutes"),
            std::string::npos);
  command("/mute").handler(teacher, messageTo("/mute", "bob 5 too loud"));
  ASSERT_EQ(hub.actions.size(), 1u);
  EXPECT_EQ(hub.actions[0].second.kind, SessionAction::Kind::kMute);
  EXPECT_TRUE(teacher.moderation().mutedUntil("Bob"));
  command("/unmute").handler(teacher, messageTo("/unmute", "bob"));
  EXPECT_FALSE(teacher.moderation().mutedUntil("bob"));
  EXPECT_EQ(hub.actions.back().second.kind, SessionAction::Kind::kUnmute);
}

TEST(ModerationCommands, AnnounceBroadcastsFromServer) {
  FakeHub hub;
  hub.add("teacher", 1);
  hub.add("bob", 42);
  FakeContext teacher(hub, "teacher", 1);
  command("/announce").handler(teacher, messageTo("/announce", "exam at 3"));
  ASSERT_EQ(hub.broadcasts.size(), 1u);
  EXPECT_EQ(hub.broadcasts[0].second,
            protocol::serverFrame("Everyone", "Announcement from teacher: exam at 3"));
  EXPECT_EQ(teacher.replies.back(), "Announced to 1 users");
}

// A cluster's hub answers later: the handler returns with nothing sent, and each reply
// comes, with the same text, when the answer does.
// alice, bob and carol online, in a hub whose every read answers later.
void addThreeAnsweringLater(FakeHub& hub) {
  hub.add("alice", 1);
  hub.add("bob", 2);
  hub.add("carol", 3);
  hub.answerLater = true;
}

TEST(Commands, RepliesWaitForAHubThatAnswersLater) {
  FakeHub hub;
  addThreeAnsweringLater(hub);
  FakeContext alice(hub, "alice", 1);
  alice.admin = true;
  const struct {
    const char* command;
    const char* msg;
    const char* reply;
  } cases[] = {
      {"/list", "", "Online users (2): bob, carol"},
      {"/shout", "hi", "Message sent to 2 users"},
      {"/announce", "exam", "Announced to 2 users"},
      {"/kick", "BOB bye", "Kicked bob"},
      {"/kick", "nobody", "Error: user 'nobody' not found"},
  };
  for (const auto& c : cases) {
    alice.replies.clear();
    command(c.command).handler(alice, messageTo(c.command, c.msg));
    EXPECT_TRUE(alice.replies.empty()) << c.command << ": " << alice.replies.front();
    hub.runLater();
    EXPECT_EQ(alice.replies, std::vector<std::string>{c.reply}) << c.command;
  }
}

// In a cluster, someone may leave on another node between /list's two reads (the count,
// then the page). The page's own count shows it, and the reply is made from a fresh read
// rather than from a header and a page that disagree ("Online users (2): carol").
TEST(Commands, ListStartsOverWhenTheDirectoryChangesBetweenItsReads) {
  FakeHub hub;
  addThreeAnsweringLater(hub);
  FakeContext alice(hub, "alice", 1);
  command("/list").handler(alice, messageTo("/list", ""));
  hub.remove("bob");  // after the count was read, before the page is
  hub.runLater();
  EXPECT_EQ(alice.replies, std::vector<std::string>{"Online users (1): carol"});
}

// A directory that changes between every pair of reads gets an answer all the same.
TEST(Commands, ListAnswersAfterAFewAttemptsUnderConstantChange) {
  FakeHub hub;
  hub.add("alice", 1);
  for (int i = 0; i < 10; ++i) hub.add("user" + std::to_string(i), 10 + i);
  hub.answerLater = true;
  FakeContext alice(hub, "alice", 1);
  command("/list").handler(alice, messageTo("/list", ""));
  int removed = 0;
  while (!hub.pending.empty()) {
    auto next = std::move(hub.pending.front());
    hub.pending.erase(hub.pending.begin());
    hub.remove("user" + std::to_string(removed++));
    next();
  }
  ASSERT_EQ(alice.replies.size(), 1u);
  EXPECT_EQ(alice.replies[0].rfind("Online users (", 0), 0u) << alice.replies[0];
  EXPECT_EQ(removed, 6);  // three attempts of two reads each
}

TEST(Commands, ListAndKickSayWhenTheDirectoryIsUnavailable) {
  FakeHub hub;
  hub.add("alice", 1);
  hub.add("bob", 2);
  hub.unavailable = true;
  FakeContext alice(hub, "alice", 1);
  alice.admin = true;
  EXPECT_EQ(run(alice, "/list"),
            std::vector<std::string>{"Error: the chat directory is unavailable, try again"});
  alice.replies.clear();
  EXPECT_EQ(run(alice, "/kick", "bob"),
            std::vector<std::string>{"Error: the chat directory is unavailable, try again"});
  EXPECT_TRUE(hub.actions.empty());
}

TEST(ModerationCommands, LoginHandsThePasswordToTheSession) {
  FakeHub hub;
  FakeContext alice(hub, "alice", 1);
  command("/login").handler(alice, messageTo("/login", "s3cret"));
  EXPECT_EQ(alice.logins, std::vector<std::string>{"s3cret"});
  command("/login").handler(alice, messageTo("/login", std::nullopt));
  EXPECT_EQ(alice.replies.back(), "Error: /login needs your password in 'msg'");
}

}  // namespace
}  // namespace classchat::server
