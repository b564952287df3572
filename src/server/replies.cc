#include "server/replies.h"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "protocol/json_whitespace.h"
#include "protocol/json_writer.h"
#include "protocol/names.h"
#include "protocol/wire.h"

namespace classchat::server {
namespace {

// Room kept at the end of a /list page for "(page 12/345, 6789 more; send /list with
// msg 13 for the next page)".
constexpr std::size_t kPageSuffixReserve = 96;

std::string listPrefix(std::size_t othersCount) {
  return fmt::format("Online users ({}): ", othersCount);
}

}  // namespace

// Parses "7", " page 7 " (any case) into 7; nullopt for anything else.
std::optional<std::size_t> parsePageRequest(std::string_view text) {
  while (!text.empty() && protocol::isJsonWhitespace(text.front())) text.remove_prefix(1);
  while (!text.empty() && protocol::isJsonWhitespace(text.back())) text.remove_suffix(1);
  if (text.size() >= 4) {
    const std::string_view word = text.substr(0, 4);
    const bool isPageWord = (word[0] | 0x20) == 'p' && (word[1] | 0x20) == 'a' &&
                            (word[2] | 0x20) == 'g' && (word[3] | 0x20) == 'e';
    if (isPageWord) {
      text.remove_prefix(4);
      while (!text.empty() && protocol::isJsonWhitespace(text.front())) text.remove_prefix(1);
    }
  }
  std::size_t page = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), page);
  if (ec != std::errc() || end != text.data() + text.size() || page == 0) return std::nullopt;
  return page;
}

std::size_t smallReplyBudget(std::string_view to) {
  const std::size_t fixed = protocol::frameOverheadBytes() + protocol::kServerName.size() +
                            protocol::kServerIp.size() + to.size();
  return protocol::kSmallReplyBytes > fixed ? protocol::kSmallReplyBytes - fixed : 0;
}

std::string welcomeText(std::string_view name, std::span<const std::string_view> firstOthersSorted,
                        std::size_t othersCount) {
  std::string text = fmt::format("Welcome {}! ", name);
  if (othersCount == 0 || firstOthersSorted.empty()) {
    text += "You are the only one online.";
  } else {
    text += fmt::format("Online now ({}): ", othersCount);
    const std::size_t shown = std::min(firstOthersSorted.size(), kWelcomeNames);
    for (std::size_t i = 0; i < shown; ++i) {
      if (i > 0) text += ", ";
      text += firstOthersSorted[i];
    }
    if (shown < othersCount) {
      text += fmt::format(" and {} more (see /list)", othersCount - shown);
    }
    text += '.';
  }
  text += " Send /help to see the commands.";
  return text;
}

ListPaging listPaging(std::size_t othersCount, std::size_t othersNameBytes, std::size_t budget) {
  if (othersCount == 0) return {};
  const std::size_t prefix = listPrefix(othersCount).size();
  const std::size_t allBytes = prefix + othersNameBytes + 2 * (othersCount - 1);
  if (allBytes <= budget) return {othersCount, 1};
  const std::size_t pageBudget =
      budget > prefix + kPageSuffixReserve ? budget - prefix - kPageSuffixReserve : 0;
  // Every page takes at least one name, so listing always makes progress.
  const std::size_t perPage = std::max<std::size_t>(1, pageBudget / (protocol::kMaxNameLength + 2));
  return {perPage, (othersCount + perPage - 1) / perPage};
}

std::string userListPageText(std::span<const std::string_view> pageNames, std::size_t othersCount,
                             std::size_t page, const ListPaging& paging) {
  if (othersCount == 0) return std::string(kAloneListText);
  std::string text = listPrefix(othersCount);
  for (std::size_t i = 0; i < pageNames.size(); ++i) {
    if (i > 0) text += ", ";
    text += pageNames[i];
  }
  if (paging.pages > 1) {
    if (page < paging.pages) {
      text += fmt::format(" (page {}/{}, {} more; send /list with msg {} for the next page)", page,
                          paging.pages, othersCount - page * paging.perPage, page + 1);
    } else {
      text += fmt::format(" (page {}/{})", page, paging.pages);
    }
  }
  return text;
}

std::string missingPageText(std::size_t page, std::size_t pages) {
  return fmt::format("Error: page {} does not exist: the list has {} page{}", page, pages,
                     pages == 1 ? "" : "s");
}

std::string userListText(std::span<const std::string_view> othersSorted, std::string_view request,
                         std::size_t budget) {
  if (othersSorted.empty()) return std::string(kAloneListText);
  std::size_t nameBytes = 0;
  for (std::string_view name : othersSorted) nameBytes += name.size();
  const ListPaging paging = listPaging(othersSorted.size(), nameBytes, budget);
  const std::size_t page = parsePageRequest(request).value_or(1);
  if (page > paging.pages) return missingPageText(page, paging.pages);
  const std::size_t first = (page - 1) * paging.perPage;
  const std::size_t count = std::min(paging.perPage, othersSorted.size() - first);
  return userListPageText(othersSorted.subspan(first, count), othersSorted.size(), page, paging);
}

std::string timeText(std::chrono::system_clock::time_point now) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  std::tm local{};
  ::localtime_r(&seconds, &local);
  return fmt::format("Server time: {:02}:{:02}:{:02}", local.tm_hour, local.tm_min, local.tm_sec);
}

std::string standardText() {
  return R"(Message format: one JSON object per message, {"from":{"name":"<your name>","ip":"<your ip>"},"to":"<username or /command>","msg":"<text>"}. The server fills in from itself. Example: {"from":{"name":"alice","ip":"10.0.0.5"},"to":"bob","msg":"hi"})";
}

}  // namespace classchat::server
