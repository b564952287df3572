"""Issue #13, "The contract across nodes", names: unique across the cluster ignoring case, the
first claim wins (500 rounds of two nodes racing for one name in different case), and a
name is free again cluster-wide as soon as its connection's close is processed."""
import json
import time
import unittest

from cluster_helpers import TAKEN, ClusterTestCase, requires_cluster_mode
from harness import LineClient, TIMEOUT, server_frame_bytes


@requires_cluster_mode
class NamesAcrossNodes(ClusterTestCase):
    def setUp(self):
        self.cluster = self.start_cluster()
        self.n0, self.n1, self.n2 = self.cluster.nodes

    def test_names_are_unique_ignoring_case_across_nodes(self):
        bob = self.on(self.n0, "Bob")
        for node, attempt in ((self.n1, "bob"), (self.n2, "BOB"), (self.n0, "bOb"),
                              (self.n1, "Bob")):
            with self.subTest(node=node.port, name=attempt):
                self.expect_refused_with(node, attempt, TAKEN.format(attempt))
        # The refusals neither replaced nor released the owner.
        carol = self.on(self.n2, "carol")
        self.assertEqual(self.list_text(carol), "Online users (1): Bob")
        self.assertDelivered(carol, bob, "still yours")
        self.expect_refused_with(self.n2, "BoB", TAKEN.format("BoB"))

    def test_name_is_free_cluster_wide_right_after_its_close_is_processed(self):
        observer = self.on(self.n2, "observer")
        nodes = self.cluster.nodes
        for i in range(12):
            with self.subTest(round=i):
                owner_node, next_node = nodes[i % 3], nodes[(i + 1) % 3]
                name = f"alice{i}"
                alice = self.on(owner_node, name)
                alice.close()
                owner_node.wait_for_log(r"\(%s\) disconnected" % name)
                # No retry: once the owner's node has processed the close, the name is free
                # on every node, in any case.
                again = self.on(next_node, name.upper())
                self.assertEqual(self.list_text(observer), f"Online users (1): {name.upper()}")
                self.assertDelivered(observer, again, f"round {i}")
                again.close()
                next_node.wait_for_log(r"\(%s\) disconnected" % name.upper())
                self.assertEqual(self.list_text(observer), "You are the only active user!")


@requires_cluster_mode
class ClaimRace(ClusterTestCase):
    ROUNDS = 500
    BATCH = 25  # rounds raced at once (50 connections), to keep the test near 10 s

    def test_claim_race_two_nodes_one_name_different_case_exactly_one_winner(self):
        cluster = self.start_cluster()
        start = time.monotonic()
        wins = {0: 0, 1: 0}
        for first in range(0, self.ROUNDS, self.BATCH):
            rounds = range(first, min(first + self.BATCH, self.ROUNDS))
            # Both connections of every round are open before any name is sent.
            pairs = []
            for r in rounds:
                a_node, b_node = cluster.nodes[r % 3], cluster.nodes[(r + 1) % 3]
                a = LineClient(a_node.port)
                b = LineClient(b_node.port)
                self.addCleanup(a.close)
                self.addCleanup(b.close)
                pairs.append((r, a, b))
            # Then the two claims of a round are written back to back, which one first
            # alternating; the forms alternate by batch: name + newline, the class
            # clients' bare name, and a JSON-first object.
            form = (first // self.BATCH) % 3
            for r, a, b in pairs:
                names = (f"Race{r}x", f"rACE{r}X")
                order = ((a, names[0]), (b, names[1]))
                if r % 2:
                    order = order[::-1]
                for client, name in order:
                    client.send_raw(first_bytes(form, name))
            for r, a, b in pairs:
                names = (f"Race{r}x", f"rACE{r}X")
                lines = [a.recv_line(), b.recv_line()]
                msgs = [json.loads(line)["msg"] for line in lines]
                welcomed = [i for i in (0, 1) if msgs[i].startswith(f"Welcome {names[i]}!")]
                self.assertEqual(len(welcomed), 1, f"round {r}: {msgs}")
                winner = welcomed[0]
                loser = 1 - winner
                wins[winner] += 1
                self.assertEqual(lines[loser] + b"\n", server_frame_bytes(
                    names[loser], TAKEN.format(names[loser])), f"round {r}")
                self.assertEqual((a, b)[loser].expect_closed(), [], f"round {r}")
            for r, a, b in pairs:
                a.close()
                b.close()
        elapsed = time.monotonic() - start
        # Both sides won some rounds: the race was real, not always one node first.
        self.assertGreater(wins[0], 0, wins)
        self.assertGreater(wins[1], 0, wins)
        print(f"claim race: {self.ROUNDS} rounds in {elapsed:.1f} s, wins {wins}")
        # The winners' names were all held, and all are free again: a last check that
        # nothing is left over in the directory.
        checker = self.on(cluster.nodes[2], "checker")
        self.wait_for_list(checker, "You are the only active user!", TIMEOUT)


def first_bytes(form, name):
    if form == 0:
        return (name + "\n").encode()
    if form == 1:
        return name.encode()
    return json.dumps({"from": {"name": name}, "to": "/time"}).encode()


if __name__ == "__main__":
    unittest.main()
