// The chat page's files (src/web/*.html, *.js, *.css), built into the binary by
// src/web/embed.cmake: classchatd serves them with no files to install and no network.
#pragma once

#include <span>
#include <string_view>

namespace classchat::web {

struct WebAsset {
  std::string_view path;         // as requested: "/index.html", "/app.js", ...
  std::string_view contentType;  // with its charset
  std::string_view body;
};

// Every embedded file. Thread-safe: constant data.
std::span<const WebAsset> webAssets();

// The asset served at `path` ("/" is /index.html); nullptr if none.
inline const WebAsset* findWebAsset(std::string_view path) {
  if (path == "/") path = "/index.html";
  for (const WebAsset& asset : webAssets()) {
    if (asset.path == path) return &asset;
  }
  return nullptr;
}

}  // namespace classchat::web
