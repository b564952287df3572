"""Black-box tests for classchatd's limits: handshake and idle timeouts, /ping, rate
limits and flood disconnects, connection caps, slow consumers (issue #5)."""
import json
import re
import socket
import time
import unittest

from harness import (MEMORY_CHECKS, LineClient, Server, TIMEOUT, fd_count, process_status,
                     register, wait_until)








class PingTest(unittest.TestCase):
    def test_ping_answers_pong_with_server_time_and_token(self):
        with Server() as server:
            alice = register(server.port, "alice")
            before = time.time()
            alice.send("/ping", "token-42")
            reply = alice.recv()
            after = time.time()
            self.assertEqual(reply["from"], {"name": "SERVER", "ip": "0.0.0.0"})
            match = re.fullmatch(r"pong (\d+\.\d{6}) token-42", reply["msg"])
            self.assertIsNotNone(match, reply["msg"])
            self.assertGreaterEqual(float(match.group(1)), before - 1)
            self.assertLessEqual(float(match.group(1)), after + 1)

    def test_ping_without_token_and_in_help(self):
        with Server() as server:
            alice = register(server.port, "alice")
            alice.send("/ping")
            self.assertRegex(alice.recv_msg(), r"^pong \d+\.\d{6}$")
            alice.send("/help")
            self.assertIn("/ping", alice.recv_msg())


class HandshakeTimeoutTest(unittest.TestCase):
    def test_silent_peer_is_closed_with_an_error(self):
        with Server("--handshake-timeout", "0.5") as server:
            silent = LineClient(server.port)
            frames = silent.expect_closed()
            self.assertEqual(len(frames), 1)
            self.assertEqual(frames[0]["msg"], "Error: no username received within 500 ms")

    def test_thousands_of_silent_peers_do_not_delay_others(self):
        with Server("--handshake-timeout", "2") as server:
            baseline_fds = fd_count(server.proc.pid)
            silent = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(2000)]
            alice = register(server.port, "alice")
            bob = register(server.port, "bob")
            # While 2,000 peers sit silent, registered users are served.
            for i in range(20):
                alice.send("bob", f"m{i}")
                self.assertEqual(bob.recv_msg(), f"m{i}")
            # Every silent peer is then closed by the server (EOF after one error line).
            for sock in silent:
                sock.settimeout(TIMEOUT)
                data = b""
                while True:
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                self.assertIn(b"Error: no username received", data)
                sock.close()
            wait_until(lambda: fd_count(server.proc.pid) <= baseline_fds + 2, message="fds")
            alice.send("/list")
            self.assertEqual(alice.recv_msg(), "Online users (1): bob")


class IdleTimeoutTest(unittest.TestCase):
    def test_idle_client_is_disconnected_and_active_one_stays(self):
        with Server("--idle-timeout", "1") as server:
            idle = register(server.port, "idle")
            active = register(server.port, "active")
            deadline = time.monotonic() + 2.5
            while time.monotonic() < deadline:
                active.send("/ping")
                self.assertTrue(active.recv_msg().startswith("pong"))
                time.sleep(0.2)
            frames = idle.expect_closed()
            self.assertEqual(frames[-1]["msg"], "Error: idle for more than 1 s; disconnecting")
            server.wait_for_log(r"\(idle\) disconnected: idle for more than 1 s")
            # The active client is still there, and the idle name is free again.
            active.send("/list")
            self.assertEqual(active.recv_msg(), "You are the only active user!")

    def test_no_idle_timeout_by_default(self):
        with Server() as server:
            quiet = register(server.port, "quiet")
            time.sleep(1.5)
            quiet.send("/ping")
            self.assertTrue(quiet.recv_msg().startswith("pong"))


