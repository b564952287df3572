#include "server/commands.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <optional>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "protocol/json_writer.h"
#include "protocol/names.h"
#include "protocol/utf8.h"
#include "protocol/wire.h"
#include "server/replies.h"

namespace classchat::server {
namespace {

constexpr std::string_view kDirectoryUnavailableText =
    "Error: the chat directory is unavailable, try again";

// A /list request while the hub reads the directory (inline or later).
struct ListRequest {
  Hub* hub;
  LaterReply reply;
  std::string self;
  std::size_t page;
  int attempt = 1;
};

// A cluster's directory may change between the two reads of a /list (someone joins or
// leaves on another node): the page then disagrees with the header computed from the
// first read (say "Online users (1): " and no name). The page read carries its own count,
// which shows the change, and the request starts over, at most this many times in all.
constexpr int kListAttempts = 3;

void startList(const ListRequest& request);

// The page's names have been read: everyone from `start`, one more than the page holds in
// case the requester is among them.
void listPageRead(const ListRequest& request, std::size_t online, std::size_t others,
                  std::size_t count, const ListPaging& paging, const DirectoryPage& read) {
  if (read.unavailable) {
    request.reply(kDirectoryUnavailableText);
    return;
  }
  if (read.online != online && request.attempt < kListAttempts) {
    ListRequest again = request;
    ++again.attempt;
    startList(again);
    return;
  }
  std::vector<std::string_view> names(read.names.begin(), read.names.end());
  std::erase_if(names,
                [&](std::string_view name) { return protocol::namesEqual(name, request.self); });
  if (names.size() > count) names.resize(count);
  request.reply(userListPageText(names, others, request.page, paging));
}

// The count, the name bytes and the requester's rank have been read.
void listStatsRead(const ListRequest& request, const DirectoryStats& stats) {
  if (stats.unavailable) {
    request.reply(kDirectoryUnavailableText);
    return;
  }
  const std::optional<std::size_t> selfRank = stats.selfRank;
  const std::size_t others = stats.online - (selfRank ? 1 : 0);
  if (others == 0) {
    request.reply(kAloneListText);
    return;
  }
  const std::size_t othersBytes = stats.nameBytes - (selfRank ? request.self.size() : 0);
  const ListPaging paging = listPaging(others, othersBytes, smallReplyBudget(request.self));
  if (request.page > paging.pages) {
    request.reply(missingPageText(request.page, paging.pages));
    return;
  }
  // The page's first name among the others, then among everyone (the requester, if
  // online, sits in the list at selfRank); one extra name covers the requester.
  const std::size_t first = (request.page - 1) * paging.perPage;
  const std::size_t count = std::min(paging.perPage, others - first);
  const std::size_t start = first + (selfRank && first >= *selfRank ? 1 : 0);
  auto read = [request, online = stats.online, others, count, paging](const DirectoryPage& page) {
    listPageRead(request, online, others, count, paging, page);
  };
  if (const std::optional<DirectoryPage> page = request.hub->readNames(start, count + 1, read)) {
    read(*page);
  }
}

// O(log N + page): the page's place follows from its number (listPaging), and the hub's
// ordered index gives its names by rank, so nobody else online is looked at. Two reads of
// the hub (stats, then the page), each of which may answer later.
void startList(const ListRequest& request) {
  auto read = [request](const DirectoryStats& stats) { listStatsRead(request, stats); };
  if (const std::optional<DirectoryStats> stats = request.hub->readStats(request.self, read)) {
    read(*stats);
  }
}

void listCommand(CommandContext& context, const protocol::ClientMessage& message) {
  startList(ListRequest{&context.hub(), context.replyLater(), std::string(context.senderName()),
                        parsePageRequest(message.msg.value_or("")).value_or(1)});
}

// Everyone online but `self`, from stats read for `self`.
std::size_t othersOnline(const DirectoryStats& stats) {
  return stats.online - (stats.selfRank && stats.online > 0 ? 1 : 0);
}

void timeCommand(CommandContext& context, const protocol::ClientMessage&) {
  context.reply(timeText(std::chrono::system_clock::now()));
}

void shoutCommand(CommandContext& context, const protocol::ClientMessage& message) {
  if (!message.msg) {
    context.reply(message.msgPresentButNotString ? "Error: 'msg' must be a string"
                                                 : "Error: /shout needs the text to send in 'msg'");
    return;
  }
  std::string frame;
  protocol::appendMessageFrame(frame, context.senderName(), context.senderIp(), protocol::kEveryone,
                               *message.msg);
  Hub& hub = context.hub();
  switch (hub.broadcast(frame, context.senderConnection())) {
    case SendResult::kQueued:
      break;
    case SendResult::kShed:
      context.reply(
          "Error: the server is too busy to reach everyone; your shout reached only "
          "some users");
      return;
    case SendResult::kUnavailable:
      context.reply(
          "Error: the chat directory is unavailable; your shout reached only the users on "
          "this server");
      return;
  }
  // The count is cluster-wide, so it may come later.
  auto counted = [reply = context.replyLater()](const DirectoryStats& stats) {
    reply(fmt::format("Message sent to {} users", othersOnline(stats)));
  };
  if (const std::optional<DirectoryStats> stats = hub.readStats(context.senderName(), counted)) {
    counted(*stats);
  }
}

// "pong <server time as Unix seconds with microseconds>", then msg if any, so a client can
// match replies to pings and measure round trips.
void pingCommand(CommandContext& context, const protocol::ClientMessage& message) {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now).count();
  std::string text = fmt::format("pong {}.{:06}", micros / 1'000'000, micros % 1'000'000);
  if (message.msg && !message.msg->empty()) {
    text += ' ';
    text += protocol::sanitizeForEcho(*message.msg, 64);
  }
  context.reply(text);
}

void helpCommand(CommandContext& context, const protocol::ClientMessage&) {
  context.reply(helpText(context.senderIsAdmin()));
}

// The first blank-separated word of `text`, and what follows it (leading blanks removed).
std::pair<std::string_view, std::string_view> firstWord(std::string_view text) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    return s;
  };
  text = trim(text);
  const std::size_t end = text.find_first_of(" \t");
  if (end == std::string_view::npos) return {text, {}};
  return {text.substr(0, end), trim(text.substr(end))};
}

