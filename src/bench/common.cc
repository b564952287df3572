#include "bench/common.h"

#include <arpa/inet.h>

#include <CLI/CLI.hpp>

namespace classchat::bench {

void addCommonOptions(CLI::App& app, CommonOptions& options, bool withPlot) {
  app.add_option("--host", options.host,
                 "Server IPv4 address (loopback only unless --allow-remote)")
      ->capture_default_str();
  app.add_option("--port", options.port, "Server TCP port")->capture_default_str();
  app.add_flag("--allow-remote", options.allowRemote,
               "Allow a target outside 127.0.0.0/8 (load tests are for machines you own)");
  app.add_option("--json", options.jsonPath, "Write every figure of the run to this JSON file");
  if (withPlot) app.add_option("--plot", options.plotPath, "Write an SVG chart to this file");
  app.add_option("--seed", options.seed, "Seed of the random choices (runs are repeatable)")
      ->capture_default_str();
  app.add_flag("-q,--quiet", options.quiet, "No progress lines on stderr");
}

std::string resolveTarget(const CommonOptions& options, in_addr& address) {
  if (::inet_pton(AF_INET, options.host.c_str(), &address) != 1) {
    return fmt::format("--host {}: not a numeric IPv4 address", options.host);
  }
  const bool loopback = (ntohl(address.s_addr) >> 24) == 127;
  if (!loopback && !options.allowRemote) {
    return fmt::format("--host {} is not a loopback address; add --allow-remote to load it",
                       options.host);
  }
  return {};
}

}  // namespace classchat::bench
