"""classchat in a real terminal, driven as a person would: keys typed into a tmux pane,
assertions on what the screen shows."""
import re
import time
import unittest

import harness
from client_helpers import Terminal, tmux_available

TIMEOUT = harness.TIMEOUT
STAMP = r"\[\d\d:\d\d:\d\d\]"


@unittest.skipUnless(tmux_available(), "tmux is not installed (scripts/install-deps.sh adds it)")
class TerminalTest(unittest.TestCase):
    def setUp(self):
        self.server = harness.Server()
        self.addCleanup(self.server.__exit__, None, None, None)
        self.port = self.server.port

    def terminal(self, *args, env=None, width=100):
        term = Terminal(list(args), env=env, width=width)
        self.addCleanup(term.close)
        return term

    def peer(self, name):
        client = harness.register(self.port, name)
        self.addCleanup(client.close)
        return client

    def login(self, name="alice", *extra):
        term = self.terminal("--host", "127.0.0.1", "--port", self.port, *extra)
        term.wait_for(r"^Your name:$")
        term.type(name)
        term.press("Enter")
        term.wait_for(rf"^{STAMP} \[server\] Welcome {name}! ")
        term.wait_for(rf"^{name}>$")
        return term

    def test_a_whole_session(self):
        term = self.login("alice")
        bob = self.peer("bob")

        # A DM arrives while half a line is typed: both are on screen, the line intact,
        # the cursor still at its end.
        term.type("@bob hel")
        term.wait_for(r"^alice> @bob hel$")
        bob.send("alice", "are you there?")
        term.wait_for(rf"^{STAMP} bob: are you there\?\nalice> @bob hel$")
        self.assertEqual(term.lines().count("alice> @bob hel"), 1, term.screen())
        x, y = term.cursor()
        self.assertEqual(term.lines()[y], "alice> @bob hel")
        self.assertEqual(x, len("alice> @bob hel"))

        # Finishing the line sends exactly what was typed.
        term.type("lo")
        term.press("Enter")
        dm = bob.recv()
        self.assertEqual(dm, {"from": {"name": "alice", "ip": "127.0.0.1"}, "to": "bob",
                              "msg": "hello"})

        term.type("/list")
        term.press("Enter")
        term.wait_for(rf"^{STAMP} \[server\] Online users \(1\): bob$")

        # Tab completes a name from the /list.
        term.type("@b")
        term.press("Tab")
        term.wait_for(r"^alice> @bob$")
        term.type("tabbed")
        term.press("Enter")
        self.assertEqual(bob.recv_msg(), "tabbed")

        term.type("/quit")
        term.press("Enter")
        self.assertEqual(term.exit_status(), 0)
        self.server.wait_for_log(r"\(alice\) disconnected")

    def test_several_messages_while_typing_keep_the_line(self):
        term = self.login("alice")
        bob = self.peer("bob")
        carol = self.peer("carol")
        term.type("a long line that is still being written")
        term.wait_for(r"^alice> a long line that is still being written$")
        for i in range(5):
            bob.send("alice", f"dm {i}")
        carol.send("/shout", "shout!")
        term.wait_for(rf"^{STAMP} carol \(to everyone\): shout!$")
        term.wait_for(rf"^{STAMP} bob: dm 4$")
        lines = term.lines()
        last = max(i for i, line in enumerate(lines) if line)
        self.assertEqual(lines[last], "alice> a long line that is still being written")
        # Nothing else on screen holds a piece of the typed line.
        self.assertEqual(sum("still being" in line for line in lines), 1, term.screen())

    def test_wrapped_input_line_is_restored(self):
        term = self.login("alice", "--no-color")
        bob = self.peer("bob")
        typed = "x" * 150  # wraps: the terminal is 100 columns wide
        term.type(typed)
        term.wait_for(r"^alice> x{93}\nx{57}$")
        bob.send("alice", "interrupting")
        term.wait_for(rf"^{STAMP} bob: interrupting\nalice> x{{93}}\nx{{57}}$")
        self.assertEqual(sum("x" * 50 in line for line in term.lines()), 2, term.screen())

    def test_resized_terminal_keeps_the_line(self):
        term = self.login("alice", "--no-color")
        bob = self.peer("bob")
        term.type("y" * 80)
        term.wait_for(r"^alice> y{80}$")
        term.resize(50, 30)  # the line now wraps after 43 of its characters
        term.wait_for(r"^alice> y{43}\ny{37}$")
        bob.send("alice", "after the resize")
        term.wait_for(rf"^{STAMP} bob: after the resize\nalice> y{{43}}\ny{{37}}$")
        term.type("z")
        term.wait_for(r"^alice> y{43}\ny{37}z$")
        self.assertEqual(sum("yyyyy" in line for line in term.lines()), 2, term.screen())

    def test_resizing_narrower_and_back_redraws_the_line(self):
        term = self.login("alice", "--no-color")
        term.type("y" * 80)
        term.wait_for(r"^alice> y{80}$")
        term.resize(50, 30)
        # An edit redraws the line: it must land where the line is, not a row off.
        term.press("BSpace")
        term.wait_for(r"^alice> y{43}\ny{36}$")
        self.assertEqual(sum("yyyyy" in line for line in term.lines()), 2, term.screen())
        term.resize(100, 30)
        term.press("BSpace")
        term.wait_for(r"^alice> y{78}$")
        self.assertEqual(sum("yyyyy" in line for line in term.lines()), 1, term.screen())
        x, y = term.cursor()
        self.assertEqual((x, term.lines()[y]), (len("alice> ") + 78, "alice> " + "y" * 78))
        # Typing on goes on the same row, at the full width again.
        term.type("z" * 10)
        term.wait_for(r"^alice> y{78}z{10}$")
        self.assertTrue(term.running())

    def test_prompts_for_host_port_and_name(self):
        term = self.terminal()
        term.wait_for(r"^Server host \[127\.0\.0\.1\]:$")
        term.press("Enter")  # the default
        term.wait_for(r"^Server port \[65432\]:$")
        term.type("not-a-port")
        term.press("Enter")
        term.wait_for(r"^A port is a number from 1 to 65535\.\nServer port \[65432\]:$")
        term.type(str(self.port))
        term.press("Enter")
        term.wait_for(r"^Your name:$")
        term.type("no spaces allowed")
        term.press("Enter")
        term.wait_for(r"^'no spaces allowed' has a space: use only letters A-Z a-z, digits, "
                      r"dots, dashes and underscores\.\nYour name:$")
        term.type("dave")
        term.press("Enter")
        term.wait_for(rf"^{STAMP} \[server\] Welcome dave! ")

    def test_asks_only_for_what_the_command_line_left_out(self):
        # --port and --name: nothing to ask, the host keeps its default.
        term = self.terminal("--port", self.port, "--name", "bob")
        term.wait_for(rf"^{STAMP} \[server\] Welcome bob! ")
        self.assertNotIn("Server host", term.screen())
        self.assertNotIn("Server port", term.screen())
        # --port alone: only the name, which has no default.
        term = self.terminal("--port", self.port)
        term.wait_for(r"^Your name:$")
        self.assertNotIn("Server host", term.screen())
        term.type("carol")
        term.press("Enter")
        term.wait_for(rf"^{STAMP} \[server\] Welcome carol! ")
        self.assertNotIn("Server port", term.screen())

    def test_an_empty_or_invalid_name_is_explained_in_words(self):
        term = self.terminal("--port", self.port)
        term.wait_for(r"^Your name:$")
        term.press("Enter")
        term.wait_for(r"^Please type a name: 1 to 32 letters \(A-Z, a-z\), digits, dots, "
                      r"dashes or underscores\.\nYour name:$")
        term.type("b@d")
        term.press("Enter")
        term.wait_for(r"^'b@d' has '@': use only letters A-Z a-z, digits, dots, dashes and "
                      r"underscores\.\nYour name:$")
        screen = term.screen()
        self.assertNotIn("first bytes", screen)
        self.assertNotIn("..", screen)
        # Checked before anything is sent: the server has seen no connection.
        self.assertNotIn("connected", self.server.log())
        term.type("dave")
        term.press("Enter")
        term.wait_for(rf"^{STAMP} \[server\] Welcome dave! ")

    def test_a_taken_name_is_explained_and_asked_again(self):
        self.peer("bob")
        term = self.terminal("--host", "127.0.0.1", "--port", self.port)
        term.wait_for(r"^Your name:$")
        term.type("Bob")
        term.press("Enter")
        term.wait_for(r"-!- The server refused that name: username 'Bob' is already taken\.\n"
                      r"Your name:$")
        term.type("bob2")
        term.press("Enter")
        term.wait_for(rf"^{STAMP} \[server\] Welcome bob2! Online now \(1\): bob\.")

    def test_a_taken_name_from_the_command_line_exits_three(self):
        self.peer("bob")
        term = self.terminal("--port", self.port, "--host", "127.0.0.1", "--name", "bob")
        self.assertEqual(term.exit_status(), 3)
        term.wait_for(r"-!- The server refused the name bob: username 'bob' is already taken\.")

    def test_conversation_hint_and_shout(self):
        term = self.login("alice")
        bob = self.peer("bob")
        term.type("hello?")
        term.press("Enter")
        term.wait_for(r"-!- Not sent: write @name message, or /to name to start a conversation")

        term.type("/to bob")
        term.press("Enter")
        term.wait_for(r"-!- Plain lines now go to bob\. /to alone ends the conversation\.\n"
                      r"alice -> bob>$")
        term.type("plain line")
        term.press("Enter")
        self.assertEqual(bob.recv_msg(), "plain line")

        term.type("/shout everyone!")
        term.press("Enter")
        term.wait_for(rf"^{STAMP} \[server\] Message sent to 1 users$")
        shout = bob.recv()
        self.assertEqual((shout["to"], shout["msg"]), ("Everyone", "everyone!"))

        term.type("/to")
        term.press("Enter")
        term.wait_for(r"-!- Conversation ended\.\nalice>$")

    def test_time_and_standard_reach_the_server(self):
        term = self.login("alice")
        for command, reply in [("/time", r"Server time: \d\d:\d\d:\d\d"),
                               ("/standard", r"Message format: one JSON object per message"),
                               ("/nope", r"Error: unknown command '/nope' \(see /help\)")]:
            term.type(command)
            term.press("Enter")
            term.wait_for(rf"{STAMP} \[server\] {reply}")

    def test_help_is_the_clients_and_help_server_the_servers(self):
        term = self.login("alice", "--no-color")
        term.type("/help")
        term.press("Enter")
        term.wait_for(rf"^{STAMP} -!- Commands:\n    @name text +a direct message to name$")
        term.wait_for(r"^    /help server +the server's own list of commands$")
        # The server's JSON-level help only comes with /help server: its reply would
        # have arrived before the reply to /time.
        term.type("/time")
        term.press("Enter")
        term.wait_for(rf"{STAMP} \[server\] Server time:")
        self.assertNotIn("Available commands", term.screen())
        self.assertNotIn('"to"', term.screen())
        term.type("/help server")
        term.press("Enter")
        term.wait_for(rf"{STAMP} \[server\] Available commands \(put the command in \"to\"")

    def test_history_recalls_earlier_lines(self):
        term = self.login("alice")
        bob = self.peer("bob")
        term.type("@bob first")
        term.press("Enter")
        self.assertEqual(bob.recv_msg(), "first")
        term.press("Up")
        term.wait_for(r"^alice> @bob first$")
        term.press("BSpace", "BSpace", "BSpace", "BSpace", "BSpace")
        term.type("again")
        term.press("Enter")
        self.assertEqual(bob.recv_msg(), "again")

    def test_tab_completes_people_who_wrote_and_lists_ambiguous_names(self):
        term = self.login("alice")
        robert = self.peer("robert")
        roberta = self.peer("roberta")
        robert.send("alice", "hi from robert")
        roberta.send("alice", "hi from roberta")
        term.wait_for(r"roberta: hi from roberta")
        term.type("@ro")
        term.press("Tab")
        term.wait_for(r"^alice> @robert$")
        term.press("Tab")
        term.wait_for(r"^robert  roberta\nalice> @robert$")
        term.type("a")
        term.press("Tab")
        term.wait_for(r"^alice> @roberta$")
        term.type("ok")
        term.press("Enter")
        self.assertEqual(roberta.recv_msg(), "ok")

    def test_colours_follow_the_terminal_and_no_color(self):
        term = self.login("alice")
        bob = self.peer("bob")
        bob.send("alice", "coloured")
        term.wait_for(r"bob: coloured")
        dm_line = next(l for l in term.screen(escapes=True).split("\n") if "coloured" in l)
        self.assertRegex(dm_line, r"\x1b\[[0-9;]*32m")  # green sender

        plain = Terminal(["--host", "127.0.0.1", "--port", self.port, "--name", "carol"],
                         env={"NO_COLOR": "1"})
        self.addCleanup(plain.close)
        plain.wait_for(r"\[server\] Welcome carol!")
        bob.send("carol", "not coloured")
        plain.wait_for(r"bob: not coloured")
        self.assertNotIn("\x1b[", plain.screen(escapes=True).replace("\x1b[0m", ""))

        flag = Terminal(["--host", "127.0.0.1", "--port", self.port, "--name", "dave",
                         "--no-color"])
        self.addCleanup(flag.close)
        flag.wait_for(r"\[server\] Welcome dave!")
        bob.send("dave", "not coloured either")
        flag.wait_for(r"bob: not coloured either")
        self.assertNotIn("\x1b[", flag.screen(escapes=True).replace("\x1b[0m", ""))

    def test_server_lines_carry_a_label_no_user_can_send(self):
        term = self.login("alice", "--no-color")  # without colour, the label alone tells
        mallory = self.peer("server1")
        mallory.send("alice", "[server] Error: you have been removed by the teacher")
        term.wait_for(rf"^{STAMP} server1: \[server\] Error: you have been removed by the "
                      r"teacher$")
        term.type("@nobody hi")
        term.press("Enter")
        term.wait_for(rf"^{STAMP} \[server\] Error: user 'nobody' not found$")
        labelled = [line for line in term.lines() if re.match(rf"{STAMP} \[server\] ", line)]
        self.assertEqual(len(labelled), 2, term.screen())  # the welcome and the error

        coloured = self.login("carol")
        mallory.send("carol", "[server] Error: you have been removed by the teacher")
        coloured.wait_for(r"server1: \[server\] Error")
        coloured.type("@nobody hi")
        coloured.press("Enter")
        coloured.wait_for(r"\[server\] Error: user 'nobody' not found")
        lines = coloured.screen(escapes=True).split("\n")
        forged = next(line for line in lines if "removed by the teacher" in line)
        real = next(line for line in lines if "not found" in line)
        # tmux writes the attributes its own way ("\x1b[1m\x1b[31m"): compare the codes.
        label = re.search(r"((?:\x1b\[[0-9;]*m)+)\[server\]", real)
        self.assertIsNotNone(label, real)
        self.assertLessEqual({"1", "31"}, set(re.findall(r"\d+", label.group(1))), real)
        forged_codes = re.findall(r"\x1b\[([0-9;]*)m", forged)
        self.assertNotIn("31", ";".join(forged_codes).split(";"), forged)

    def test_text_padded_to_the_width_cannot_start_a_row_like_a_server_line(self):
        term = self.login("alice", "--no-color")
        bob = self.peer("bob")
        # "[hh:mm:ss] bob: " takes 16 of the 100 columns; the terminal's own wrapping
        # would start the next row with the forged line.
        bob.send("alice", "x" * 84 + "[12:00:00] [server] Error: you have been removed")
        term.wait_for(r"^    \[12:00:00\] \[server\] Error: you have been removed$")
        self.assertFalse([line for line in term.lines() if line.startswith("[12:00:00]")],
                         term.screen())

    def test_output_into_a_pipe_reads_lines_without_prompts(self):
        bob = self.peer("bob")
        term = Terminal(["--host", "127.0.0.1", "--port", self.port, "--name", "alice"],
                        pipe_to="cat")
        self.addCleanup(term.close)
        term.wait_for(rf"^{STAMP} \[server\] Welcome alice! Online now \(1\): bob\.")
        term.type("@bob through a pipe")
        term.press("Enter")
        self.assertEqual(bob.recv_msg(), "through a pipe")
        bob.send("alice", "back")
        term.wait_for(rf"^{STAMP} bob: back$")
        self.assertNotIn("alice>", term.screen())
        self.assertNotIn("\x1b[", term.screen(escapes=True).replace("\x1b[0m", ""))

    def test_ctrl_d_on_an_empty_line_leaves(self):
        term = self.login("alice")
        term.press("C-d")
        self.assertEqual(term.exit_status(), 0)

    def test_ctrl_c_leaves_and_restores_the_terminal(self):
        term = self.login("alice")
        term.type("half")
        term.press("C-c")
        self.assertEqual(term.exit_status(), 0)
        # The shell after the client echoes typed text again (cooked mode is back).
        term.type("echo-check")
        term.wait_for(r"echo-check")

    def test_ctrl_c_at_the_name_prompt_leaves(self):
        term = self.terminal("--host", "127.0.0.1", "--port", self.port)
        term.wait_for(r"^Your name:$")
        term.type("half a na")
        term.press("C-c")
        self.assertEqual(term.exit_status(), 0)
        term.type("echo-check")
        term.wait_for(r"^echo-check")

    def test_lost_server_is_explained_and_exits_four(self):
        term = self.login("alice")
        term.type("unsent")
        self.server.stop()
        term.wait_for(rf"{STAMP} \[server\] Server shutting down\n")
        term.wait_for(rf"{STAMP} -!- The server closed the connection\.")
        self.assertEqual(term.exit_status(), 4)


