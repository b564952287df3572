// The text of the server's replies. Pure functions, so they are unit-testable.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
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

// How /list splits the others (everyone but the requester) into pages. A page's place in
// the list follows from its number alone, so a page costs O(page) with an ordered index
// (LocalHub), not a pass over everyone online.
struct ListPaging {
  std::size_t perPage = 0;  // names on every page but the last
  std::size_t pages = 0;
};
// `othersNameBytes` is the sum of the others' name lengths. Everything is one page when it
// fits `budget`; otherwise every page holds as many names as fit when all of them are of
// the longest length allowed, so any page fits whatever the names.
ListPaging listPaging(std::size_t othersCount, std::size_t othersNameBytes, std::size_t budget);

// The page a /list msg asks for: "7", " page 7 " (any case); nullopt for anything else,
// which means page 1.
std::optional<std::size_t> parsePageRequest(std::string_view text);

// The /list reply for page `page` (1-based, at most paging.pages) of `othersCount` names,
// given the names on that page in nameLess order.
std::string userListPageText(std::span<const std::string_view> pageNames, std::size_t othersCount,
                             std::size_t page, const ListPaging& paging);
// The reply when only one user is online.
inline constexpr std::string_view kAloneListText = "You are the only active user!";
// The reply to a page past the last.
std::string missingPageText(std::size_t page, std::size_t pages);

// The whole /list reply for `othersSorted` (everyone but the requester), for a `request`
// (the message's msg), in at most `budget` bytes. Starts with "Error:" when the page does
// not exist. The server builds pages from its index instead; this is the same reply from
// the full list.
std::string userListText(std::span<const std::string_view> othersSorted, std::string_view request,
                         std::size_t budget);

// "Server time: HH:MM:SS" in the server's local time zone.
std::string timeText(std::chrono::system_clock::time_point now);

// The /standard reply: the message schema with an example.
std::string standardText();

}  // namespace classchat::server
