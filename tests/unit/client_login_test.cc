#include "client/login.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace classchat::client {
namespace {

TEST(LoginReply, ReadsTheServersAnswers) {
  EXPECT_EQ(classifyLoginReply("'alice' is a protected name: log in within 30 s with "
                               "{\"to\":\"/login\",\"msg\":\"PASSWORD\"}"),
            LoginReply::kPasswordRequested);
  EXPECT_EQ(classifyLoginReply("Logged in. Welcome alice! You are the only one online."),
            LoginReply::kLoggedIn);
  EXPECT_EQ(classifyLoginReply("Logged in as admin (/help lists the teacher's commands). "
                               "Welcome teacher! Online now (1): bob."),
            LoginReply::kLoggedIn);
  EXPECT_EQ(classifyLoginReply("Error: wrong password for 'alice'"), LoginReply::kWrongPassword);
  EXPECT_EQ(classifyLoginReply("Error: too many wrong passwords for 'alice' or from your "
                               "address; try again in 299 s"),
            LoginReply::kTooManyAttempts);
  EXPECT_EQ(classifyLoginReply("Error: no /login within 30000 ms"), LoginReply::kTimedOut);
  EXPECT_EQ(classifyLoginReply("Error: the server is busy checking passwords; try again in a "
                               "moment"),
            LoginReply::kBusy);
  EXPECT_EQ(classifyLoginReply("Error: your last /login is still being checked"),
            LoginReply::kBusy);
  EXPECT_EQ(classifyLoginReply("Error: 'bob' is banned until lifted"), LoginReply::kOtherError);
}

TEST(LoginReply, AWelcomeOrAMessageIsNotAboutLoggingIn) {
  EXPECT_EQ(classifyLoginReply("Welcome alice! You are the only one online."), LoginReply::kOther);
  // Only the server's own sentence asks for a password, not text that mentions it later.
  EXPECT_EQ(classifyLoginReply("hi 'alice' is a protected name: log in within 30 s"),
            LoginReply::kOther);
  EXPECT_EQ(classifyLoginReply(""), LoginReply::kOther);
}

TEST(WelcomeAfterLogin, SkipsTheLoginPrefix) {
  EXPECT_EQ(welcomeAfterLogin("Logged in. Welcome alice! Online now (1): bob."),
            "Welcome alice! Online now (1): bob.");
  EXPECT_EQ(welcomeAfterLogin("Logged in as admin (/help lists the teacher's commands). "
                              "Welcome teacher! You are the only one online."),
            "Welcome teacher! You are the only one online.");
  EXPECT_EQ(welcomeAfterLogin("Welcome bob! You are the only one online."),
            "Welcome bob! You are the only one online.");
}

TEST(IsLoginLine, RecognisesTheCommandWithAnyCaseAndSpacing) {
  EXPECT_TRUE(isLoginLine("/login secret"));
  EXPECT_TRUE(isLoginLine("/login"));
  EXPECT_TRUE(isLoginLine("  /LOGIN\tsecret"));
  EXPECT_FALSE(isLoginLine("/loginx secret"));
  EXPECT_FALSE(isLoginLine("//login secret"));
  EXPECT_FALSE(isLoginLine("@bob /login secret"));
  EXPECT_FALSE(isLoginLine(""));
}

TEST(PasswordFileMode, OnlyTheOwnerMayHaveAccess) {
  EXPECT_EQ(describePasswordFileMode("pw", S_IFREG | 0600), "");
  EXPECT_EQ(describePasswordFileMode("pw", S_IFREG | 0400), "");
  EXPECT_EQ(describePasswordFileMode("pw", S_IFREG | 0700), "");
  EXPECT_EQ(describePasswordFileMode("pw", S_IFREG | 0644),
            "permissions 0644 for 'pw' are too open: a password file must be readable only by "
            "you (chmod 600 'pw')");
  EXPECT_NE(describePasswordFileMode("pw", S_IFREG | 0640), "");
  EXPECT_NE(describePasswordFileMode("pw", S_IFREG | 0602), "");
  EXPECT_NE(describePasswordFileMode("pw", S_IFREG | 0610), "");
}

TEST(PasswordFromContents, IsTheFirstLineWithoutItsEnding) {
  EXPECT_EQ(passwordFromContents("secret\n"), "secret");
  EXPECT_EQ(passwordFromContents("secret"), "secret");
  EXPECT_EQ(passwordFromContents("secret\r\nmore\n"), "secret");
  EXPECT_EQ(passwordFromContents(" two words \n"), " two words ");  // spaces are kept
  EXPECT_EQ(passwordFromContents("\nsecret\n"), "");
  EXPECT_EQ(passwordFromContents(""), "");
}

class PasswordFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/classchat-login-test-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/password";
  }
  void TearDown() override {
    std::remove(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  void write(const std::string& text, mode_t mode) {
    std::ofstream(path_) << text;
    ASSERT_EQ(::chmod(path_.c_str(), mode), 0);
  }
  std::string dir_;
  std::string path_;
};

TEST_F(PasswordFileTest, ReadsTheFirstLine) {
  write("hunter2\nignored\n", 0600);
  std::string password;
  EXPECT_EQ(readPasswordFile(path_, password), "");
  EXPECT_EQ(password, "hunter2");
}

TEST_F(PasswordFileTest, RefusesAFileOthersCanRead) {
  write("hunter2\n", 0644);
  std::string password;
  EXPECT_NE(readPasswordFile(path_, password).find("are too open"), std::string::npos);
  EXPECT_EQ(password, "");
}

TEST_F(PasswordFileTest, RefusesAnEmptyOrMissingFile) {
  write("\n", 0600);
  std::string password;
  EXPECT_NE(readPasswordFile(path_, password).find("empty first line"), std::string::npos);
  EXPECT_NE(readPasswordFile(dir_ + "/missing", password).find("cannot open"), std::string::npos);
}

TEST(Wipe, ClearsTheSecret) {
  std::string secret = "hunter2";
  wipe(secret);
  EXPECT_TRUE(secret.empty());
}

}  // namespace
}  // namespace classchat::client
