#include "bench/occupancy_check.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>

#include <fmt/format.h>

#include "bench/classchat_driver.h"
#include "bench/common.h"

namespace classchat::bench {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '.')) text.remove_suffix(1);
  return text;
}

// A blocking connection that reads whole frames, each read bounded by one deadline.
class Probe final : public IncomingSink {
 public:
  explicit Probe(TimeNs deadline) : deadline_(deadline) {}
  ~Probe() override {
    if (fd_ >= 0) ::close(fd_);
  }

  // Empty on success, else why not.
  std::string connect(const ServerAddress& server) {
    fd_ = ::socket(server.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return fmt::format("socket: {}", std::strerror(errno));
    // Bounds the blocking connect too (Linux applies the send timeout to it).
    const TimeNs left = std::max<TimeNs>(kMillisecond, deadline_ - nowNs());
    const timeval limit{static_cast<time_t>(left / kSecond),
                        static_cast<suseconds_t>(left % kSecond / 1000)};
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
    if (::connect(fd_, server.get(), server.length) != 0) {
      return fmt::format("connect: {}", std::strerror(errno));
    }
    return {};
  }

  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // The next frame that is not a user's message (users' messages are counted in
  // `messages`), or false at the deadline or when the server closes.
  bool nextServerFrame(Incoming::Kind& kind, std::string& text) {
    while (true) {
      if (!frames_.empty()) {
        kind = frames_.front().first;
        text = std::move(frames_.front().second);
        frames_.erase(frames_.begin());
        return true;
      }
      if (closed_) return false;
      const TimeNs left = deadline_ - nowNs();
      if (left <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(std::max<TimeNs>(1, left / kMillisecond))) <= 0) continue;
      char buffer[4096];
      const ssize_t n = ::read(fd_, buffer, sizeof buffer);
      if (n <= 0) {
        closed_ = true;
        continue;
      }
      input_.append(buffer, static_cast<std::size_t>(n));
      input_.erase(0, driver_.parse(input_, *this));
    }
  }

  void onIncoming(const Incoming& incoming) override {
    if (incoming.kind == Incoming::Kind::kDirect || incoming.kind == Incoming::Kind::kShout) {
      ++messages;
      if (sender.empty()) sender = std::string(incoming.from);
      return;
    }
    frames_.emplace_back(incoming.kind, std::string(incoming.text));
  }

  ClassChatDriver& driver() { return driver_; }

  std::size_t messages = 0;  // direct messages and shouts that reached the probe
  std::string sender;        // the first of their senders

 private:
  TimeNs deadline_;
  int fd_ = -1;
  bool closed_ = false;
  std::string input_;
  std::vector<std::pair<Incoming::Kind, std::string>> frames_;
  ClassChatDriver driver_;
};

}  // namespace

