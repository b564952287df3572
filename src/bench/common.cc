#include "bench/common.h"

#include <CLI/CLI.hpp>

namespace classchat::bench {

void addCommonOptions(CLI::App& app, CommonOptions& options, bool withPlot) {
  app.add_option("--host", options.host,
                 "Server IPv4 or IPv6 address (loopback only unless --allow-remote)")
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

std::string resolveTarget(const CommonOptions& options, ServerAddress& address) {
  if (!parseServerAddress(options.host, options.port, address)) {
    return fmt::format("--host {}: not a numeric IPv4 or IPv6 address", options.host);
  }
  if (!address.isLoopback() && !options.allowRemote) {
    return fmt::format("--host {} is not a loopback address; add --allow-remote to load it",
                       options.host);
  }
  return {};
}

}  // namespace classchat::bench
