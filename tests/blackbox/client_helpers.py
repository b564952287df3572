"""Helpers for the classchat client tests: run the real client through pipes, in a
terminal (tmux), and against a scripted fake server. Standard library only."""
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import harness

CLIENT_BINARY = os.environ.get(
    "CLASSCHAT", os.path.join(harness.ROOT, "build", "release", "src", "client", "classchat"))
TIMEOUT = harness.TIMEOUT


def client_env(**extra):
    env = dict(os.environ)
    env.pop("NO_COLOR", None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run_client(*args, stdin_text="", timeout=None, env=None):
    """Runs classchat with stdin from a pipe; returns the CompletedProcess."""
    return subprocess.run([CLIENT_BINARY, *[str(a) for a in args]], input=stdin_text.encode(),
                          capture_output=True, timeout=timeout or 3 * TIMEOUT,
                          env=env or client_env())


def free_port():
    """A loopback port with nothing listening on it (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FixedPortServer(harness.Server):
    """classchatd on a given port, so a test can bring a server back where it was."""

    def __init__(self, port, *args, threads=2):  # pylint: disable=super-init-not-called
        self.log_file = tempfile.NamedTemporaryFile(prefix="classchatd-", suffix=".log",
                                                    delete=False)
        self.host = "127.0.0.1"
        cmd = [harness.SERVER_BINARY, "--host", "127.0.0.1", "--port", str(port),
               "--threads", str(threads), "--no-http", *[str(a) for a in args]]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self.log_file)
        self.port = self._wait_for_port()


class BackgroundClient:
    """classchat running with piped stdio; its stdout lines are collected as they come."""

    def __init__(self, *args, env=None, stdin=subprocess.DEVNULL):
        self.proc = subprocess.Popen([CLIENT_BINARY, *[str(a) for a in args]], stdin=stdin,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=env or client_env())
        self.lines = queue.Queue()
        self.stderr_chunks = []
        self.pumps = [threading.Thread(target=self._pump_stdout, daemon=True),
                      threading.Thread(target=self._pump_stderr, daemon=True)]
        for pump in self.pumps:
            pump.start()

    def _pump_stdout(self):
        for line in self.proc.stdout:
            self.lines.put(line.decode("utf-8", "replace").rstrip("\n"))
        self.lines.put(None)

    def _pump_stderr(self):
        for chunk in iter(lambda: self.proc.stderr.read1(4096), b""):
            self.stderr_chunks.append(chunk)

    def stderr(self):
        return b"".join(self.stderr_chunks).decode("utf-8", "replace")

    def next_line(self, timeout=TIMEOUT):
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("no output line within %.1f s; stderr: %s"
                                 % (timeout, self.stderr())) from None
        if line is None:
            raise AssertionError("classchat exited; stderr: " + self.stderr())
        return line

    def wait(self, timeout=TIMEOUT):
        """Waits for the exit and for all output; returns the exit status."""
        status = self.proc.wait(timeout=timeout)
        for pump in self.pumps:
            pump.join(timeout)
        return status

    def wait_for_stderr(self, pattern, timeout=TIMEOUT):
        return harness.wait_for_match(self.stderr, pattern, timeout, "stderr")

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.wait()
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()


def tmux_available():
    return shutil.which("tmux") is not None


class Terminal:
    """The client in a real terminal: a detached tmux session of a fixed size. Keys are
    typed with send-keys and the screen is read back with capture-pane, so assertions
    are about what a person would see. Each terminal has its own tmux server, socket and
    temporary directory."""

    def __init__(self, args, width=100, height=30, env=None, pipe_to=None):
        self.dir = tempfile.mkdtemp(prefix="classchat-term-")
        self.socket = os.path.join(self.dir, "tmux.sock")
        self.status_path = os.path.join(self.dir, "status")
        env_words = " ".join(f"{k}={_shell_quote(v)}" for k, v in (env or {}).items())
        client = " ".join(_shell_quote(str(a)) for a in [CLIENT_BINARY, *args])
        if pipe_to:
            client += " | " + pipe_to  # stdout is then a pipe; the status is pipe_to's
        # The shell stays after the client exits, so its last screen can still be read.
        command = (f"env -u NO_COLOR {env_words} {client}; "
                   f"echo $? > {self.status_path}; sleep 600")
        self._tmux("new-session", "-d", "-x", str(width), "-y", str(height), "-s", "t",
                   command)
        self.shell_pid = int(self._tmux("display-message", "-p", "-t", "t", "#{pane_pid}")
                             .stdout.decode().strip())

    def _tmux(self, *args, check=True):
        return subprocess.run(["tmux", "-S", self.socket, "-f", "/dev/null", *args],
                              capture_output=True, check=check, timeout=TIMEOUT)

    def type(self, text):
        """Types `text` literally, without pressing Enter."""
        self._tmux("send-keys", "-t", "t", "-l", text)

    def press(self, *keys):
        """Presses named keys: Enter, Tab, C-d, C-c..."""
        self._tmux("send-keys", "-t", "t", *keys)

    def resize(self, width, height):
        """Resizes the terminal (the client gets SIGWINCH)."""
        self._tmux("resize-window", "-t", "t", "-x", str(width), "-y", str(height))

    def screen(self, escapes=False):
        args = ["capture-pane", "-p", "-t", "t"] + (["-e"] if escapes else [])
        return self._tmux(*args).stdout.decode("utf-8", "replace")

    def cursor(self):
        out = self._tmux("display-message", "-p", "-t", "t", "#{cursor_x} #{cursor_y}")
        x, y = out.stdout.decode().split()
        return int(x), int(y)

    def lines(self):
        return [line.rstrip() for line in self.screen().split("\n")]

    def wait_for(self, pattern, timeout=TIMEOUT):
        """Waits until the screen matches the regex `pattern` (MULTILINE); returns the match.
        capture-pane drops spaces at the ends of lines, so patterns must not expect them."""
        deadline = time.monotonic() + timeout
        while True:
            match = re.search(pattern, self.screen(), re.MULTILINE)
            if match:
                return match
            if time.monotonic() > deadline:
                raise AssertionError(f"screen never matched {pattern!r}:\n{self.screen()}")
            time.sleep(0.03)

    def _status(self):
        try:
            with open(self.status_path, encoding="ascii") as f:
                text = f.read().strip()
            return int(text) if text else None
        except FileNotFoundError:
            return None

    def running(self):
        """True while the client has not exited."""
        return self._status() is None

    def exit_status(self, timeout=TIMEOUT):
        """Waits for the client to exit; returns its status."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self._status()
            if status is not None:
                return status
            time.sleep(0.03)
        raise AssertionError("classchat did not exit:\n" + self.screen())

    def _client_pids(self):
        """The processes the pane's shell started (the client, and a pipe's reader)."""
        pids = []
        task_dir = f"/proc/{self.shell_pid}/task"
        try:
            for task in os.listdir(task_dir):
                with open(f"{task_dir}/{task}/children", encoding="ascii") as f:
                    pids += [int(p) for p in f.read().split()]
        except (FileNotFoundError, ProcessLookupError):
            pass
        return pids

    def close(self):
        # End a client that is still running with SIGTERM before the terminal goes away:
        # a hang-up arriving while a sanitizer build checks for leaks at exit can stall
        # it, so the client must be gone before tmux closes the terminal.
        if self._status() is None:
            pids = self._client_pids()
            for pid in pids:
                _signal(pid, signal.SIGTERM)
            try:
                self.exit_status()
            except AssertionError:
                for pid in pids:
                    _signal(pid, signal.SIGKILL)
        self._tmux("kill-server", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


def _signal(pid, signo):
    try:
        os.kill(pid, signo)
    except ProcessLookupError:
        pass


def _shell_quote(text):
    return "'" + text.replace("'", "'\\''") + "'"


class FakeServer:
    """A one-connection TCP server driven by the test, to control framing exactly."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.listener.settimeout(TIMEOUT)
        self.port = self.listener.getsockname()[1]
        self.conn = None

    def accept(self):
        self.conn, _ = self.listener.accept()
        self.conn.settimeout(TIMEOUT)
        return self.conn

    def recv_until_eof(self):
        chunks = []
        while True:
            chunk = self.conn.recv(1 << 20)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)

    def close(self):
        if self.conn is not None:
            self.conn.close()
        self.listener.close()


_password_hashes = {}


def write_accounts(path, accounts):
    """Writes an --accounts file; accounts is {name: (role, password)}. Hashes come from
    `classchatd --hash-password`, remembered because argon2id is slow on purpose."""
    with open(path, "w", encoding="utf-8") as f:
        for name, (role, password) in accounts.items():
            if password not in _password_hashes:
                result = subprocess.run([harness.SERVER_BINARY, "--hash-password"],
                                        input=password + "\n", capture_output=True, text=True,
                                        timeout=60, check=True)
                _password_hashes[password] = result.stdout.strip()
            f.write(f"{name} {role} {_password_hashes[password]}\n")


def write_secret(path, text, mode=0o600):
    """Writes a password file readable only by its owner (or with `mode`)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, mode)
