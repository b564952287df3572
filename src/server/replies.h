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

// How many other users the welcome names.
inline constexpr std::size_t kWelcomeNames = 10;

// "Welcome alice! ..." listing up to kWelcomeNames of the `othersCount` other users, taken
// from `firstOthersSorted` (the first of them in nameLess order; it may hold only those
// shown), and pointing to /help.
std::string welcomeText(std::string_view name, std::span<const std::string_view> firstOthersSorted,
                        std::size_t othersCount);
// The same with every other user at hand.
inline std::string welcomeText(std::string_view name,
                               std::span<const std::string_view> othersSorted) {
  return welcomeText(name, othersSorted, othersSorted.size());
}

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
