#include "server/moderation.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace classchat::server {
namespace {

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class ModerationFileTest : public ::testing::Test {
 protected:
  ModerationFileTest() {
    dir_ = std::filesystem::temp_directory_path() /
           ("classchat-bans-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "bans").string();
  }
  ~ModerationFileTest() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(ModerationFileTest, BansAreWrittenAtomicallyAndSurviveARestart) {
  std::string error;
  {
    Moderation moderation(path_);
    ASSERT_TRUE(moderation.load(error)) << error;  // a missing file is no bans
    ASSERT_TRUE(moderation.ban(Ban{"bob", false, std::nullopt, "teacher", "spam"}, error)) << error;
    ASSERT_TRUE(moderation.ban(Ban{"10.1.2.3", true, std::nullopt, "teacher", ""}, error));
    EXPECT_FALSE(std::filesystem::exists(path_ + ".tmp")) << "the temporary file is renamed";
    EXPECT_NE(readFile(path_).find("name bob never teacher spam\n"), std::string::npos);
  }
  Moderation restarted(path_);
  ASSERT_TRUE(restarted.load(error)) << error;
  EXPECT_TRUE(restarted.banOn("Bob", false));
  EXPECT_TRUE(restarted.banOn("10.1.2.3", true));
  ASSERT_TRUE(restarted.unban("bob", error));
  Moderation again(path_);
  ASSERT_TRUE(again.load(error));
  EXPECT_FALSE(again.banOn("bob", false));
}

TEST_F(ModerationFileTest, AMalformedFileIsRefusedAndTheOldBansKept) {
  std::string error;
  Moderation moderation(path_);
  ASSERT_TRUE(moderation.ban(Ban{"bob", false, std::nullopt, "t", ""}, error));
  std::ofstream(path_) << "name bob never t\ngarbage here\n";
  EXPECT_FALSE(moderation.load(error));
  EXPECT_EQ(error, path_ + ": line 2: expected 'name' or 'address' first");
  EXPECT_TRUE(moderation.banOn("bob", false));
}

TEST_F(ModerationFileTest, AnUnwritableFileIsReportedButTheBanHolds) {
  Moderation moderation((dir_ / "missing-dir" / "bans").string());
  std::string error;
  EXPECT_FALSE(moderation.ban(Ban{"bob", false, std::nullopt, "t", ""}, error));
  EXPECT_NE(error.find("cannot write"), std::string::npos) << error;
  EXPECT_TRUE(moderation.banOn("bob", false));
}

TEST(Moderation, WrongPasswordsAreLimitedPerNameAndPerAddress) {
  Moderation moderation;
  for (std::size_t i = 0; i < Moderation::kMaxFailuresPerName; ++i) {
    EXPECT_EQ(moderation.loginBlockedFor("alice", "10.0.0.1").count(), 0) << i;
    moderation.loginFailed("alice", "10.0.0.1");
  }
  EXPECT_GT(moderation.loginBlockedFor("ALICE", "10.0.0.9").count(), 0) << "per name";
  EXPECT_EQ(moderation.loginBlockedFor("bob", "10.0.0.9").count(), 0);
  moderation.loginSucceeded("alice");
  EXPECT_EQ(moderation.loginBlockedFor("alice", "10.0.0.9").count(), 0);

  for (std::size_t i = 0; i < Moderation::kMaxFailuresPerAddress; ++i) {
    moderation.loginFailed("user" + std::to_string(i), "10.0.0.66");
  }
  EXPECT_GT(moderation.loginBlockedFor("someone", "10.0.0.66").count(), 0) << "per address";
  EXPECT_LE(moderation.loginBlockedFor("someone", "10.0.0.66"), Moderation::kFailureWindow);
}

TEST(Moderation, MutesExpire) {
  Moderation moderation;
  moderation.mute("bob", WallClock::now() + std::chrono::minutes(5));
  moderation.mute("carol", WallClock::now() - std::chrono::seconds(1));
  EXPECT_TRUE(moderation.mutedUntil("BOB"));
  EXPECT_FALSE(moderation.mutedUntil("carol"));
  moderation.unmute("bob");
  EXPECT_FALSE(moderation.mutedUntil("bob"));
}

}  // namespace
}  // namespace classchat::server
