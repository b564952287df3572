"""The teacher's path: `cmake --install` puts the three programs in PREFIX/bin, and the
shipped systemd unit (scripts/classchatd.service) starts, reloads and stops the installed
server the way systemd would.

The build directory is found from $CLASSCHATD (BUILD/src/server/classchatd); the install
goes to a temporary prefix, never to the system.
"""
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

import harness

UNIT_FILE = os.path.join(harness.ROOT, "scripts", "classchatd.service")
BUILD_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    harness.SERVER_BINARY))))


def unit_settings():
    """The unit file's Key=value lines, as a dict of lists."""
    settings = {}
    with open(UNIT_FILE, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith(("#", "[")):
                continue
            key, _, value = line.partition("=")
            settings.setdefault(key, []).append(value)
    return settings


class InstallTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.prefix = tempfile.mkdtemp(prefix="classchat-install-")
        subprocess.run(["cmake", "--install", BUILD_DIR, "--prefix", cls.prefix],
                       check=True, capture_output=True, timeout=120)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.prefix, ignore_errors=True)

    def installed(self, program):
        return os.path.join(self.prefix, "bin", program)

    def test_the_three_programs_are_installed_and_run(self):
        for program in ("classchatd", "classchat", "classchat-bench"):
            path = self.installed(program)
            if program != "classchatd" and not os.path.exists(
                    os.path.join(BUILD_DIR, "src", "client" if program == "classchat"
                                 else "bench", program)):
                continue  # not part of this build
            self.assertTrue(os.access(path, os.X_OK), f"{path} not installed")
            result = subprocess.run([path, "--help"], capture_output=True, text=True,
                                    timeout=harness.TIMEOUT)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn("--", result.stdout)
        self.assertTrue(os.path.exists(
            os.path.join(self.prefix, "share", "doc", "classchat", "README.md")))

    def test_unit_restarts_on_failure_reloads_with_sighup_and_starts_at_boot(self):
        settings = unit_settings()
        self.assertEqual(settings["ExecStart"], ["/usr/local/bin/classchatd $CLASSCHATD_ARGS"])
        self.assertEqual(settings["Restart"], ["on-failure"])
        self.assertEqual(settings["KillSignal"], ["SIGTERM"])
        self.assertIn("-HUP", settings["ExecReload"][0])
        self.assertEqual(settings["WantedBy"], ["multi-user.target"])

    @unittest.skipUnless(shutil.which("systemd-analyze"), "systemd-analyze not installed")
    def test_systemd_accepts_the_unit(self):
        with tempfile.TemporaryDirectory() as unit_dir:
            unit = os.path.join(unit_dir, "classchatd.service")
            with open(UNIT_FILE, encoding="utf-8") as f:
                text = f.read().replace("/usr/local/bin/classchatd", self.installed("classchatd"))
            with open(unit, "w", encoding="utf-8") as f:
                f.write(text)
            result = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True,
                                    text=True, timeout=60)
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_installed_server_runs_as_the_unit_starts_it_and_stops_cleanly(self):
        # ExecStart with the environment file's flags, as systemd expands it; the test adds
        # a private port.
        command = unit_settings()["ExecStart"][0].replace(
            "$CLASSCHATD_ARGS", "--max-connections-per-ip 8 --host 127.0.0.1 --port 0 --no-http")
        argv = shlex.split(command)
        argv[0] = self.installed("classchatd")
        with tempfile.TemporaryFile() as log:
            proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log)
            try:
                port = None
                deadline = time.monotonic() + harness.TIMEOUT
                while port is None and time.monotonic() < deadline:
                    log.seek(0)
                    match = re.search(rb"listening on \S+:(\d+)", log.read())
                    port = int(match.group(1)) if match else None
                    time.sleep(0.02)
                self.assertIsNotNone(port, "the installed server never listened")
                with socket.create_connection(("127.0.0.1", port), timeout=harness.TIMEOUT) as s:
                    s.sendall(b"teacher")
                    self.assertIn(b"Welcome teacher", s.recv(4096))
                    proc.send_signal(signal.SIGTERM)
                    goodbye = b""
                    while b"shutting down" not in goodbye:
                        chunk = s.recv(4096)
                        if not chunk:
                            break
                        goodbye += chunk
                    self.assertIn(b"Server shutting down", goodbye)
                self.assertEqual(proc.wait(timeout=30), 0)  # within the unit's TimeoutStopSec
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()


if __name__ == "__main__":
    unittest.main()
