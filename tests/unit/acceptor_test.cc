#include "net/acceptor.h"

#include <fcntl.h>
#include <sys/resource.h>

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "net_test_support.h"

namespace classchat::net {
namespace {

using namespace std::chrono_literals;
using testing::connectTo;
using testing::Ending;
using testing::LoopThread;
using testing::readToEnd;
using testing::runOnLoop;

const InetAddress kAnyLoopbackPort = *InetAddress::parse("127.0.0.1", 0);

// Accepted sockets and their peers, in order; loop thread only.
struct Accepted {
  std::vector<Fd> sockets;
  std::vector<InetAddress> peers;
  Acceptor::NewConnectionCallback callback() {
    return [this](Fd socket, const InetAddress& peer) {
      sockets.push_back(std::move(socket));
      peers.push_back(peer);
    };
  }
};

std::uint16_t localPort(int fd) {
  sockaddr_in local{};
  socklen_t length = sizeof local;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length);
  return ntohs(local.sin_port);
}

TEST(Acceptor, AcceptsAndReportsThePeer) {
  EventLoop loop;
  Acceptor acceptor(loop, kAnyLoopbackPort, false);
  Accepted accepted;
  acceptor.start(accepted.callback());
  EXPECT_NE(acceptor.localAddress().port(), 0);
  LoopThread thread(loop);
  Fd client = connectTo(acceptor.localAddress().port());
  ASSERT_TRUE(testing::eventuallyOnLoop(loop, [&] { return accepted.sockets.size() == 1; }));
  const InetAddress peer = runOnLoop(loop, [&] { return accepted.peers[0]; });
  EXPECT_EQ(peer.ip(), "127.0.0.1");
  EXPECT_EQ(peer.port(), localPort(client.get()));
}

TEST(Acceptor, ProbeBindSeesAListenerButNotAClosedOne) {
  EventLoop loop;
  std::optional<Acceptor> acceptor;
  acceptor.emplace(loop, kAnyLoopbackPort, true);
  const InetAddress served = *InetAddress::parse("127.0.0.1", acceptor->localAddress().port());
  // SO_REUSEPORT would let a second listener in; the probe (without it) is refused.
  EXPECT_EQ(Acceptor::probeBind(served), EADDRINUSE);
  EXPECT_NO_THROW(Acceptor(loop, served, true));
  // The wildcard address overlaps the loopback one.
  EXPECT_EQ(Acceptor::probeBind(*InetAddress::parse("0.0.0.0", served.port())), EADDRINUSE);
  acceptor.reset();
  EXPECT_EQ(Acceptor::probeBind(served), 0);
}

TEST(Acceptor, ResumesAcceptingEvenIfWatchingTheListenerAgainFailsAtFirst) {
  EventLoop loop;
  Acceptor acceptor(loop, kAnyLoopbackPort, false);
  Accepted accepted;
  acceptor.start(accepted.callback());
  struct Ignore final : IoHandler {
    void handleEvent(std::uint32_t) override {}
  } squatter;
  LoopThread thread(loop);
  // Pause, and make the first attempts to watch the listener again fail (EEXIST: the
  // descriptor is taken in epoll by someone else).
  runOnLoop(loop, [&] {
    acceptor.pauseAccepting();
    return loop.add(acceptor.fd(), EPOLLIN, &squatter);
  });
  Fd client = connectTo(acceptor.localAddress().port());
  std::this_thread::sleep_for(300ms);  // past the first resume attempt and some retries
  EXPECT_TRUE(runOnLoop(loop, [&] { return acceptor.paused() && accepted.sockets.empty(); }));
  runOnLoop(loop, [&] {
    loop.remove(acceptor.fd());
    return 0;
  });
  // A retry succeeds, and the waiting connection is accepted.
  EXPECT_TRUE(testing::eventuallyOnLoop(loop, [&] { return accepted.sockets.size() == 1; }));
  EXPECT_FALSE(runOnLoop(loop, [&] { return acceptor.paused(); }));
}

// Lowers the open-file limit to what is open now plus `spare`, and puts it back.
class DescriptorLimit {
 public:
  explicit DescriptorLimit(int spare) {
    ::getrlimit(RLIMIT_NOFILE, &saved_);
    int highest = 0;
    for (int fd = 0; fd < 4096; ++fd) {
      if (::fcntl(fd, F_GETFD) != -1) highest = fd;
    }
    rlimit lowered = saved_;
    lowered.rlim_cur = static_cast<rlim_t>(highest + 1 + spare);
    ::setrlimit(RLIMIT_NOFILE, &lowered);
  }
  ~DescriptorLimit() { ::setrlimit(RLIMIT_NOFILE, &saved_); }
  // Takes every descriptor left.
  void exhaust() {
    while (true) {
      Fd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
      if (!fd.valid()) break;
      held_.push_back(std::move(fd));
    }
  }

 private:
  rlimit saved_{};
  std::vector<Fd> held_;
};

TEST(Acceptor, OutOfDescriptorsRefusesWithTheReplyAndLingers) {
#if defined(__SANITIZE_ADDRESS__)
  // The sanitizers' runtime needs descriptors of its own (UBSan's vptr check opens a pipe
  // to probe memory): with none left it reports an error that is not there.
  GTEST_SKIP() << "sanitizers need free descriptors; the optimised build runs this test";
#endif
  EventLoop loop;
  Acceptor acceptor(loop, kAnyLoopbackPort, false);
  acceptor.setOverloadReply("Error: no free connection slots\n");
  Accepted accepted;
  acceptor.start(accepted.callback());
  LoopThread thread(loop);
  // The clients' sockets exist before the descriptors run out.
  Fd first(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  Fd second(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const timeval timeout{10, 0};
  for (int fd : {first.get(), second.get()}) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  }
  const sockaddr_in address = testing::loopback(acceptor.localAddress().port());
  {
    DescriptorLimit limit(16);
    limit.exhaust();
    for (Fd* client : {&first, &second}) {
      ASSERT_EQ(
          ::connect(client->get(), reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
      // Data in flight when refused: still no reset, the reply arrives, then EOF.
      ASSERT_EQ(::send(client->get(), "name", 4, 0), 4);
      const auto [data, ending] = readToEnd(client->get());
      EXPECT_EQ(data, "Error: no free connection slots\n");
      EXPECT_EQ(ending, Ending::kEof);
    }
    EXPECT_EQ(runOnLoop(loop, [&] { return acceptor.refusedForDescriptors(); }), 2u);
  }
  // With descriptors back, connections are accepted again.
  Fd third = connectTo(acceptor.localAddress().port());
  EXPECT_TRUE(testing::eventuallyOnLoop(loop, [&] { return accepted.sockets.size() == 1; }));
}

}  // namespace
}  // namespace classchat::net
