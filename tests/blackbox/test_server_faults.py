"""Fault injection against classchatd (issue #5): clients killed mid-message, RST instead
of FIN, half-closed sockets, byte-at-a-time senders, and a burst of 5,000 connects and
disconnects. Afterwards the server has the same threads, no leaked descriptors, stable
memory, and every name is free again."""
import json
import signal
import socket
import struct
import subprocess
import sys
import time
import unittest

from harness import (MEMORY_CHECKS, LineClient, Server, TIMEOUT, fd_count, process_status,
                     register, wait_until)








def reset_close(sock):
    """Closes with RST instead of FIN (SO_LINGER with a zero timeout)."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class FaultTest(unittest.TestCase):
    def assert_only_user(self, client):
        client.send("/list")
        self.assertEqual(client.recv_msg(), "You are the only active user!")

    def test_client_killed_mid_message(self):
        with Server() as server:
            observer = register(server.port, "observer")
            script = (
                "import socket,sys,time\n"
                f"s=socket.create_connection(('127.0.0.1',{server.port}))\n"
                "s.send(b'victim'); s.recv(1024)\n"
                "s.send(b'{\"to\":\"observer\",\"msg\":\"never fin')\n"
                "print('ready', flush=True); time.sleep(60)\n")
            victim = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
            self.assertEqual(victim.stdout.readline().strip(), b"ready")
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            server.wait_for_log(r"\(victim\) disconnected")
            self.assert_only_user(observer)
            register(server.port, "victim")  # the name is free again

    def test_reset_instead_of_fin(self):
        with Server() as server:
            observer = register(server.port, "observer")
            rude = register(server.port, "rude")
            rude.send_raw('{"to":"observer","msg":"half')
            reset_close(rude.sock)
            server.wait_for_log(r"\(rude\) disconnected: connection reset by peer")
            self.assert_only_user(observer)

    def test_half_closed_client_still_gets_its_replies(self):
        with Server() as server:
            sock = socket.create_connection(("127.0.0.1", server.port))
            sock.settimeout(TIMEOUT)
            sock.sendall(b'halfway\n{"to":"/time","msg":""}{"to":"/ping","msg":"last"}')
            sock.shutdown(socket.SHUT_WR)
            data = b""
            while True:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
            msgs = [json.loads(line)["msg"] for line in data.splitlines()]
            self.assertEqual(len(msgs), 3, msgs)
            self.assertTrue(msgs[0].startswith("Welcome halfway!"))
            self.assertTrue(msgs[1].startswith("Server time: "))
            self.assertTrue(msgs[2].endswith(" last"))
            server.wait_for_log(r"\(halfway\) disconnected: peer closed the connection")

    def test_one_byte_at_a_time_does_not_hold_up_others(self):
        with Server() as server:
            fast = register(server.port, "fast")
            # The name ends with the first read, so it goes whole; then one byte per send.
            slow = LineClient(server.port, b"slowpoke")
            self.assertTrue(slow.recv_msg().startswith("Welcome slowpoke!"))
            message = json.dumps({"to": "fast", "msg": "dribbled"}).encode()
            for i, byte in enumerate(message):
                slow.send_raw(bytes([byte]))
                if i % 8 == 0 and i < len(message) - 1:  # meanwhile, the fast one is served
                    fast.send("/ping", str(i))
                    pong = fast.recv_msg()
                    self.assertTrue(pong.endswith(" " + str(i)), pong)
                time.sleep(0.01)
            reply = fast.recv()
            self.assertEqual(reply["from"]["name"], "slowpoke")
            self.assertEqual(reply["msg"], "dribbled")

    def test_slow_handshake_is_cut_off_by_the_deadline(self):
        with Server("--handshake-timeout", "1") as server:
            sock = socket.create_connection(("127.0.0.1", server.port))
            sock.settimeout(TIMEOUT)
            # Nothing but the connect; the server must close it by itself.
            data = sock.recv(4096)
            self.assertIn(b"Error: no username received within 1000 ms", data)
            self.assertEqual(sock.recv(4096), b"")

    def test_burst_of_5000_connects_and_disconnects_leaves_no_trace(self):
        with Server() as server:
            pid = server.proc.pid
            observer = register(server.port, "observer")
            threads = process_status(pid, "Threads")
            baseline_fds = fd_count(pid)

            def burst(tag):
                # 5,000 clients in waves of 500: half register and leave with FIN, a
                # quarter with RST, a quarter never say their name.
                for wave in range(10):
                    socks = []
                    for i in range(500):
                        sock = socket.create_connection(("127.0.0.1", server.port))
                        if i % 4 != 3:
                            sock.send(f"{tag}{wave}_{i}".encode())
                        socks.append(sock)
                    for i, sock in enumerate(socks):
                        if i % 4 == 2:
                            reset_close(sock)
                        else:
                            sock.close()

            burst("a")
            wait_until(lambda: fd_count(pid) == baseline_fds, message="descriptors to be closed")
            # The first burst warms the allocator; the second must not grow memory further.
            rss_after_first = process_status(pid, "VmRSS")
            burst("b")
            wait_until(lambda: fd_count(pid) == baseline_fds, message="descriptors to be closed")
            self.assertEqual(process_status(pid, "Threads"), threads)
            rss_growth = process_status(pid, "VmRSS") - rss_after_first
            if MEMORY_CHECKS:
                self.assertLess(rss_growth, 4096,
                                "RSS grew by %d KiB over the second burst" % rss_growth)
            wait_until(lambda: self._only_user(observer), message="every name to be freed")
            # A name from each burst can be registered again.
            register(server.port, "a0_0")
            register(server.port, "b9_498")

    def _only_user(self, client):
        client.send("/list")
        return client.recv_msg() == "You are the only active user!"


if __name__ == "__main__":
    unittest.main()
