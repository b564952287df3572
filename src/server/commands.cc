#include "server/commands.h"

#include <array>
#include <chrono>
#include <string>

#include <fmt/format.h>

#include "protocol/json_writer.h"
#include "protocol/names.h"
#include "protocol/utf8.h"
#include "protocol/wire.h"
#include "server/replies.h"

namespace classchat::server {
namespace {

void listCommand(CommandContext& context, const protocol::ClientMessage& message) {
  std::vector<std::string_view> others = context.hub().onlineNamesSorted();
  std::erase_if(others, [&](std::string_view name) {
    return protocol::namesEqual(name, context.senderName());
  });
  context.reply(
      userListText(others, message.msg.value_or(""), smallReplyBudget(context.senderName())));
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
  hub.broadcast(frame, context.senderConnection());
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
    Command{"/list", "[page]", "who else is online (msg 2 for page 2 of a long list)", listCommand},
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
