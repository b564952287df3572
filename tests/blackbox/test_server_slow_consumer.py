"""Slow consumers are really let go (issue #11): a client dropped for not reading is reset,
not closed gracefully with megabytes still trickling out of the kernel to it, and the
server's socket memory falls back."""
import os
import re
import select
import time
import unittest

import harness
from harness import TIMEOUT

PAGE = os.sysconf("SC_PAGE_SIZE")


def sockstat_tcp_mem_pages():
    """The TCP `mem` of /proc/net/sockstat: pages of socket buffers, system-wide."""
    with open("/proc/net/sockstat", encoding="ascii") as f:
        for line in f:
            if line.startswith("TCP:"):
                return int(re.search(r"\bmem (\d+)", line).group(1))
    raise KeyError("TCP mem")


def server_side_tx_queue(server_port, client_port):
    """Bytes queued in the kernel on the server's side of the connection to `client_port`
    (tx_queue in /proc/net/tcp), or None once that socket is gone."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table, encoding="ascii") as f:
            next(f)
            for line in f:
                fields = line.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                remote_port = int(fields[2].rsplit(":", 1)[1], 16)
                if local_port == server_port and remote_port == client_port:
                    return int(fields[4].split(":")[0], 16)
    return None


class SlowConsumerTest(harness.ServerTestCase):
    def flood_until_dropped(self, server, name):
        """A client with a small receive window that never reads, fed until the server drops
        it; returns its socket and the moment the `slow consumer` line appeared."""
        stuck = harness.connect_raw(server.port, rcvbuf=4096)
        self.addCleanup(stuck.close)
        stuck.sendall(name.encode())
        server.wait_for_log(rf"registered as {name}\b")
        shouter = self.register(server, "shouter")
        text = "x" * 60000
        pattern = rf"\({name}\) disconnected: slow consumer"
        for i in range(400):
            shouter.send("/shout", f"{i}:{text}")
            while not shouter.recv_msg().startswith("Message sent"):
                pass
            if re.search(pattern, server.log()):
                break
        server.wait_for_log(pattern)
        return stuck, time.monotonic()

    def test_dropped_reader_sees_the_end_within_a_second(self):
        server = self.start_server("--shout-rate", "0", "--rate-limit", "0", threads=1)
        stuck, logged = self.flood_until_dropped(server, "stuck")
        # The client still does not read; it must learn that it was dropped (a reset, or an
        # end of file) within 1 s anyway. Closed gracefully instead, the server's FIN waits
        # behind megabytes queued in its kernel that this client's window does not let
        # through, and the socket would just look quiet.
        poller = select.poll()
        poller.register(stuck, select.POLLERR | select.POLLHUP | select.POLLRDHUP)
        events = poller.poll(max(0, 1000 * (logged + 1.0 - time.monotonic())))
        elapsed = time.monotonic() - logged
        self.assertTrue(events, f"no reset or EOF within {elapsed:.2f} s of the log line")
        # Reading now ends with the reset (what was queued before it is readable first).
        stuck.settimeout(TIMEOUT)
        with self.assertRaises(ConnectionResetError):
            while stuck.recv(65536):
                pass
        # The rest of the class is served as before.
        other = self.register(server, "other")
        self.assertEqual(self.request(other, "/list"), "Online users (1): shouter")

    def test_kernel_memory_of_dropped_readers_is_freed(self):
        server = self.start_server("--shout-rate", "0", "--rate-limit", "0", threads=1)
        # Several stuck readers, so that what they hold stands out from the kernel's
        # per-CPU batching of the TCP memory counter (up to 1 MB per CPU).
        stuck = {}
        for i in range(8):
            sock = harness.connect_raw(server.port, rcvbuf=4096)
            self.addCleanup(sock.close)
            sock.sendall(f"stuck{i}".encode())
            server.wait_for_log(rf"registered as stuck{i}\b")
            stuck[f"stuck{i}"] = sock.getsockname()[1]
        shouter = self.register(server, "shouter")
        text = "y" * 60000

        def shout(tag):
            shouter.send("/shout", f"{tag}:{text}")
            while not shouter.recv_msg().startswith("Message sent"):
                pass

        def queued():
            return [server_side_tx_queue(server.port, port) or 0 for port in stuck.values()]

        # Fill the server's kernel send queues towards them, short of the drop.
        for i in range(12):
            shout(i)
        harness.wait_until(lambda: min(queued()) > 200_000,
                           message="the server's send queues to the stuck clients to fill")
        held_bytes = sum(queued())
        # With SO_SNDBUF capped, the kernel holds well under tcp_wmem's 4 MB per client.
        self.assertLess(max(queued()), 1024 * 1024, "the kernel send buffer is not capped")
        held_pages = sockstat_tcp_mem_pages()
        # Now overflow their user-space queues: the server drops them.
        for i in range(400):
            shout(f"more{i}")
            if len(re.findall(r"\(stuck\d\) disconnected: slow consumer", server.log())) == 8:
                break
        self.wait_for_log_count(server, r"\(stuck\d\) disconnected: slow consumer", 8)
        # The server's sockets are gone at once (reset, not FIN_WAIT with a full queue)...
        harness.wait_until(lambda: all(server_side_tx_queue(server.port, port) is None
                                       for port in stuck.values()),
                           timeout=1.0, message="the server's sockets to the stuck clients to go")
        # ...and the system's TCP memory falls back by at least half of what they held.
        # Other processes' sockets add noise, so the condition only has to hold once.
        expected_drop = held_bytes // PAGE // 2
        harness.wait_until(lambda: sockstat_tcp_mem_pages() <= held_pages - expected_drop,
                           timeout=TIMEOUT,
                           message=f"TCP mem to fall {expected_drop} pages below {held_pages}")

    def test_flooder_that_does_not_read_is_reset_at_once(self):
        server = self.start_server("--rate-limit", "10", "--rate-burst", "10",
                                   "--flood-disconnect", "50", threads=1)
        flooder = harness.connect_raw(server.port, rcvbuf=4096)
        self.addCleanup(flooder.close)
        flooder.sendall(b"flooder")
        server.wait_for_log(r"registered as flooder\b")
        # Its window is full: a graceful close would have to wait for it to read.
        sender = self.register(server, "sender")
        for i in range(8):
            sender.send("flooder", f"{i}:" + "f" * 50000)
        port = flooder.getsockname()[1]
        harness.wait_until(lambda: (server_side_tx_queue(server.port, port) or 0) > 100_000,
                           message="the server's send queue to the flooder to fill")
        flooder.sendall(b'{"to":"/time"}' * 200)
        server.wait_for_log(r"\(flooder\) disconnected: flooding")
        logged = time.monotonic()
        poller = select.poll()
        poller.register(flooder, select.POLLERR | select.POLLHUP | select.POLLRDHUP)
        self.assertTrue(poller.poll(1000), "the flooder was not reset within 1 s")
        self.assertLess(time.monotonic() - logged, 1.0)
        harness.wait_until(lambda: server_side_tx_queue(server.port, port) is None, timeout=1.0,
                           message="the server's socket to the flooder to go")

    def test_send_buffer_flag_zero_leaves_autotuning(self):
        # --send-buffer-bytes 0 is accepted (the kernel's autotuning); the server serves.
        server = self.start_server("--send-buffer-bytes", "0")
        alice = self.register(server, "alice")
        self.assertEqual(self.request(alice, "/list"), "You are the only active user!")


if __name__ == "__main__":
    unittest.main()
