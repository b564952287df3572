#include "client/input.h"

#include <gtest/gtest.h>

namespace classchat::client {
namespace {

TEST(ClientInput, AtNameSendsADirectMessage) {
  const InputAction action = parseInput("@bob hello there", "");
  EXPECT_EQ(action.kind, InputKind::kSend);
  EXPECT_EQ(action.to, "bob");
  EXPECT_EQ(action.msg, "hello there");
}

TEST(ClientInput, TrailingNewlineAndCarriageReturnAreIgnored) {
  const InputAction action = parseInput("@bob hi\r\n", "");
  EXPECT_EQ(action.kind, InputKind::kSend);
  EXPECT_EQ(action.msg, "hi");
}

TEST(ClientInput, AtNameWithoutTextGivesAHint) {
  const InputAction action = parseInput("@bob", "");
  EXPECT_EQ(action.kind, InputKind::kHint);
  EXPECT_NE(action.hint.find("/to bob"), std::string::npos);
  EXPECT_EQ(parseInput("@ hi", "").kind, InputKind::kHint);
}

TEST(ClientInput, AtAnInvalidNameGivesAHint) {
  EXPECT_EQ(parseInput("@bo!b hi", "").kind, InputKind::kHint);
  const InputAction everyone = parseInput("@Everyone hi", "");
  EXPECT_EQ(everyone.kind, InputKind::kHint);
  EXPECT_NE(everyone.hint.find("/shout"), std::string::npos);
}

TEST(ClientInput, CommandsGoToTheServerWithTheirArguments) {
  const InputAction shout = parseInput("/shout pizza in room 4", "");
  EXPECT_EQ(shout.kind, InputKind::kSend);
  EXPECT_EQ(shout.to, "/shout");
  EXPECT_EQ(shout.msg, "pizza in room 4");

  const InputAction list = parseInput("/list", "");
  EXPECT_EQ(list.kind, InputKind::kSend);
  EXPECT_EQ(list.to, "/list");
  EXPECT_EQ(list.msg, "");

  const InputAction page = parseInput("/list 2", "");
  EXPECT_EQ(page.msg, "2");

  for (const char* command : {"/time", "/standard"}) {
    const InputAction action = parseInput(command, "bob");
    EXPECT_EQ(action.kind, InputKind::kSend) << command;
    EXPECT_EQ(action.to, command);
    EXPECT_EQ(action.msg, "");
  }
}

TEST(ClientInput, HelpIsTheClientsAndHelpServerTheServers) {
  EXPECT_EQ(parseInput("/help", "").kind, InputKind::kHelp);
  EXPECT_EQ(parseInput("/HELP", "bob").kind, InputKind::kHelp);
  EXPECT_EQ(parseInput("/help me", "").kind, InputKind::kHelp);
  const InputAction server = parseInput("/help  Server ", "");
  EXPECT_EQ(server.kind, InputKind::kSend);
  EXPECT_EQ(server.to, "/help");
  EXPECT_EQ(server.msg, "");
}

TEST(ClientInput, UnknownCommandsAreSentAsTheyAre) {
  const InputAction action = parseInput("/dance  the  tango ", "");
  EXPECT_EQ(action.kind, InputKind::kSend);
  EXPECT_EQ(action.to, "/dance");
  EXPECT_EQ(action.msg, "the  tango");
}

TEST(ClientInput, ShoutWithoutTextGivesAHint) {
  EXPECT_EQ(parseInput("/shout", "").kind, InputKind::kHint);
  EXPECT_EQ(parseInput("/shout   ", "").kind, InputKind::kHint);
}

TEST(ClientInput, QuitInAnyCase) {
  EXPECT_EQ(parseInput("/quit", "").kind, InputKind::kQuit);
  EXPECT_EQ(parseInput("/QUIT now", "bob").kind, InputKind::kQuit);
}

TEST(ClientInput, ToOpensAndClosesAConversation) {
  const InputAction open = parseInput("/to bob", "");
  EXPECT_EQ(open.kind, InputKind::kOpenConversation);
  EXPECT_EQ(open.to, "bob");
  EXPECT_EQ(parseInput("/to", "bob").kind, InputKind::kCloseConversation);
  EXPECT_EQ(parseInput("/to bob carol", "").kind, InputKind::kHint);
  EXPECT_EQ(parseInput("/to SERVER", "").kind, InputKind::kHint);
}

TEST(ClientInput, PlainLinesGoToTheConversation) {
  const InputAction action = parseInput("see you at 3?", "bob");
  EXPECT_EQ(action.kind, InputKind::kSend);
  EXPECT_EQ(action.to, "bob");
  EXPECT_EQ(action.msg, "see you at 3?");
}

TEST(ClientInput, PlainLineWithoutConversationGetsAOneLineHint) {
  const InputAction action = parseInput("hello?", "");
  EXPECT_EQ(action.kind, InputKind::kHint);
  EXPECT_EQ(action.hint.find('\n'), std::string::npos);
  EXPECT_NE(action.hint.find("@name"), std::string::npos);
}

TEST(ClientInput, DoubleSlashIsPlainTextStartingWithSlash) {
  const InputAction action = parseInput("//shrug", "bob");
  EXPECT_EQ(action.kind, InputKind::kSend);
  EXPECT_EQ(action.to, "bob");
  EXPECT_EQ(action.msg, "/shrug");
  EXPECT_EQ(parseInput("//shrug", "").kind, InputKind::kHint);
}

TEST(ClientInput, BlankLinesDoNothing) {
  EXPECT_EQ(parseInput("", "bob").kind, InputKind::kNothing);
  EXPECT_EQ(parseInput("   \t", "bob").kind, InputKind::kNothing);
  EXPECT_EQ(parseInput("\n", "").kind, InputKind::kNothing);
}

TEST(ClientInput, NameProblemsAreSaidInWordsForAPerson) {
  EXPECT_EQ(describeNameProblem("alice_2"), "");
  EXPECT_EQ(describeNameProblem("a.b-c"), "");

  const std::string empty = describeNameProblem("");
  EXPECT_EQ(empty,
            "Please type a name: 1 to 32 letters (A-Z, a-z), digits, dots, dashes or underscores.");

  EXPECT_EQ(describeNameProblem("no spaces allowed"),
            "'no spaces allowed' has a space: use only letters A-Z a-z, digits, dots, dashes "
            "and underscores.");
  EXPECT_EQ(describeNameProblem("jos\xC3\xA9"),
            "'jos\xC3\xA9' has '\xC3\xA9': use only letters A-Z a-z, digits, dots, dashes and "
            "underscores.");
  EXPECT_NE(describeNameProblem("tab\there").find("has a control character"), std::string::npos);
  EXPECT_EQ(describeNameProblem(std::string(33, 'a')),
            "'" + std::string(33, 'a') + "' is too long: a name has at most 32 characters.");
  EXPECT_EQ(describeNameProblem("SERVER"), "'SERVER' is reserved; please choose another name.");
  EXPECT_EQ(describeNameProblem("/quit"), "A name cannot start with '/'.");

  // Sentences for a person: no protocol words, and one full stop at the end.
  for (const char* name : {"", "a b", "SERVER", "/x", "jos\xC3\xA9"}) {
    const std::string text = describeNameProblem(name);
    EXPECT_EQ(text.find("bytes"), std::string::npos) << text;
    EXPECT_EQ(text.find(".."), std::string::npos) << text;
    EXPECT_TRUE(text.ends_with('.')) << text;
  }
}

}  // namespace
}  // namespace classchat::client
