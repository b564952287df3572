// libFuzzer target: FrameDecoder on arbitrary bytes fed in arbitrary pieces.
//
// Invariants checked: every reported object starts with '{', ends with '}' and is within
// the limit; the decoder never buffers more than the limit; and the objects found do not
// depend on how the stream was split into reads.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/frame_decoder.h"

namespace {

constexpr std::size_t kLimit = 256;

struct Recorder : classchat::protocol::FrameSink {
  std::vector<std::string> objects;
  std::size_t oversize = 0;
  void onObject(std::string_view object) override {
    if (object.size() < 2 || object.front() != '{' || object.back() != '}' ||
        object.size() > kLimit) {
      std::abort();
    }
    objects.emplace_back(object);
  }
  void onGarbage(std::string_view text) override {
    if (text.empty() || text.size() > 64) std::abort();
  }
  void onOversize(std::size_t) override { ++oversize; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  // The first byte chooses the read size for the split run.
  const std::size_t piece = 1 + data[0] % 17;
  const std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);

  Recorder whole;
  classchat::protocol::FrameDecoder wholeDecoder(kLimit);
  wholeDecoder.feed(stream, whole);

  Recorder split;
  classchat::protocol::FrameDecoder splitDecoder(kLimit);
  for (std::size_t at = 0; at < stream.size(); at += piece) {
    splitDecoder.feed(stream.substr(at, piece), split);
    if (splitDecoder.bufferedBytes() > kLimit) std::abort();
  }
  if (whole.objects != split.objects || whole.oversize != split.oversize) std::abort();
  return 0;
}