// Whole minutes from 1 to a year, or nullopt.
std::optional<long> parseMinutes(std::string_view text) {
  long minutes = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), minutes);
  if (error != std::errc() || end != text.data() + text.size() || minutes < 1 ||
      minutes > 525'600) {
    return std::nullopt;
  }
  return minutes;
}

std::string shown(std::string_view text) {
  return protocol::sanitizeForEcho(text, 45);
}

void loginCommand(CommandContext& context, const protocol::ClientMessage& message) {
  if (!message.msg || message.msg->empty()) {
    context.reply("Error: /login needs your password in 'msg'");
    return;
  }
  context.login(*message.msg);
}

void kickCommand(CommandContext& context, const protocol::ClientMessage& message) {
  const auto [name, reason] = firstWord(message.msg.value_or(""));
  if (name.empty()) {
    context.reply("Error: /kick needs a name: {\"to\":\"/kick\",\"msg\":\"NAME [reason]\"}");
    return;
  }
  if (protocol::namesEqual(name, context.senderName())) {
    context.reply("Error: you cannot kick yourself");
    return;
  }
  const std::string why = reason.empty() ? std::string("no reason given") : std::string(reason);
  SessionAction kick{SessionAction::Kind::kDisconnect,
                     fmt::format("Error: you were removed by {}: {}", context.senderName(), why),
                     fmt::format("kicked by {}: {}", context.senderName(), why),
                     {}};
  auto done = [reply = context.replyLater(), asked = shown(name),
               by = std::string(context.senderName()), why](const ActOutcome& outcome) {
    if (outcome.unavailable) {
      reply(kDirectoryUnavailableText);
      return;
    }
    if (!outcome.found) {
      reply(fmt::format("Error: user '{}' not found", asked));
      return;
    }
    spdlog::info("moderation: {} kicked {} ({})", by, outcome.name, why);
    reply(fmt::format("Kicked {}", outcome.name));
  };
  if (const std::optional<ActOutcome> outcome = context.hub().actOnName(name, kick, done)) {
    done(*outcome);
  }
}

