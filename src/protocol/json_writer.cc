#include "protocol/json_writer.h"

#include "protocol/byte_scan.h"
#include "protocol/names.h"
#include "protocol/wire.h"

namespace classchat::protocol {
namespace {

void appendEscaped(std::string& out, unsigned char c) {
  switch (c) {
    case '"':
      out += "\\\"";
      return;
    case '\\':
      out += "\\\\";
      return;
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    case '\b':
      out += "\\b";
      return;
    case '\f':
      out += "\\f";
      return;
    default: {
      static constexpr char kHex[] = "0123456789abcdef";
      const char esc[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
      out.append(esc, sizeof esc);
    }
  }
}

}  // namespace

void appendJsonString(std::string& out, std::string_view text) {
  // Everything but '"', '\\' and controls is copied in runs.
  out += '"';
  const char* run = text.data();
  const char* const end = run + text.size();
  for (const char* p = findJsonEscape(run, end); p != end; p = findJsonEscape(run, end)) {
    out.append(run, p);
    appendEscaped(out, static_cast<unsigned char>(*p));
    run = p + 1;
  }
  out.append(run, end);
  out += '"';
}

void appendMessageFrame(std::string& out, std::string_view fromName, std::string_view fromIp,
                        std::string_view to, std::string_view msg) {
  out += R"({"from":{"name":)";
  appendJsonString(out, fromName);
  out += R"(,"ip":)";
  appendJsonString(out, fromIp);
  out += R"(},"to":)";
  appendJsonString(out, to);
  out += R"(,"msg":)";
  appendJsonString(out, msg);
  out += "}\n";
}

void appendServerFrame(std::string& out, std::string_view to, std::string_view msg) {
  appendMessageFrame(out, kServerName, kServerIp, to, msg);
}

std::string serverFrame(std::string_view to, std::string_view msg) {
  std::string out;
  out.reserve(frameOverheadBytes() + kServerName.size() + kServerIp.size() + to.size() +
              msg.size() + 16);
  appendServerFrame(out, to, msg);
  return out;
}

std::size_t frameOverheadBytes() {
  // {"from":{"name":"","ip":""},"to":"","msg":""}\n
  static const std::size_t kOverhead = [] {
    std::string empty;
    appendMessageFrame(empty, "", "", "", "");
    return empty.size();
  }();
  return kOverhead;
}

std::size_t maxRelayedFrameBytes(std::size_t maxMessageBytes) {
  // from.name and to are registered names (or "Everyone" for a shout), which never need
  // escaping; the address is inet_ntop's text.
  return frameOverheadBytes() + kMaxNameLength + kMaxIpTextBytes + kMaxNameLength + maxMessageBytes;
}

}  // namespace classchat::protocol
