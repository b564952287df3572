#include "bench/targets.h"

#include <charconv>

#include <fmt/format.h>

namespace classchat::bench {

std::string Target::toString() const {
  return host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port)
                                             : fmt::format("{}:{}", host, port);
}

bool splitList(std::string_view text, std::vector<std::string>& items) {
  items.clear();
  while (true) {
    const std::size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    if (item.empty()) return false;
    items.emplace_back(item);
    if (comma == std::string_view::npos) return true;
    text.remove_prefix(comma + 1);
  }
}

std::string parseTargets(std::string_view hostList, std::string_view portList,
                         std::vector<Target>& targets) {
  targets.clear();
  std::vector<std::string> hosts, portTexts;
  if (!splitList(hostList, hosts)) {
    return fmt::format("--host {}: an empty entry in the list", hostList);
  }
  if (!splitList(portList, portTexts)) {
    return fmt::format("--port {}: an empty entry in the list", portList);
  }
  std::vector<std::uint16_t> ports;
  for (const std::string& text : portTexts) {
    unsigned value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || value > 65535) {
      return fmt::format("--port {}: '{}' is not a port number (0..65535)", portList, text);
    }
    ports.push_back(static_cast<std::uint16_t>(value));
  }
  if (hosts.size() > 1 && ports.size() > 1 && hosts.size() != ports.size()) {
    return fmt::format(
        "--host has {} entries and --port {}: give one of them a single entry, or both as "
        "many (they are paired in order)",
        hosts.size(), ports.size());
  }
  const std::size_t count = std::max(hosts.size(), ports.size());
  for (std::size_t i = 0; i < count; ++i) {
    Target target;
    target.host = hosts[hosts.size() == 1 ? 0 : i];
    target.port = ports[ports.size() == 1 ? 0 : i];
    if (!parseServerAddress(target.host, target.port, target.address)) {
      targets.clear();
      return fmt::format("--host {}: not a numeric IPv4 or IPv6 address", target.host);
    }
    targets.push_back(std::move(target));
  }
  return {};
}

std::string describeTargets(const std::vector<Target>& targets) {
  std::string text;
  for (const Target& target : targets) {
    if (!text.empty()) text += ", ";
    text += target.toString();
  }
  return text;
}

}  // namespace classchat::bench
