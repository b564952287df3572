// The text of the server's replies. Pure functions, so they are unit-testable.
#pragma once

#include <chrono>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace classchat::server {

// The most bytes a SERVER frame addressed to `to` may spend on its msg so that the whole
// frame, newline included, fits protocol::kSmallReplyBytes (assuming msg needs no escaping).
std::size_t smallReplyBudget(std::string_view to);

// "Welcome alice! ..." listing up to a few of `othersSorted` and pointing to /help.
std::string welcomeText(std::string_view name, std::span<const std::string_view> othersSorted);

// The /list reply for `othersSorted` (everyone but the requester). `request` is the
// message's msg: a page number ("2", "page 2") or anything else for page 1. The result
// is at most `budget` bytes. Starts with "Error:" when the page does not exist.
std::string userListText(std::span<const std::string_view> othersSorted, std::string_view request,
                         std::size_t budget);

// "Server time: HH:MM:SS" in the server's local time zone.
std::string timeText(std::chrono::system_clock::time_point now);

// The /standard reply: the message schema with an example.
std::string standardText();

}  // namespace classchat::server
