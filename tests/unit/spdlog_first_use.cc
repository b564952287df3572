// Creates spdlog's registry (its default logger) while the test binary is still
// single-threaded. spdlog builds it on first use, inside the uninstrumented libspdlog.so:
// when two loop threads of a test log for the first time at the same moment, ThreadSanitizer
// cannot see the guard of that one-time initialisation and reports a race on the
// registry's level. classchatd's main() logs before it starts any thread, so only tests
// need this.
#include <spdlog/spdlog.h>

namespace {
[[maybe_unused]] const bool kRegistryReady = (spdlog::default_logger_raw(), true);
}  // namespace