@unittest.skipUnless(tmux_available(), "tmux is not installed (scripts/install-deps.sh adds it)")
class EditingKeysTest(unittest.TestCase):
    """Each of readline's editing keys does its job and keeps the client running. Every
    key that left the line empty used to end the session (status 0, no message): libedit
    reports an empty line the same way as the end of the input."""

    PROMPT = "alice> "

    def setUp(self):
        self.server = harness.Server()
        self.addCleanup(self.server.__exit__, None, None, None)
        self.term = Terminal(["--host", "127.0.0.1", "--port", self.server.port, "--name",
                              "alice", "--no-color"])
        self.addCleanup(self.term.close)
        self.term.wait_for(r"^alice>$")
        self.bob = harness.register(self.server.port, "bob")
        self.addCleanup(self.bob.close)
        self.pings = 0

    def assert_line(self, text, cursor=None):
        """Waits until the input line (the last line on screen) holds `text`, with the
        cursor `cursor` characters into it (at its end by default)."""
        expected = (self.PROMPT + text).rstrip()
        expected_x = len(self.PROMPT) + (len(text) if cursor is None else cursor)
        deadline = time.monotonic() + TIMEOUT
        while True:
            lines = self.term.lines()
            shown = [line for line in lines if line]
            x, y = self.term.cursor()
            if shown and shown[-1] == expected and lines[y] == expected and x == expected_x:
                return
            if time.monotonic() > deadline:
                self.fail(f"expected the line {expected!r} with the cursor at {expected_x}, "
                          f"cursor at {x}:\n{self.term.screen()}")
            time.sleep(0.03)

    def assert_alive(self):
        """The client still runs: a message typed on the (empty) line now reaches bob."""
        self.pings += 1
        self.term.type(f"@bob ping {self.pings}")
        self.term.press("Enter")
        self.assertEqual(self.bob.recv_msg(), f"ping {self.pings}")
        self.assertTrue(self.term.running())

    def send_line(self, expected_msg):
        """Enter sends the line; bob receives `expected_msg`."""
        self.term.press("Enter")
        self.assertEqual(self.bob.recv_msg(), expected_msg)
        self.assert_line("")

    def test_backspace_both_codes(self):
        for key in ("BSpace", "C-h"):  # ^? and ^H
            self.term.type("a")
            self.assert_line("a")
            self.term.press(key)
            self.assert_line("")
            self.assert_alive()
        self.term.type("@bob hi!")
        self.term.press("BSpace")
        self.assert_line("@bob hi")
        self.send_line("hi")

    def test_delete(self):
        self.term.type("x")
        self.term.press("Left", "DC")
        self.assert_line("")
        self.assert_alive()
        self.term.type("@bob hxi")
        self.term.press("Left", "Left", "DC")
        self.assert_line("@bob hi", cursor=6)
        self.send_line("hi")

    def test_ctrl_d_deletes_and_leaves_only_on_an_empty_line(self):
        self.term.type("x")
        self.term.press("Left", "C-d")
        self.assert_line("")
        self.assert_alive()
        self.term.type("@bob oxk")
        self.term.press("Left", "Left", "C-d")
        self.assert_line("@bob ok", cursor=6)
        self.send_line("ok")
        self.term.press("C-d")
        self.assertEqual(self.term.exit_status(), 0)

    def test_ctrl_u_kills_back_to_the_start(self):
        self.term.press("C-u")  # on an empty line
        self.assert_alive()
        self.term.type("some words")
        self.term.press("C-u")
        self.assert_line("")
        self.assert_alive()
        # From the cursor back, as in readline: the rest of the line stays.
        self.term.type("junk@bob kept")
        self.term.press("C-a", "Right", "Right", "Right", "Right", "C-u")
        self.assert_line("@bob kept", cursor=0)
        self.term.press("C-e")
        self.send_line("kept")

    def test_ctrl_w_kills_the_word_before_the_cursor(self):
        self.term.type("word")
        self.term.press("C-w")
        self.assert_line("")
        self.assert_alive()
        self.term.type("@bob one two")
        self.term.press("C-w")
        self.assert_line("@bob one ")
        self.term.type("three")
        self.send_line("one three")

    def test_ctrl_k_kills_to_the_end(self):
        self.term.press("C-k")  # on an empty line
        self.assert_alive()
        self.term.type("x")
        self.term.press("C-a", "C-k")
        self.assert_line("")
        self.assert_alive()
        self.term.type("@bob keep cut")
        self.term.press("Left", "Left", "Left", "C-k")
        self.assert_line("@bob keep ")
        self.send_line("keep")

    def test_ctrl_y_yanks_what_was_killed(self):
        self.term.type("@bob yank me")
        self.term.press("C-w")
        self.assert_line("@bob yank ")
        self.term.press("C-y")
        self.assert_line("@bob yank me")
        self.term.press("C-u")
        self.assert_line("")
        self.term.press("C-y")
        self.assert_line("@bob yank me")
        self.send_line("yank me")

    def test_ctrl_a_and_ctrl_e_move_to_the_ends(self):
        self.term.type("bob hi")
        self.term.press("C-a")
        self.assert_line("bob hi", cursor=0)
        self.term.type("@")
        self.assert_line("@bob hi", cursor=1)
        self.term.press("C-e")
        self.assert_line("@bob hi")
        self.term.type("!")
        self.send_line("hi!")

    def test_alt_b_and_alt_f_move_by_word(self):
        self.term.type("@bob one three")
        self.term.press("M-b")
        self.assert_line("@bob one three", cursor=9)
        self.term.type("two ")
        self.assert_line("@bob one two three", cursor=13)
        self.term.press("C-a", "M-f", "M-f")
        self.assert_line("@bob one two three", cursor=8)
        self.term.type("_1")
        self.send_line("one_1 two three")

    def test_ctrl_l_clears_the_screen_and_keeps_the_line(self):
        self.bob.send("alice", "before the clear")
        self.term.wait_for(r"bob: before the clear")
        self.term.type("@bob after")
        self.term.press("C-l")
        self.assert_line("@bob after")
        self.assertEqual(self.term.lines()[0], "alice> @bob after", self.term.screen())
        self.assertNotIn("before the clear", self.term.screen())
        self.send_line("after")

    def test_ctrl_r_searches_the_history_and_one_enter_sends(self):
        for text in ("first", "second"):
            self.term.type(f"@bob {text}")
            self.send_line(text)
        self.term.press("C-r")
        self.term.wait_for(r"^\(reverse-i-search\)`':$")
        self.term.type("fir")
        self.term.wait_for(r"^\(reverse-i-search\)`fir': @bob first$")
        self.send_line("first")  # one Enter: libedit's own search needed two

        # Ctrl-R again looks further back; Ctrl-G gives the line back as it was.
        self.term.type("draft")
        self.term.press("C-r")
        self.term.type("sec")
        self.term.wait_for(r"^\(reverse-i-search\)`sec': @bob second$")
        self.term.press("C-r")
        self.term.wait_for(r"^\(failed reverse-i-search\)`sec': @bob second$")
        self.term.press("C-g")
        self.assert_line("draft")

        # Escape ends the search on the match, the cursor where the match is; an arrow
        # ends it too, and moves.
        self.term.press("C-e", "C-u", "C-r")
        self.term.type("fir")
        self.term.wait_for(r"^\(reverse-i-search\)`fir': @bob first$")
        self.term.press("Escape")
        self.assert_line("@bob first", cursor=5)
        self.term.press("C-e", "C-u", "C-r")
        self.term.type("fir")
        self.term.wait_for(r"^\(reverse-i-search\)`fir': @bob first$")
        self.term.press("Left")
        self.assert_line("@bob first", cursor=4)

        # Any other editing key keeps the match and does its job on it.
        self.term.press("C-e", "C-u", "C-r")
        self.term.type("sec")
        self.term.wait_for(r"^\(reverse-i-search\)`sec': @bob second$")
        self.term.press("C-e")
        self.assert_line("@bob second")
        self.term.type(" again")
        self.send_line("second again")
        self.assert_alive()


if __name__ == "__main__":
    unittest.main()
