#include "server/password_verifier.h"

#include <future>

#include <gtest/gtest.h>

#include "server/accounts.h"

namespace classchat::server {
namespace {

TEST(PasswordVerifier, ChecksOffTheCallersThreadAndReportsBothOutcomes) {
  const std::optional<std::string> hash = hashPassword("correct horse");
  ASSERT_TRUE(hash);
  EXPECT_TRUE(hash->starts_with("$argon2id$"));
  PasswordVerifier verifier;
  std::promise<std::pair<bool, std::thread::id>> right, wrong;
  ASSERT_TRUE(verifier.submit(*hash, "correct horse", [&](bool ok) {
    right.set_value({ok, std::this_thread::get_id()});
  }));
  ASSERT_TRUE(verifier.submit(*hash, "battery staple", [&](bool ok) {
    wrong.set_value({ok, std::this_thread::get_id()});
  }));
  const auto [rightOk, rightThread] = right.get_future().get();
  EXPECT_TRUE(rightOk);
  EXPECT_NE(rightThread, std::this_thread::get_id());
  EXPECT_FALSE(wrong.get_future().get().first);
}

TEST(PasswordVerifier, AFullQueueRefusesInsteadOfGrowing) {
  const std::optional<std::string> hash = hashPassword("pw");
  ASSERT_TRUE(hash);
  PasswordVerifier verifier(1);
  int accepted = 0;
  for (int i = 0; i < 10; ++i) accepted += verifier.submit(*hash, "pw", [](bool) {}) ? 1 : 0;
  // One may be running and one queued; never all ten.
  EXPECT_LE(accepted, 2);
  EXPECT_GE(accepted, 1);
}

TEST(Accounts, LoadKeepsTheOldTableWhenTheFileIsBad) {
  Accounts accounts;
  std::string error;
  EXPECT_FALSE(accounts.load("/nonexistent/accounts", error));
  EXPECT_EQ(error, "/nonexistent/accounts: cannot read it (No such file or directory)");
  EXPECT_EQ(accounts.snapshot()->size(), 0u);
}

}  // namespace
}  // namespace classchat::server
