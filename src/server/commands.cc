#include "server/commands.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "protocol/json_writer.h"
#include "protocol/names.h"
#include "protocol/utf8.h"
#include "protocol/wire.h"
#include "server/replies.h"

namespace classchat::server {
namespace {

// O(log N + page): the page's place follows from its number (listPaging), and the hub's
// ordered index gives its names by rank, so nobody else online is looked at.
void listCommand(CommandContext& context, const protocol::ClientMessage& message) {
  const Hub& hub = context.hub();
  const std::string_view self = context.senderName();
  const std::optional<std::size_t> selfRank = hub.rankOf(self);
  const std::size_t others = hub.onlineCount() - (selfRank ? 1 : 0);
  if (others == 0) {
    context.reply(kAloneListText);
    return;
  }
  const std::size_t othersBytes = hub.onlineNameBytes() - (selfRank ? self.size() : 0);
  const ListPaging paging = listPaging(others, othersBytes, smallReplyBudget(self));
  const std::size_t page = parsePageRequest(message.msg.value_or("")).value_or(1);
  if (page > paging.pages) {
    context.reply(missingPageText(page, paging.pages));
    return;
  }
  // The page's first name among the others, then among everyone (the requester, if
  // online, sits in the list at selfRank); one extra name covers the requester.
  const std::size_t first = (page - 1) * paging.perPage;
  const std::size_t count = std::min(paging.perPage, others - first);
  const std::size_t start = first + (selfRank && first >= *selfRank ? 1 : 0);
  std::vector<std::string_view> names = hub.onlineNamesFrom(start, count + 1);
  std::erase_if(names, [&](std::string_view name) { return protocol::namesEqual(name, self); });
  if (names.size() > count) names.resize(count);
  context.reply(userListPageText(names, others, page, paging));
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
  const std::size_t others = hub.onlineCount() > 0 ? hub.onlineCount() - 1 : 0;
  if (hub.broadcast(frame, context.senderConnection()) == SendResult::kShed) {
    context.reply(
        "Error: the server is too busy to reach everyone; your shout reached only "
        "some users");
    return;
  }
  context.reply(fmt::format("Message sent to {} users", others));
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
  context.reply(helpText());
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

std::string helpText() {
  std::string text = "Available commands (put the command in \"to\" and its argument in \"msg\"):";
  for (const Command& command : kCommands) {
    text += fmt::format(" {}{}{} - {};", command.name, command.usage.empty() ? "" : " ",
                        command.usage, command.help);
  }
  text += " any other \"to\" is a username: msg goes to that user.";
  return text;
}

}  // namespace classchat::server