class RateLimitTest(unittest.TestCase):
    def test_excess_messages_get_one_error_per_second_and_are_dropped(self):
        with Server("--rate-limit", "10", "--rate-burst", "10") as server:
            alice = register(server.port, "alice")
            alice.send_raw("".join(json.dumps({"to": "/ping", "msg": str(i)}) for i in range(25)))
            replies = [alice.recv_msg() for _ in range(11)]
            pongs = [m for m in replies if m.startswith("pong")]
            self.assertEqual(len(pongs), 10)
            self.assertEqual([p.split()[-1] for p in pongs], [str(i) for i in range(10)])
            self.assertEqual(replies[-1],
                             "Error: rate limit: at most 10 messages per second; message dropped")
            with self.assertRaises(TimeoutError):  # the other 14 were dropped silently
                alice.recv(timeout=0.5)
            time.sleep(1.1)  # the bucket refills
            alice.send("/ping", "later")
            self.assertTrue(alice.recv_msg().endswith("later"))

    def test_shout_rate_is_separate(self):
        with Server("--shout-rate", "1", "--shout-burst", "2") as server:
            alice = register(server.port, "alice")
            bob = register(server.port, "bob")
            alice.send_raw("".join(json.dumps({"to": "/shout", "msg": f"s{i}"}) for i in range(4)))
            self.assertEqual([alice.recv_msg() for _ in range(3)],
                             ["Message sent to 1 users", "Message sent to 1 users",
                              "Error: rate limit: at most 1 shouts per second; shout dropped"])
            self.assertEqual([bob.recv_msg(), bob.recv_msg()], ["s0", "s1"])
            alice.send("bob", "a direct message still works")
            self.assertEqual(bob.recv_msg(), "a direct message still works")

    def test_defaults_allow_a_fast_human_and_the_class_stress_pattern(self):
        with Server() as server:
            alice = register(server.port, "alice")
            bob = register(server.port, "bob")
            for i in range(100):
                alice.send("bob", str(i))
            self.assertEqual([bob.recv_msg() for _ in range(100)], [str(i) for i in range(100)])

    def test_flooding_client_is_disconnected_with_reason(self):
        with Server("--rate-limit", "10", "--rate-burst", "10", "--flood-disconnect", "50") as server:
            flooder = register(server.port, "flooder")
            bystander = register(server.port, "bystander")
            flooder.send_raw("".join(json.dumps({"to": "/time"}) for _ in range(200)))
            frames = flooder.expect_closed()
            self.assertEqual(frames[-1]["msg"], "Error: disconnected for flooding")
            server.wait_for_log(r"\(flooder\) disconnected: flooding")
            bystander.send("/list")
            self.assertEqual(bystander.recv_msg(), "You are the only active user!")

    def test_garbage_counts_against_the_rate_limit(self):
        with Server("--rate-limit", "5", "--rate-burst", "5", "--flood-disconnect", "20") as server:
            noisy = register(server.port, "noisy")
            noisy.send_raw("junk\n" * 100)
            frames = noisy.expect_closed()
            self.assertEqual(sum(f["msg"].startswith("Error: expected a JSON object") for f in frames), 5)
            self.assertEqual(frames[-1]["msg"], "Error: disconnected for flooding")


class ConnectionCapTest(unittest.TestCase):
    def test_max_connections(self):
        with Server("--max-connections", "3") as server:
            clients = [register(server.port, f"u{i}") for i in range(3)]
            refused = LineClient(server.port, "u3")
            self.assertEqual(refused.expect_closed()[0]["msg"],
                             "Error: the server is full (3 connections); try again later")
            clients[0].close()
            server.wait_for_log(r"\(u0\) disconnected")
            register(server.port, "u3")  # a slot is free again

    def test_max_connections_per_ip(self):
        with Server("--max-connections-per-ip", "2", host="::") as server:
            kept = [register(server.port, "a1"), register(server.port, "a2")]
            third = LineClient(server.port, "a3")
            self.assertEqual(third.expect_closed()[0]["msg"],
                             "Error: too many connections from your address (limit 2)")
            # Another address (IPv6 loopback) has its own allowance.
            kept.append(register(server.port, "b1", host="::1", family=socket.AF_INET6))


class SlowConsumerTest(unittest.TestCase):
    def test_reader_that_stops_is_dropped_and_memory_stays_bounded(self):
        with Server("--max-output-bytes", "262144", "--shout-rate", "0", "--rate-limit", "0") as server:
            stuck = socket.socket()
            stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            stuck.connect(("127.0.0.1", server.port))
            stuck.send(b"stuck\n")  # terminated: registered at once, without --name-wait-ms
            reader = register(server.port, "reader")
            shouters = [register(server.port, f"shouter{i}") for i in range(3)]
            baseline = process_status(server.proc.pid, "VmRSS")
            text = "x" * 30000
            rounds = 40  # 3 x 40 x 30 KB = 3.6 MB aimed at the stuck client
            for r in range(rounds):
                for s in shouters:
                    s.send("/shout", f"{r}:{text}")
                for s in shouters:
                    # Up to "Message sent to N users", taking the other shouters' shouts on
                    # the way: a shouter that left them unread would become a slow consumer
                    # itself once the kernel's send buffer (--send-buffer-bytes) is full.
                    while not s.recv_msg().startswith("Message sent"):
                        pass
                for _ in shouters:
                    self.assertTrue(reader.recv_msg().endswith(text))
            server.wait_for_log(r"\(stuck\) disconnected: slow consumer")
            growth_kib = process_status(server.proc.pid, "VmRSS") - baseline
            if MEMORY_CHECKS:
                self.assertLess(growth_kib, 16 * 1024, "server memory grew with the stuck client")
            stuck.close()


if __name__ == "__main__":
    unittest.main()
