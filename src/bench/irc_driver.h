// The IRC client protocol (RFC 1459/2812; ngIRCd, InspIRCd) as a bench Driver, for issue
// #6's side-by-side runs.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "bench/driver.h"

namespace classchat::bench {

// Users are nicks; shouts go to one channel, kShoutChannel, that every client joins when
// DriverOptions::receiveShouts is set:
//
//   login      NICK U  USER U 0 * :U        (+ JOIN #all   after 001, when receiveShouts)
//   direct     PRIVMSG TO :text             arrives as  :FROM!user@host PRIVMSG TO :text
//   shout      PRIVMSG #all :text           arrives as  :FROM!user@host PRIVMSG #all :text
//   heartbeat  PING :U text                 answered by :server PONG server :U text
//
// Welcome: RPL_WELCOME (001) when the client does not join the channel; otherwise the end
// of the channel's NAMES list (366 for #all), which the server sends only to the joiner,
// once, after the JOIN has taken effect. Either way exactly one kWelcome per connection.
// The JOIN waits for 001 (appendLoginReply): InspIRCd completes registrations in its
// once-a-second housekeeping and answers a JOIN that arrives before that with 451.
//
// Own shouts: an IRC server does not send a channel message back to its sender, which is
// what the bench's accounting expects (classchat does not either). Shouts are not
// acknowledged.
//
// Heartbeat: parse() is stateless and does not know whose connection it reads, but a PONG
// carries the PING's token back verbatim. So the token is "<self> <text>" and a PONG whose
// token has a space is reported as a kDirect from <self> with text <text>, like the
// classchat heartbeat (a direct message to oneself). Any other PONG is a kReply.
//
// Other server lines: ERROR and numerics 400-599 are kError (433 nick in use is a refusal
// at login) except 422 (no MOTD), which is harmless; other numerics, NOTICE, JOIN, MODE, server
// PING and the like are kReply. The driver cannot answer a server PING (parse() has no output), so
// the servers run with long ping timeouts (scripts/bench/irc_peers.py). Lines that are not IRC
// messages, and lines longer than kMaxLineBytes, are kMalformed. Lines end with \r\n; a bare \n is
// accepted.
//
// Thread-safety: none needed; the driver holds no state besides its options.
class IrcDriver final : public Driver {
 public:
  // 512 bytes is the RFC's limit; IRCv3 message tags may add up to 8191 before it.
  static constexpr std::size_t kMaxLineBytes = 8192 + 512;
  static constexpr std::string_view kShoutChannel = "#all";

  explicit IrcDriver(const DriverOptions& options) : options_(options) {}

  std::string_view name() const override { return "irc"; }
  void appendLogin(std::string& out, std::string_view user) override;
  void appendDirect(std::string& out, std::string_view from, std::string_view to,
                    std::string_view text) override;
  void appendShout(std::string& out, std::string_view from, std::string_view text) override;
  void appendHeartbeat(std::string& out, std::string_view self, std::string_view text) override;
  void appendLoginReply(std::string& out, const Incoming& reply) override;
  bool appendCommand(std::string&, std::string_view, std::string_view) override { return false; }
  bool shoutIsAcknowledged() const override { return false; }
  std::size_t parse(std::string_view input, IncomingSink& sink) override;

  // Classifies one line (without its line ending). Public for tests.
  Incoming parseLine(std::string_view line) const;

 private:
  DriverOptions options_;
};

}  // namespace classchat::bench
