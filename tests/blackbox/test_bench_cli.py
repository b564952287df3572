"""classchat-bench's command line: every usage error exits with status 2 (as --help says and
as the client does), not CLI11's own codes (109 for an unexpected argument, 105 for a value
out of range), and --help exits 0."""
import os
import subprocess
import unittest

from harness import ROOT

BENCH = os.environ.get("CLASSCHAT_BENCH",
                       os.path.join(ROOT, "build", "release", "src", "bench", "classchat-bench"))


def run(*args):
    return subprocess.run([BENCH, *args], capture_output=True, text=True, timeout=30)


class UsageErrors(unittest.TestCase):
    def assertUsageError(self, *args, message):
        result = run(*args)
        self.assertEqual(result.returncode, 2, (args, result.stderr))
        self.assertIn(message, result.stderr + result.stdout)

    def test_unknown_option_of_each_mode(self):
        for mode in ("stress", "throughput", "ramp"):
            with self.subTest(mode=mode):
                self.assertUsageError(mode, "--bogus", message="--bogus")

    def test_unexpected_positional_argument(self):
        self.assertUsageError("stress", "extra", message="not expected")

    def test_value_out_of_range(self):
        self.assertUsageError("stress", "--bots", "0", message="--bots")

    def test_value_not_in_the_list(self):
        self.assertUsageError("throughput", "--kind", "sideways", message="--kind")

    def test_bad_target_lists(self):
        for mode in ("stress", "throughput", "ramp"):
            with self.subTest(mode=mode):
                self.assertUsageError(mode, "--port", "7001,,7002", message="empty entry")
                self.assertUsageError(mode, "--port", "7001,x", message="'x' is not a port")
                self.assertUsageError(mode, "--port", "70000", message="not a port")
                self.assertUsageError(mode, "--host", "127.0.0.1,::1", "--port", "1,2,3",
                                      message="paired")
                self.assertUsageError(mode, "--host", "127.0.0.1,nowhere",
                                      message="--host nowhere: not a numeric")
                self.assertUsageError(mode, "--host", "127.0.0.1,192.0.2.1",
                                      message="--allow-remote")

    def test_no_mode(self):
        self.assertUsageError(message="subcommand")

    def test_unknown_mode(self):
        self.assertUsageError("benchmark", message="subcommand")

    def test_help_exits_zero(self):
        for args in ([], ["stress"], ["throughput"], ["ramp"]):
            with self.subTest(args=args):
                result = run(*args, "--help")
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertIn("Usage", result.stdout)

    def test_every_mode_takes_plot(self):
        # stress used to refuse it ("The following arguments were not expected").
        for mode in ("stress", "throughput", "ramp"):
            with self.subTest(mode=mode):
                self.assertIn("--plot", run(mode, "--help").stdout)


if __name__ == "__main__":
    unittest.main()
