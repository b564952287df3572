// ChatLoop with a hub that answers later, as a cluster's does: the client-visible
// behaviour must be the one of a hub that answers at once (the black-box suite covers
// that one).
#include "server/chat_loop.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "hub/local_hub.h"
#include "hub/name_registry.h"
#include "net/event_loop.h"
#include "net_test_support.h"

namespace classchat::server {
namespace {

// A LocalHub whose claims, reads and acts by name all answer later: the answer is worked
// out at once and handed to `done` from a task posted to the loop.
class LaterHub final : public Hub {
 public:
  LaterHub(net::EventLoop& loop, NameRegistry& registry, LocalDelivery& delivery)
      : loop_(loop), inner_(loop, 0, registry, delivery) {
    inner_.connectPeers({&inner_});
  }

  std::optional<ClaimOutcome> claim(std::string_view name, net::ConnectionId connection,
                                    ClaimDone done) override {
    ++laterAnswers;
    return later(inner_.claim(name, connection, nullptr), std::move(done));
  }
  void release(std::string_view name, net::ConnectionId connection) override {
    inner_.release(name, connection);
  }
  void checkOwnerGone(std::string_view name, std::function<void()> then) override {
    inner_.checkOwnerGone(name, std::move(then));
  }
  std::optional<DirectoryStats> readStats(std::string_view self, StatsDone done) override {
    ++laterAnswers;
    return later(inner_.readStats(self, nullptr), std::move(done));
  }
  std::optional<DirectoryPage> readNames(std::size_t first, std::size_t count,
                                         PageDone done) override {
    ++laterAnswers;
    return later(inner_.readNames(first, count, nullptr), std::move(done));
  }
  DirectOutcome sendDirect(const DirectMessage& message) override {
    return inner_.sendDirect(message);
  }
  SendResult broadcast(std::string_view frame, net::ConnectionId except) override {
    return inner_.broadcast(frame, except);
  }
  std::optional<ActOutcome> actOnName(std::string_view name, SessionAction action,
                                      ActDone done) override {
    ++laterAnswers;
    return later(inner_.actOnName(name, std::move(action), nullptr), std::move(done));
  }
  void actOnAddress(std::string address, SessionAction action) override {
    inner_.actOnAddress(std::move(address), std::move(action));
  }

  LocalHub& inner() { return inner_; }
  int laterAnswers = 0;

 private:
  template <typename T, typename Done>
  std::optional<T> later(std::optional<T> answer, Done done) {
    if (done) loop_.post([done = std::move(done), value = std::move(*answer)] { done(value); });
    return std::nullopt;
  }

  net::EventLoop& loop_;
  LocalHub inner_;
};

class ChatLoopLaterHubTest : public ::testing::Test {
 protected:
  explicit ChatLoopLaterHubTest(std::chrono::microseconds shoutBatchWindow = {}) {
    options_.threads = 1;
    options_.http = false;
    options_.shoutBatchWindow = shoutBatchWindow;
    chat_ = std::make_unique<ChatLoop>(
        loop_, 0, *net::InetAddress::parse("127.0.0.1", 0),
        [this](net::EventLoop& loop, std::uint32_t, LocalDelivery& delivery) {
          auto hub = std::make_unique<LaterHub>(loop, registry_, delivery);
          hub_ = hub.get();
          return hub;
        },
        limiter_, options_, accounts_, moderation_, verifier_);
    chat_->start();
    port_ = chat_->tcp().localAddress().port();
    thread_ = std::make_unique<net::testing::LoopThread>(loop_);
  }
  ~ChatLoopLaterHubTest() override {
    thread_.reset();
    chat_.reset();
  }

