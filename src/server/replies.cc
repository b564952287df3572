#include "server/replies.h"

#include <charconv>
#include <ctime>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "protocol/json_whitespace.h"
#include "protocol/json_writer.h"
#include "protocol/wire.h"

namespace classchat::server {
namespace {

// Room kept at the end of a /list page for "(page 12/345, 6789 more; send /list with
// msg 13 for the next page)".
constexpr std::size_t kPageSuffixReserve = 96;

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

}  // namespace

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

std::string userListText(std::span<const std::string_view> othersSorted, std::string_view request,
                         std::size_t budget) {
  if (othersSorted.empty()) return "You are the only active user!";
  const std::string prefix = fmt::format("Online users ({}): ", othersSorted.size());

  // Pages are filled greedily in sorted order; page k is found by filling pages 1..k.
  const std::size_t pageBudget =
      budget > prefix.size() + kPageSuffixReserve ? budget - prefix.size() - kPageSuffixReserve : 0;
  std::size_t firstOfPage = 0;
  std::vector<std::size_t> pageStarts;
  while (firstOfPage < othersSorted.size()) {
    pageStarts.push_back(firstOfPage);
    std::size_t used = 0;
    std::size_t i = firstOfPage;
    for (; i < othersSorted.size(); ++i) {
      const std::size_t cost = othersSorted[i].size() + (i > firstOfPage ? 2 : 0);
      // Every page takes at least one name, so listing always makes progress.
      if (i > firstOfPage && used + cost > pageBudget) break;
      used += cost;
    }
    firstOfPage = i;
  }
  // Everything fits on one page when no suffix is needed.
  std::size_t allBytes = prefix.size();
  for (std::size_t i = 0; i < othersSorted.size(); ++i) {
    allBytes += othersSorted[i].size() + (i > 0 ? 2 : 0);
  }
  if (allBytes <= budget) pageStarts = {0};

  const std::size_t pages = pageStarts.size();
  const std::size_t page = parsePageRequest(request).value_or(1);
  if (page > pages) {
    return fmt::format("Error: page {} does not exist: the list has {} page{}", page, pages,
                       pages == 1 ? "" : "s");
  }
  const std::size_t begin = pageStarts[page - 1];
  const std::size_t end = page < pages ? pageStarts[page] : othersSorted.size();
  std::string text = prefix;
  for (std::size_t i = begin; i < end; ++i) {
    if (i > begin) text += ", ";
    text += othersSorted[i];
  }
  if (pages > 1) {
    if (page < pages) {
      text += fmt::format(" (page {}/{}, {} more; send /list with msg {} for the next page)", page,
                          pages, othersSorted.size() - end, page + 1);
    } else {
      text += fmt::format(" (page {}/{})", page, pages);
    }
  }
  return text;
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