void banCommand(CommandContext& context, const protocol::ClientMessage& message) {
  auto [target, rest] = firstWord(message.msg.value_or(""));
  if (target.empty()) {
    context.reply(
        "Error: /ban needs a name or an address: {\"to\":\"/ban\",\"msg\":\"NAME-or-ADDRESS "
        "[minutes] [reason]\"}");
    return;
  }
  Ban ban;
  ban.address = isAddress(target);
  if (!ban.address && protocol::checkName(target) != protocol::NameVerdict::kValid) {
    context.reply(
        fmt::format("Error: '{}' is neither a username nor a numeric address", shown(target)));
    return;
  }
  if (!ban.address && protocol::namesEqual(target, context.senderName())) {
    context.reply("Error: you cannot ban yourself");
    return;
  }
  ban.target = std::string(target);
  const auto [first, afterFirst] = firstWord(rest);
  if (const std::optional<long> minutes = parseMinutes(first)) {
    ban.until = WallClock::now() + std::chrono::minutes(*minutes);
    rest = afterFirst;
  }
  ban.by = std::string(context.senderName());
  ban.reason = std::string(rest);
  const std::string until = describeUntil(ban.until);
  const std::string why = ban.reason.empty() ? std::string("no reason given") : ban.reason;
  spdlog::info("moderation: {} banned {} {} {} ({})", context.senderName(),
               ban.address ? "address" : "name", ban.target, until, why);
  SessionAction disconnect{
      SessionAction::Kind::kDisconnect,
      fmt::format("Error: you were banned by {} {}: {}", context.senderName(), until, why),
      fmt::format("banned by {}: {}", context.senderName(), why),
      {}};
  const bool address = ban.address;
  const std::string bannedTarget = ban.target;
  std::string error;
  const bool saved = context.moderation().ban(std::move(ban), error);
  if (address) {
    context.hub().actOnAddress(bannedTarget, disconnect);
  } else {
    context.hub().actOnName(bannedTarget, disconnect, nullptr);  // nobody online: nothing to do
  }
  if (!saved) {
    spdlog::error("moderation: {}", error);
    context.reply(
        fmt::format("Error: banned {} {}, but the bans file could not be written, so the "
                    "ban ends with this server: {}",
                    bannedTarget, until, error));
    return;
  }
  context.reply(fmt::format("Banned {} {}", bannedTarget, until));
}

void unbanCommand(CommandContext& context, const protocol::ClientMessage& message) {
  const auto [target, rest] = firstWord(message.msg.value_or(""));
  if (target.empty()) {
    context.reply("Error: /unban needs the banned name or address");
    return;
  }
  std::string error;
  if (!context.moderation().unban(target, error)) {
    context.reply("Error: " + error);
    return;
  }
  spdlog::info("moderation: {} lifted the ban on {}", context.senderName(), target);
  context.reply(fmt::format("Lifted the ban on {}", shown(target)));
}

void bansCommand(CommandContext& context, const protocol::ClientMessage&) {
  const std::vector<Ban> bans = context.moderation().bans();
  if (bans.empty()) {
    context.reply("No bans");
    return;
  }
  constexpr std::size_t kShown = 20;
  std::string text = fmt::format("Bans ({}):", bans.size());
  for (std::size_t i = 0; i < bans.size() && i < kShown; ++i) {
    const Ban& ban = bans[i];
    text += fmt::format(" {} {} {} by {}{}{}{};", ban.address ? "address" : "name", ban.target,
                        describeUntil(ban.until), ban.by, ban.reason.empty() ? "" : " (",
                        protocol::sanitizeForEcho(ban.reason, 80), ban.reason.empty() ? "" : ")");
  }
  if (bans.size() > kShown) text += fmt::format(" and {} more", bans.size() - kShown);
  context.reply(text);
}

void muteCommand(CommandContext& context, const protocol::ClientMessage& message) {
  const auto [name, rest] = firstWord(message.msg.value_or(""));
  const auto [minutesText, reason] = firstWord(rest);
  const std::optional<long> minutes = parseMinutes(minutesText);
  if (name.empty() || !minutes) {
    context.reply(
        "Error: /mute needs a name and minutes: {\"to\":\"/mute\",\"msg\":\"NAME MINUTES "
        "[reason]\"}");
    return;
  }
  if (protocol::checkName(name) != protocol::NameVerdict::kValid) {
    context.reply(fmt::format("Error: '{}' is not a valid username", shown(name)));
    return;
  }
  const auto until = WallClock::now() + std::chrono::minutes(*minutes);
  const std::string why = reason.empty() ? std::string("no reason given") : std::string(reason);
  context.moderation().mute(name, until);
  spdlog::info("moderation: {} muted {} {} ({})", context.senderName(), name, describeUntil(until),
               why);
  context.hub().actOnName(name,
                          SessionAction{SessionAction::Kind::kMute,
                                        fmt::format("You were muted by {} for {} minutes: {}. "
                                                    "You can still read and use /list, /time "
                                                    "and /help.",
                                                    context.senderName(), *minutes, why),
                                        fmt::format("muted by {}", context.senderName()), until},
                          nullptr);
  context.reply(fmt::format("Muted {} for {} minutes", shown(name), *minutes));
}

