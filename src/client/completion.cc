#include "client/completion.h"

#include <algorithm>

namespace classchat::client {
namespace {

bool startsWithIgnoringCase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         protocol::namesEqual(text.substr(0, prefix.size()), prefix);
}

// Splits "a, b, c" into names; stops at anything that is not a name.
std::vector<std::string> splitNames(std::string_view text) {
  std::vector<std::string> names;
  while (!text.empty()) {
    const std::size_t comma = text.find(", ");
    const std::string_view name = text.substr(0, comma);
    if (protocol::checkName(name) == protocol::NameVerdict::kValid) names.emplace_back(name);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 2);
  }
  return names;
}

// The text after "<label> (N): ", or nullopt when `text` does not continue that way.
std::optional<std::string_view> afterCount(std::string_view text, std::string_view label) {
  if (!text.starts_with(label)) return std::nullopt;
  text.remove_prefix(label.size());
  const std::size_t close = text.find("): ");
  if (close == std::string_view::npos) return std::nullopt;
  return text.substr(close + 3);
}

std::string commonPrefixIgnoringCase(const std::vector<std::string>& words) {
  std::string prefix = words.front();
  for (const std::string& word : words) {
    std::size_t n = 0;
    while (n < prefix.size() && n < word.size() &&
           protocol::namesEqual(std::string_view(prefix).substr(n, 1),
                                std::string_view(word).substr(n, 1))) {
      ++n;
    }
    prefix.resize(n);
  }
  return prefix;
}

Completion completeFrom(std::string_view typed, std::size_t replaceBytes,
                        std::vector<std::string> candidates) {
  Completion completion;
  if (candidates.empty()) return completion;
  if (candidates.size() == 1) {
    completion.replaceBytes = replaceBytes;
    completion.insert = candidates.front() + " ";
    return completion;
  }
  const std::string common = commonPrefixIgnoringCase(candidates);
  if (common.size() > typed.size()) {
    completion.replaceBytes = replaceBytes;
    completion.insert = common;
  } else {
    completion.candidates = std::move(candidates);
  }
  return completion;
}

}  // namespace

std::optional<ListedNames> parseListedNames(std::string_view serverText) {
  ListedNames listed;
  if (serverText == "You are the only active user!") return listed;
  if (auto rest = afterCount(serverText, "Online users (")) {
    // "(page 2/3, ...)" or "(page 3/3)" ends a paged reply.
    const std::size_t suffix = rest->find(" (page ");
    if (suffix != std::string_view::npos) {
      listed.isFirstPage = rest->substr(suffix).starts_with(" (page 1/");
      rest = rest->substr(0, suffix);
    }
    listed.names = splitNames(*rest);
    return listed;
  }
  if (serverText.starts_with("Welcome ")) {
    const std::size_t online = serverText.find("! Online now (");
    if (online == std::string_view::npos) {
      if (serverText.find("! You are the only one online.") != std::string_view::npos) {
        return listed;
      }
      return std::nullopt;
    }
    auto rest = afterCount(serverText.substr(online + 2), "Online now (");
    if (!rest) return std::nullopt;
    std::size_t end = rest->find(" and ");
    if (end == std::string_view::npos) end = rest->find(". ");
    listed.names = splitNames(rest->substr(0, end));
    return listed;
  }
  return std::nullopt;
}

bool NameBook::learnFromServerReply(std::string_view serverText) {
  std::optional<ListedNames> listed = parseListedNames(serverText);
  if (!listed) return false;
  if (listed->isFirstPage) listed_.clear();
  for (std::string& name : listed->names) listed_.insert(std::move(name));
  return true;
}

void NameBook::addWriter(std::string_view name) {
  if (protocol::checkName(name) == protocol::NameVerdict::kValid) writers_.emplace(name);
}

std::vector<std::string> NameBook::matching(std::string_view prefix) const {
  std::set<std::string, Less> all;
  for (const std::string& name : listed_) {
    if (startsWithIgnoringCase(name, prefix)) all.insert(name);
  }
  for (const std::string& name : writers_) {
    if (startsWithIgnoringCase(name, prefix)) all.insert(name);
  }
  return {all.begin(), all.end()};
}

const std::vector<std::string>& clientCommands() {
  static const std::vector<std::string> kCommands = {"/help",     "/list", "/quit", "/shout",
                                                     "/standard", "/time", "/to"};
  return kCommands;
}

Completion complete(std::string_view beforeCursor, const NameBook& names) {
  const std::size_t wordStart = [&] {
    const std::size_t space = beforeCursor.find_last_of(" \t");
    return space == std::string_view::npos ? 0 : space + 1;
  }();
  const std::string_view word = beforeCursor.substr(wordStart);
  const bool firstWord = beforeCursor.find_first_not_of(" \t") >= wordStart;

  if (firstWord && word.starts_with('/')) {
    std::vector<std::string> commands;
    for (const std::string& command : clientCommands()) {
      if (startsWithIgnoringCase(command, word)) commands.push_back(command);
    }
    return completeFrom(word, word.size(), std::move(commands));
  }
  const std::string_view prefix = word.starts_with('@') ? word.substr(1) : word;
  return completeFrom(prefix, prefix.size(), names.matching(prefix));
}

}  // namespace classchat::client