  net::Fd connect() { return net::testing::connectTo(port_); }
  // A client registered as `name`, its welcome read.
  net::Fd join(const std::string& name) {
    net::Fd client = connect();
    send(client, name + "\n");
    const std::vector<std::string> welcome = lines(client, 1);
    EXPECT_TRUE(!welcome.empty() && contains(welcome[0], "Welcome " + name + "!")) << name;
    return client;
  }
  static void send(const net::Fd& socket, std::string_view bytes) {
    ASSERT_EQ(::send(socket.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }
  // The next `count` lines from `socket` (fewer if it closes or times out).
  static std::vector<std::string> lines(const net::Fd& socket, std::size_t count) {
    std::vector<std::string> got;
    std::string pending;
    char buffer[4096];
    while (got.size() < count) {
      const std::size_t newline = pending.find('\n');
      if (newline != std::string::npos) {
        got.push_back(pending.substr(0, newline));
        pending.erase(0, newline + 1);
        continue;
      }
      const ssize_t n = ::recv(socket.get(), buffer, 1, 0);  // a byte at a time: no overreach
      if (n <= 0) break;
      pending.append(buffer, static_cast<std::size_t>(n));
    }
    return got;
  }
  static bool contains(const std::string& line, std::string_view text) {
    return line.find(text) != std::string::npos;
  }
  // The next lines from `socket` are as many as `texts`, each containing its text.
  static void expectLines(const net::Fd& socket, const std::vector<std::string_view>& texts) {
    const std::vector<std::string> got = lines(socket, texts.size());
    ASSERT_EQ(got.size(), texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i) {
      EXPECT_TRUE(contains(got[i], texts[i])) << i << ": " << got[i];
    }
  }

  ServerOptions options_;
  NameRegistry registry_;
  ConnectionLimiter limiter_{1000, 1000};
  Accounts accounts_;
  Moderation moderation_;
  PasswordVerifier verifier_;
  net::EventLoop loop_;
  LaterHub* hub_ = nullptr;
  std::unique_ptr<ChatLoop> chat_;
  std::uint16_t port_ = 0;
  std::unique_ptr<net::testing::LoopThread> thread_;
};

// The welcome comes first, and each later reply keeps its place among the session's other
// replies and messages, as with a hub that answers at once.
TEST_F(ChatLoopLaterHubTest, WelcomeComesFirstAndWhatCameWithTheNameIsHandledInOrder) {
  net::Fd alice = connect();
  send(alice,
       "alice\n{\"to\":\"/list\"}\n{\"to\":\"alice\",\"msg\":\"note to self\"}\n"
       "{\"to\":\"/shout\",\"msg\":\"anyone?\"}\n");
  const std::vector<std::string> got = lines(alice, 4);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_TRUE(contains(got[0], "Welcome alice!")) << got[0];
  EXPECT_TRUE(contains(got[1], "You are the only active user!")) << got[1];
  EXPECT_TRUE(contains(got[2], "note to self")) << got[2];
  EXPECT_TRUE(contains(got[3], "Message sent to 0 users")) << got[3];

  net::Fd bob = connect();
  send(bob, "bob\n{\"to\":\"/list\"}\n");
  const std::vector<std::string> bobs = lines(bob, 2);
  ASSERT_EQ(bobs.size(), 2u);
  EXPECT_TRUE(contains(bobs[0], "Welcome bob!")) << bobs[0];
  EXPECT_TRUE(contains(bobs[0], "alice")) << bobs[0];
  EXPECT_TRUE(contains(bobs[1], "Online users (1): alice")) << bobs[1];
  EXPECT_GT(net::testing::runOnLoop(loop_, [&] { return hub_->laterAnswers; }), 4);
}

TEST_F(ChatLoopLaterHubTest, ATakenNameIsRefusedAfterItsRetry) {
  net::Fd alice = connect();
  send(alice, "alice\n");
  ASSERT_TRUE(contains(lines(alice, 1).at(0), "Welcome alice!"));
  net::Fd other = connect();
  send(other, "ALICE\n{\"to\":\"alice\",\"msg\":\"should not arrive\"}\n");
  const auto [text, ending] = net::testing::readToEnd(other.get());
  EXPECT_TRUE(contains(text, "Error: username 'ALICE' is already taken")) << text;
  EXPECT_FALSE(contains(text, "should not arrive"));
}

TEST_F(ChatLoopLaterHubTest, AClaimAnsweredAfterItsConnectionClosedIsGivenBack) {
  {
    net::Fd gone = connect();
    send(gone, "dave\n");
  }  // closed at once: the claim's answer may come after the close
  EXPECT_TRUE(net::testing::eventuallyOnLoop(
      loop_, [&] { return !hub_->inner().find("dave") && chat_->tcp().connectionCount() == 0; }));
  net::Fd dave = connect();
  send(dave, "dave\n");
  EXPECT_TRUE(contains(lines(dave, 1).at(0), "Welcome dave!"));
}

// --shout-batch-ms (a cluster's default): shouts following the last delivered ones within
// the window wait for its end, so each listener is written once for all of them; a DM
// arriving meanwhile sends them first, so nothing overtakes them.
class ChatLoopShoutBatchTest : public ChatLoopLaterHubTest {
 protected:
  ChatLoopShoutBatchTest() : ChatLoopLaterHubTest(std::chrono::milliseconds(300)) {}
};

TEST_F(ChatLoopShoutBatchTest, HeldShoutsComeInOrderBeforeADmAndAtTheEndOfTheirWindow) {
  net::Fd bob = join("bob");
  net::Fd carol = join("carol");
  net::Fd alice = join("alice");
  // One read, so one iteration: "one" goes at once, "two" and "three" are held, the DM to
  // bob sends them first.
  send(alice,
       "{\"to\":\"/shout\",\"msg\":\"one\"}\n{\"to\":\"/shout\",\"msg\":\"two\"}\n"
       "{\"to\":\"/shout\",\"msg\":\"three\"}\n{\"to\":\"bob\",\"msg\":\"dm\"}\n");
  expectLines(bob, {"\"one\"", "\"two\"", "\"three\"", "\"dm\""});
  expectLines(carol, {"\"one\"", "\"two\"", "\"three\""});
  EXPECT_EQ(net::testing::runOnLoop(loop_, [&] { return chat_->metrics().shoutsHeld.value(); }),
            2u);
  // Nothing else comes: a held shout alone goes when its window ends.
  send(alice, "{\"to\":\"/shout\",\"msg\":\"four\"}\n");
  expectLines(carol, {"\"four\""});
  EXPECT_EQ(lines(alice, 4).size(), 4u);  // "Message sent to 2 users" for every shout
}

// A reply to a listener comes after the shouts held for it, as without holding; the
// shouter's own replies do not wait for (or send) what it shouted.
TEST_F(ChatLoopShoutBatchTest, AReplyToAListenerComesAfterTheShoutsHeldForIt) {
  net::Fd bob = join("bob");
  net::Fd alice = join("alice");
  send(alice, "{\"to\":\"/shout\",\"msg\":\"one\"}\n{\"to\":\"/shout\",\"msg\":\"two\"}\n");
  EXPECT_EQ(lines(alice, 2).size(), 2u);  // "Message sent to 1 users", twice
  send(bob, "{\"to\":\"/time\"}\n");      // "two" is usually still held (300 ms)
  expectLines(bob, {"\"one\"", "\"two\"", "Server time"});
}

// A held shout goes to those registered when it arrived, as it would have without holding:
// not to someone who joined while it waited.
TEST_F(ChatLoopShoutBatchTest, AHeldShoutDoesNotReachWhoJoinedWhileItWaited) {
  net::Fd bob = join("bob");
  net::Fd alice = join("alice");
  send(alice, "{\"to\":\"/shout\",\"msg\":\"one\"}\n{\"to\":\"/shout\",\"msg\":\"two\"}\n");
  EXPECT_EQ(lines(alice, 2).size(), 2u);  // "Message sent to 1 users", twice
  net::Fd dave = join("dave");            // "two" is usually still held (300 ms)
  send(alice, "{\"to\":\"dave\",\"msg\":\"hello\"}\n");
  expectLines(dave, {"\"hello\""});
  expectLines(bob, {"\"one\"", "\"two\""});
}

}  // namespace
}  // namespace classchat::server
