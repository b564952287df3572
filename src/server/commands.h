// The command table: every /command, its one-line help and its handler.
#pragma once

#include <span>
#include <string_view>

#include "hub/hub.h"
#include "protocol/message_parser.h"
#include "server/moderation.h"

namespace classchat::server {

// Where replies that come after their handler returned are sent. Implemented by the chat
// loop; called on its thread only.
class LaterReplies {
 public:
  virtual ~LaterReplies() = default;
  // Sends a SERVER message to `connection` if it is still open on this loop; else nothing.
  virtual void replyTo(net::ConnectionId connection, std::string_view text) = 0;
};

// A reply to a command's sender that may be sent after the handler returned (when a hub
// answers later). Two words, copyable, no allocation: it names the connection by id, so
// it never touches a session that has gone. Use on the sender's loop thread only.
class LaterReply {
 public:
  LaterReply(LaterReplies& sink, net::ConnectionId connection)
      : sink_(&sink), connection_(connection) {}
  void operator()(std::string_view text) const { sink_->replyTo(connection_, text); }

 private:
  LaterReplies* sink_;
  net::ConnectionId connection_;
};

// What a command handler may see and do. Implemented by the chat loop for the session
// that sent the command; valid only during the handler call.
class CommandContext {
 public:
  virtual ~CommandContext() = default;
  virtual std::string_view senderName() const = 0;
  virtual std::string_view senderIp() const = 0;
  virtual net::ConnectionId senderConnection() const = 0;
  virtual Hub& hub() = 0;
  // Sends a SERVER message to the sender.
  virtual void reply(std::string_view text) = 0;
  // For a reply after the handler returned (the hub's answer came later).
  virtual LaterReply replyLater() = 0;
  // True once the sender has logged in to an account with role admin.
  virtual bool senderIsAdmin() const = 0;
  virtual Moderation& moderation() = 0;
  // Checks `password` for the sender's protected name; the answer comes later, as a reply.
  virtual void login(std::string_view password) = 0;
};

using CommandHandler = void (*)(CommandContext& context, const protocol::ClientMessage& message);

// Which per-connection budget a command draws from, besides the message budget every
// message uses (see --rate-limit and --shout-rate). /shout and /list use kShout.
enum class RateClass { kMessage, kShout };

struct Command {
  std::string_view name;   // including the leading '/'
  std::string_view usage;  // what goes in msg, for /help; empty if nothing
  std::string_view help;   // one line
  CommandHandler handler;
  RateClass rateClass = RateClass::kMessage;
  bool adminOnly = false;  // for accounts with role admin, logged in
};

// All commands, in the order /help lists them.
std::span<const Command> commandTable();
// The command called `name` (ASCII case-insensitive), or nullptr.
const Command* findCommand(std::string_view name);
// The /help text, generated from the table; admin commands only for admins.
std::string helpText(bool forAdmin = false);

}  // namespace classchat::server
