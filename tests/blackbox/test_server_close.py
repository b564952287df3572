"""Closing cleanly (issue #11): a refusal or a goodbye reaches a client that was still
sending when the server closed. A plain close() with unread input makes the kernel send an
RST, which drops whatever it had not sent yet; the server does a lingering close instead
(FIN after its last bytes, then it reads and discards until the client closes or 2 s)."""
import json
import signal
import socket
import threading
import time
import unittest

import harness
from harness import TIMEOUT
from test_server_slow_consumer import server_side_tx_queue


class Writer(threading.Thread):
    """Sends `data` on `sock` from another thread; remembers how that ended."""

    def __init__(self, sock, *chunks, pause=0.0):
        super().__init__(daemon=True)
        self.sock = sock
        self.chunks = chunks
        self.pause = pause
        self.error = None

    def run(self):
        try:
            for i, chunk in enumerate(self.chunks):
                if i > 0:
                    time.sleep(self.pause)
                self.sock.sendall(chunk)
        except OSError as e:
            self.error = e


def read_to_end(sock, timeout=TIMEOUT):
    """Everything `sock` receives, and how it ended: "EOF" or "reset"."""
    data = b""
    deadline = time.monotonic() + timeout
    while True:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data, "reset"
        except (TimeoutError, socket.timeout):
            raise AssertionError("connection still open after %d bytes: %r" % (len(data), data[-300:]))
        if not chunk:
            return data, "EOF"
        data += chunk


def messages(data):
    """The msg of every complete frame in `data`; a cut-off last frame shows as "<cut off>"."""
    *lines, rest = data.split(b"\n")
    return [json.loads(line)["msg"] for line in lines if line] + (["<cut off>"] if rest else [])


class LingeringCloseTest(harness.ServerTestCase):
    def refused_while_sending(self, server, first_bytes, pause=0.0, blob_bytes=1 << 20):
        """Connects, sends `first_bytes` and (after `pause` seconds) a large blob from another
        thread, and reads what the server answers; returns (messages, how it ended, writer)."""
        sock = harness.connect_raw(server.port)
        self.addCleanup(sock.close)
        writer = Writer(sock, first_bytes, b" " * blob_bytes, pause=pause)
        writer.start()
        data, ending = read_to_end(sock)
        writer.join(TIMEOUT)
        return messages(data), ending, writer

    def assertRefusedCleanly(self, msgs, ending, writer, error):
        self.assertEqual(msgs, [error])
        # The server read (and threw away) what we were still sending: no reset, neither
        # for our reads nor for our writes.
        self.assertEqual(ending, "EOF")
        self.assertFalse(writer.is_alive(), "the server stopped reading what the client sent")
        self.assertIsNone(writer.error)

    def test_invalid_name_with_data_in_flight(self):
        server = self.start_server()
        msgs, ending, writer = self.refused_while_sending(server, b"bad name!")
        self.assertEqual(len(msgs), 1, msgs)
        self.assertTrue(msgs[0].startswith("Error: "), msgs)
        self.assertRefusedCleanly(msgs, ending, writer, msgs[0])
        server.wait_for_log(r"disconnected before registering: refused")

    def test_taken_name_with_data_in_flight(self):
        server = self.start_server()
        self.register(server, "alice")
        # The blob follows once the name was refused (sent with it, it would make the
        # handshake too long while the server gives the name a second try).
        msgs, ending, writer = self.refused_while_sending(server, b"alice", pause=0.3)
        self.assertRefusedCleanly(msgs, ending, writer, "Error: username 'alice' is already taken")

    def test_full_server_with_data_in_flight(self):
        server = self.start_server("--max-connections", "1")
        self.register(server, "alice")
        msgs, ending, writer = self.refused_while_sending(server, b"bob")
        self.assertRefusedCleanly(msgs, ending, writer,
                                  "Error: the server is full (1 connections); try again later")

    def test_goodbye_reaches_a_client_that_is_behind_and_still_sending(self):
        server = self.start_server(threads=1)
        # A client with a small receive window, which has not read for a while: the server's
        # kernel holds a few hundred KB for it when the server is stopped.
        slow = harness.connect_raw(server.port, rcvbuf=4096)
        self.addCleanup(slow.close)
        slow.sendall(b"slow")
        server.wait_for_log(r"registered as slow\b")
        sender = self.register(server, "sender")
        text = "z" * 50000
        for i in range(8):
            sender.send("slow", f"{i}:{text}")
        self.request(sender, "/list")  # answered after the eight were handed on
        port = slow.getsockname()[1]
        harness.wait_until(lambda: (server_side_tx_queue(server.port, port) or 0) > 100_000,
                           message="the server's send queue to the slow client to fill")
        server.proc.send_signal(signal.SIGTERM)
        server.wait_for_log(r"shutting down")
        # The client still sends (it does not know yet), then catches up with its reading.
        slow.sendall(b" " * 65536)
        data, ending = read_to_end(slow)
        msgs = messages(data)
        self.assertTrue(msgs[0].startswith("Welcome slow!"), msgs[:1])
        self.assertEqual([m.split(":")[0] for m in msgs[1:-1]], [str(i) for i in range(8)])
        self.assertEqual(msgs[-1], "Server shutting down")
        self.assertEqual(ending, "EOF")
        self.assertEqual(server.proc.wait(TIMEOUT), 0)


if __name__ == "__main__":
    unittest.main()