void unmuteCommand(CommandContext& context, const protocol::ClientMessage& message) {
  const auto [name, rest] = firstWord(message.msg.value_or(""));
  if (name.empty() || !context.moderation().mutedUntil(name)) {
    context.reply(fmt::format("Error: '{}' is not muted", shown(name)));
    return;
  }
  context.moderation().unmute(name);
  spdlog::info("moderation: {} unmuted {}", context.senderName(), name);
  context.hub().actOnName(name,
                          SessionAction{SessionAction::Kind::kUnmute,
                                        fmt::format("{} lifted your mute", context.senderName()),
                                        "unmuted",
                                        {}},
                          nullptr);
  context.reply(fmt::format("Unmuted {}", shown(name)));
}

void announceCommand(CommandContext& context, const protocol::ClientMessage& message) {
  if (!message.msg || message.msg->empty()) {
    context.reply("Error: /announce needs the text in 'msg'");
    return;
  }
  Hub& hub = context.hub();
  hub.broadcast(
      protocol::serverFrame(protocol::kEveryone, fmt::format("Announcement from {}: {}",
                                                             context.senderName(), *message.msg)),
      context.senderConnection());
  auto counted = [reply = context.replyLater(),
                  by = std::string(context.senderName())](const DirectoryStats& stats) {
    spdlog::info("moderation: {} announced to {} users", by, othersOnline(stats));
    reply(fmt::format("Announced to {} users", othersOnline(stats)));
  };
  if (const std::optional<DirectoryStats> stats = hub.readStats(context.senderName(), counted)) {
    counted(*stats);
  }
}

void standardCommand(CommandContext& context, const protocol::ClientMessage&) {
  context.reply(standardText());
}

constexpr std::array kCommands = {
    // /list draws from the shout budget too: a page is cheap now, but a flood of them is
    // still the largest reply a client can ask for.
    Command{"/list", "[page]", "who else is online (msg 2 for page 2 of a long list)", listCommand,
            RateClass::kShout},
    Command{"/time", "", "the server's local time", timeCommand},
    Command{"/shout", "<text>", "send msg to everyone online", shoutCommand, RateClass::kShout},
    Command{"/ping", "[token]", "answers pong, the server's Unix time and your token", pingCommand},
    Command{"/help", "", "this list of commands", helpCommand},
    Command{"/standard", "", "the JSON message format", standardCommand},
    Command{"/login", "<password>", "log in to a protected name", loginCommand},
    Command{"/kick", "<name> [reason]", "disconnect a user", kickCommand, RateClass::kMessage,
            true},
    Command{"/ban", "<name or address> [minutes] [reason]",
            "refuse a user or an address (forever without minutes)", banCommand,
            RateClass::kMessage, true},
    Command{"/unban", "<name or address>", "lift a ban", unbanCommand, RateClass::kMessage, true},
    Command{"/bans", "", "the bans in force", bansCommand, RateClass::kMessage, true},
    Command{"/mute", "<name> <minutes> [reason]", "stop a user from sending DMs and shouts",
            muteCommand, RateClass::kMessage, true},
    Command{"/unmute", "<name>", "lift a mute", unmuteCommand, RateClass::kMessage, true},
    Command{"/announce", "<text>", "a message from SERVER to everyone", announceCommand,
            RateClass::kShout, true},
};

}  // namespace

std::span<const Command> commandTable() {
  return kCommands;
}

const Command* findCommand(std::string_view name) {
  for (const Command& command : kCommands) {
    if (protocol::namesEqual(command.name, name)) return &command;
  }
  return nullptr;
}

std::string helpText(bool forAdmin) {
  std::string text = "Available commands (put the command in \"to\" and its argument in \"msg\"):";
  for (const Command& command : kCommands) {
    if (command.adminOnly && !forAdmin) continue;
    text += fmt::format(" {}{}{} - {};", command.name, command.usage.empty() ? "" : " ",
                        command.usage, command.help);
  }
  text += " any other \"to\" is a username: msg goes to that user.";
  return text;
}

}  // namespace classchat::server
