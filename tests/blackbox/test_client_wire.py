"""What classchat puts on the wire and how it reads frames, against a fake server that
controls every byte and every segment boundary."""
import json
import socket
import subprocess
import threading
import time
import unittest

from client_helpers import BackgroundClient, FakeServer

WELCOME = (b'{"from":{"name":"SERVER","ip":"0.0.0.0"},"to":"bot","msg":"Welcome bot! '
           b'You are the only one online. Send /help to see the commands."}\n')


def frame(name, ip, to, msg):
    return (json.dumps({"from": {"name": name, "ip": ip}, "to": to, "msg": msg},
                       separators=(",", ":"), ensure_ascii=False) + "\n").encode()


class WireTest(unittest.TestCase):
    def setUp(self):
        self.fake = FakeServer()
        self.addCleanup(self.fake.close)

    def start(self, *args, **kw):
        client = BackgroundClient("--port", self.fake.port, "--name", "bot", *args, **kw)
        self.addCleanup(client.close)
        conn = self.fake.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return client, conn

    def test_bare_name_first_then_one_compact_json_line_per_message(self):
        client, conn = self.start("--send", "bob", 'say "hi" \u00e9')
        # The client sends nothing else until the server has answered the name.
        self.assertEqual(conn.recv(1024), b"bot")
        conn.sendall(WELCOME)
        sent = self.fake.recv_until_eof()  # --send half-closes after its message
        self.assertEqual(sent, b'{"from":{"name":"bot","ip":"127.0.0.1"},"to":"bob",'
                               b'"msg":"say \\"hi\\" \xc3\xa9"}\n')
        conn.close()  # the server closes once it has answered: success
        self.assertEqual(client.wait(), 0)

    def test_script_lines_become_messages_in_order(self):
        client, conn = self.start(stdin=subprocess.PIPE)
        self.assertEqual(conn.recv(1024), b"bot")
        conn.sendall(WELCOME)
        client.proc.stdin.write(b"@bob one\n/shout two\n/list\n/anything goes here\n")
        client.proc.stdin.close()
        lines = self.fake.recv_until_eof().decode().splitlines()
        self.assertEqual([(json.loads(l)["to"], json.loads(l)["msg"]) for l in lines],
                         [("bob", "one"), ("/shout", "two"), ("/list", ""),
                          ("/anything", "goes here")])
        conn.close()
        self.assertEqual(client.wait(), 0)

    def test_frames_split_across_reads_are_reassembled(self):
        client, conn = self.start("--listen")
        self.assertEqual(conn.recv(1024), b"bot")
        dm = frame("alice", "10.0.0.5", "bot", "caf\u00e9 \U0001F355 {braces} \"quotes\"")
        # One byte per segment, through the middle of multi-byte characters.
        for i in range(len(WELCOME + dm)):
            conn.sendall((WELCOME + dm)[i:i + 1])
            time.sleep(0.0005)
        self.assertEqual(client.next_line().encode() + b"\n", WELCOME)
        self.assertEqual(json.loads(client.next_line()), json.loads(dm))

    def test_coalesced_frames_are_all_read_in_order(self):
        client, conn = self.start("--listen")
        self.assertEqual(conn.recv(1024), b"bot")
        frames = [frame("u%d" % i, "127.0.0.1", "bot", "message %d" % i) for i in range(50)]
        conn.sendall(WELCOME + b"".join(frames))
        client.next_line()
        for i in range(50):
            self.assertEqual(json.loads(client.next_line())["msg"], "message %d" % i)

    def test_error_reply_after_send_exits_one(self):
        client, conn = self.start("--send", "bobby", "hi")
        self.assertEqual(conn.recv(1024), b"bot")
        conn.sendall(WELCOME)
        self.fake.recv_until_eof()
        conn.sendall(frame("SERVER", "0.0.0.0", "bot", "Error: user 'bobby' not found"))
        conn.close()
        self.assertEqual(client.wait(), 1)
        self.assertEqual(client.stderr(), "classchat: Error: user 'bobby' not found\n")

    def test_server_that_never_finishes_answering_exits_four_after_wait(self):
        client, conn = self.start("--send", "bob", "hi", "--wait", "0.5")
        self.assertEqual(conn.recv(1024), b"bot")
        conn.sendall(WELCOME)
        self.fake.recv_until_eof()  # and then never close
        self.assertEqual(client.wait(), 4)
        self.assertIn("did not finish answering within 0.5 s", client.stderr())

    def test_server_that_never_answers_the_name_exits_four_after_wait(self):
        client, conn = self.start("--listen", "--wait", "0.5")
        self.assertEqual(conn.recv(1024), b"bot")
        self.assertEqual(client.wait(), 4)
        self.assertEqual(client.stderr(), "classchat: The server did not answer within 0.5 s.\n")

    def test_a_server_out_of_connection_slots_is_not_a_refused_name(self):
        client, conn = self.start("--listen")
        self.assertEqual(conn.recv(1024), b"bot")
        conn.sendall(frame("SERVER", "0.0.0.0", "",
                           "Error: the server has no free connection slots; try again later"))
        conn.close()
        self.assertEqual(client.wait(), 4)
        self.assertEqual(client.stderr(), "classchat: The server turned the connection away: the "
                                          "server has no free connection slots; try again later.\n")

    def test_a_refused_name_exits_three_with_the_reason(self):
        client, conn = self.start("--listen")
        self.assertEqual(conn.recv(1024), b"bot")
        conn.sendall(frame("SERVER", "0.0.0.0", "bot", "Error: username 'bot' is already taken"))
        conn.close()
        self.assertEqual(client.wait(), 3)
        self.assertEqual(client.stderr(), "classchat: The server refused the name bot: username "
                                          "'bot' is already taken.\n")

    def test_a_reason_that_ends_with_a_full_stop_gets_no_second_one(self):
        client, conn = self.start("--listen")
        self.assertEqual(conn.recv(1024), b"bot")
        conn.sendall(frame("SERVER", "0.0.0.0", "bot",
                           "Error: invalid username 'bot': use only A-Z a-z 0-9 _ - ."))
        conn.close()
        self.assertEqual(client.wait(), 3)
        self.assertEqual(client.stderr(), "classchat: The server refused the name bot: invalid "
                                          "username 'bot': use only A-Z a-z 0-9 _ - .\n")

    def test_connection_reset_is_explained(self):
        client, conn = self.start("--listen")
        self.assertEqual(conn.recv(1024), b"bot")
        conn.sendall(WELCOME)
        client.next_line()
        # SO_LINGER 0: close sends a reset instead of a clean end.
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        conn.close()
        self.assertEqual(client.wait(), 4)
        self.assertRegex(client.stderr(),
                         r"^classchat: The connection to the server was lost: .*\.\n$")

    def test_script_reading_pauses_while_the_server_does_not_read(self):
        client, conn = self.start(stdin=subprocess.PIPE)
        self.assertEqual(conn.recv(1024), b"bot")
        conn.sendall(WELCOME)
        line = b"@bob " + b"x" * 1000 + b"\n"
        count = 40000  # 40 MB: far more than socket buffers and the client's 1 MiB queue
        written = [0]

        def write_script():
            for _ in range(count // 100):
                client.proc.stdin.write(line * 100)
                client.proc.stdin.flush()
                written[0] += 100
            client.proc.stdin.close()

        writer = threading.Thread(target=write_script, daemon=True)
        writer.start()
        # While the server reads nothing, the script's writer must end up blocked: the
        # client stops reading its input instead of queueing the whole script in memory.
        last, still_since = -1, time.monotonic()
        while time.monotonic() - still_since < 1.0:
            if written[0] != last:
                last, still_since = written[0], time.monotonic()
            self.assertTrue(writer.is_alive(), "the client read the whole script into memory")
            time.sleep(0.05)
        self.assertLess(written[0], count)

        # Once the server reads, everything arrives, complete and in order.
        expected = (b'{"from":{"name":"bot","ip":"127.0.0.1"},"to":"bob","msg":"' + b"x" * 1000 +
                    b'"}\n')
        received = self.fake.recv_until_eof()
        writer.join()
        self.assertEqual(len(received), count * len(expected))
        self.assertEqual(received, expected * count)
        conn.close()
        self.assertEqual(client.wait(), 0)

    def test_control_characters_from_peers_cannot_reach_the_terminal(self):
        client = BackgroundClient("--port", self.fake.port, "--name", "bot",
                                  stdin=subprocess.PIPE)
        self.addCleanup(client.close)
        conn = self.fake.accept()
        self.assertEqual(conn.recv(1024), b"bot")
        conn.sendall(WELCOME + frame("ev\x1bil", "1.2.3.4", "bot", "\x1b]0;pwned\x07\x9b2J"))
        client.next_line()
        line = client.next_line()
        self.assertNotIn("\x1b", line)
        self.assertNotIn("\x07", line)
        self.assertNotIn("\x9b", line)
        self.assertIn("ev^[il: ^[]0;pwned^G\ufffd2J", line)
        client.proc.stdin.close()
        conn.close()
        client.wait()


if __name__ == "__main__":
    unittest.main()