bool parseUserList(std::string_view text, std::string_view self, std::vector<std::string>& others,
                   std::size_t& othersCount) {
  others.clear();
  othersCount = 0;
  if (text.starts_with("You are the only")) return true;
  constexpr std::string_view kPrefix = "Online users";
  if (!text.starts_with(kPrefix)) return false;
  text.remove_prefix(kPrefix.size());
  bool counted = false;
  if (text.starts_with(" (")) {
    const char* end = text.data() + text.size();
    const auto [next, error] = std::from_chars(text.data() + 2, end, othersCount);
    if (error != std::errc() || next == end || *next != ')') return false;
    counted = true;
    text.remove_prefix(static_cast<std::size_t>(next + 1 - text.data()));
  }
  if (!text.starts_with(":")) return false;
  text.remove_prefix(1);
  // classchatd's paging suffix: " (page 1/31, 2419 more; send /list with msg 2 ...)".
  if (const std::size_t page = text.find(" (page "); page != std::string_view::npos) {
    text = text.substr(0, page);
  }
  bool listsSelf = false;  // a server that lists (and counts) the asker too
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    const std::string_view name = trim(text.substr(0, comma));
    if (name == self) {
      listsSelf = true;
    } else if (!name.empty()) {
      others.emplace_back(name);
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  const std::size_t stated =
      counted && othersCount >= (listsSelf ? 1u : 0u) ? othersCount - (listsSelf ? 1 : 0) : 0;
  othersCount = std::max(others.size(), stated);
  return true;
}

Occupancy checkOccupancy(const ServerAddress& server, const std::string& probeName,
                         TimeNs timeout) {
  Occupancy result;
  Probe probe(nowNs() + timeout);
  if (std::string error = probe.connect(server); !error.empty()) {
    result.status = Occupancy::Status::kUnreachable;
    result.detail = std::move(error);
    return result;
  }
  Incoming::Kind kind{};
  std::string text;
  // The name alone, and nothing else until the welcome: a server that reads each recv()
  // as one message (the class's) would take a name and a request sent together as a name.
  if (!probe.send(probeName) || !probe.nextServerFrame(kind, text)) {
    result.detail = "no welcome from the server";
    return result;
  }
  if (kind != Incoming::Kind::kWelcome) {
    result.detail = fmt::format("the server did not welcome '{}': {}", probeName, text);
    return result;
  }
  std::string request;
  probe.driver().appendDirect(request, probeName, "/list", "");
  if (!probe.send(request) || !probe.nextServerFrame(kind, text)) {
    result.detail = "no answer to /list";
    return result;
  }
  result.detail = text;
  if (kind == Incoming::Kind::kReply &&
      parseUserList(text, probeName, result.others, result.othersCount)) {
    result.status = result.others.empty() ? Occupancy::Status::kAlone : Occupancy::Status::kOthers;
  }
  if (probe.messages > 0) {
    // Someone wrote to the probe in these few milliseconds: they are there.
    result.status = Occupancy::Status::kOthers;
    if (std::find(result.others.begin(), result.others.end(), probe.sender) ==
        result.others.end()) {
      result.others.push_back(probe.sender);
    }
    result.othersCount = std::max(result.othersCount, result.others.size());
  }
  return result;
}

namespace {

bool equalIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// One target's check; 0 to go on.
int checkTarget(const CommonOptions& options, const Target& target, std::string_view mode,
                const std::string& probeName, const std::vector<std::string>& earlierProbes) {
  Occupancy occupancy = checkOccupancy(target.address, probeName, 5 * kSecond);
  // The bench's own probes of the targets checked before, not yet gone from the list of
  // a node that learns of their leaving a little later.
  const auto earlier = [&](const std::string& name) {
    return std::any_of(earlierProbes.begin(), earlierProbes.end(),
                       [&](const std::string& probe) { return equalIgnoringCase(probe, name); });
  };
  const auto before = occupancy.others.size();
  std::erase_if(occupancy.others, earlier);
  const std::size_t dropped = before - occupancy.others.size();
  occupancy.othersCount -= std::min(occupancy.othersCount, dropped);
  if (occupancy.status == Occupancy::Status::kOthers && occupancy.othersCount == 0 &&
      occupancy.others.empty()) {
    occupancy.status = Occupancy::Status::kAlone;
  }
  const std::string where = target.toString();
  switch (occupancy.status) {
    case Occupancy::Status::kAlone:
      progress(options, "nobody else is online at {} (/list: {})", where, occupancy.detail);
      return 0;
    case Occupancy::Status::kUnreachable:
      // The run's own connections will fail the same way and say so.
      progress(options, "could not check who is online at {}: {}", where, occupancy.detail);
      return 0;
    case Occupancy::Status::kOthers: {
      std::string names;
      for (std::size_t i = 0; i < occupancy.others.size() && i < 10; ++i) {
        names += fmt::format("{}{}", i > 0 ? ", " : "", occupancy.others[i]);
      }
      if (occupancy.othersCount > 10) names += ", ...";
      fmt::print(stderr,
                 "classchat-bench: refusing to run {}: {} other {} online at {} ({}), and the "
                 "bench's shouts would reach {}. Point it at a server nobody else is using, or "
                 "add --force to send them anyway.\n",
                 mode, occupancy.othersCount, occupancy.othersCount == 1 ? "user is" : "users are",
                 where, names, occupancy.othersCount == 1 ? "them" : "every one of them");
      return kExitOthersOnline;
    }
    case Occupancy::Status::kUnknown:
      fmt::print(stderr,
                 "classchat-bench: refusing to run {}: could not tell who is online at {} ({}), "
                 "and the bench's shouts would reach anyone there. Point it at a server nobody "
                 "else is using, or add --force to run anyway.\n",
                 mode, where, occupancy.detail.substr(0, 200));
      return kExitOthersOnline;
  }
  return kExitOthersOnline;
}

}  // namespace

int refuseIfOthersOnline(const CommonOptions& options, const std::vector<Target>& targets,
                         std::string_view mode, std::string_view prefix) {
  if (options.force) return 0;
  if (options.tls) {
    // The probe speaks plain TCP, which a TLS port cannot answer.
    fmt::print(stderr,
               "classchat-bench: with --tls, {} cannot first check who is online; add --force "
               "if nobody else uses this server\n",
               mode);
    return 3;
  }
  if (options.transport == "ws") {
    // The probe speaks classchat over TCP, and --port is the HTTP port here.
    fmt::print(stderr,
               "classchat-bench: refusing to run {} over WebSocket without --force: the check "
               "of who is online speaks TCP only, and the bench's shouts would reach everyone "
               "online. Point it at a server nobody else is using and add --force.\n",
               mode);
    return 3;
  }
  std::vector<std::string> probes;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const std::string probeName =
        i == 0 ? fmt::format("{}check", prefix) : fmt::format("{}check{}", prefix, i + 1);
    if (const int status = checkTarget(options, targets[i], mode, probeName, probes)) {
      return status;
    }
    probes.push_back(probeName);
  }
  return 0;
}

}  // namespace classchat::bench
