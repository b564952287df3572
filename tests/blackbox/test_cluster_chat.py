"""Issue #13, "The contract across nodes": direct messages, /shout, /list and the welcome
behave as on one process when the users are on different nodes of a cluster (three nodes
on distinct ports, one private Redis; each client put on the node the test chooses).

/list and the welcome are compared byte for byte with what one classchatd process answers
for the same names, so paging and sorting are the single-process ones by construction."""
import json
import unittest

import harness
from cluster_helpers import NOT_FOUND, ClusterTestCase, requires_cluster_mode, stamped
from harness import server_frame_bytes


@requires_cluster_mode
class DirectMessagesAcrossNodes(ClusterTestCase):
    def setUp(self):
        # The rate limit is off: 1,000 messages go out back to back, as in the load tests.
        self.cluster = self.start_cluster("--rate-limit", 0)
        self.n0, self.n1, self.n2 = self.cluster.nodes

    def test_dm_across_nodes_arrives_in_order_exactly_once_and_stamped(self):
        alice = self.on(self.n0, "alice")
        bob = self.on(self.n1, "Bob")
        count = 1000
        # The class clients' objects back to back, with a forged `from` that must not be
        # forwarded; 100 per write.
        for first in range(0, count, 100):
            alice.send_raw("".join(
                json.dumps({"from": {"name": "mallory", "ip": "6.6.6.6"}, "to": "bob",
                            "msg": f"dm {i}"}) for i in range(first, first + 100)))
        for i in range(count):
            self.assertNextFrame(bob, stamped("alice", "Bob", f"dm {i}"))
        # Exactly once: nothing else was waiting (duplicates would come before the marker).
        self.assertQuiet(bob, alice)
        # And no error went back to the sender.
        self.assertQuiet(alice, bob)

    def test_dms_from_every_node_to_one_recipient_keep_each_senders_order(self):
        carol = self.on(self.n2, "carol")
        senders = [self.on(node, f"s{i}") for i, node in enumerate(self.cluster.nodes)]
        per_sender = 300
        for first in range(0, per_sender, 50):
            for sender in senders:  # interleaved: one local and two remote senders
                sender.send_raw("".join(json.dumps({"to": "CAROL", "msg": f"{sender.name} {i}"})
                                        for i in range(first, first + 50)))
        seen = {sender.name: [] for sender in senders}
        for _ in range(per_sender * len(senders)):
            line = carol.recv_line()
            frame = json.loads(line)
            name = frame["from"]["name"]
            self.assertEqual(line + b"\n", stamped(name, "carol", frame["msg"]))
            seen[name].append(int(frame["msg"].split()[1]))
        for sender in senders:
            self.assertEqual(seen[sender.name], list(range(per_sender)), sender.name)
            self.assertQuiet(carol, sender)

    def test_dm_not_found_only_when_nobody_in_the_cluster_holds_the_name(self):
        alice = self.on(self.n0, "alice")
        self.assertEqual(self.request(alice, "nobody", "hi"), NOT_FOUND.format("nobody"))
        bob = self.on(self.n1, "bob")
        self.assertDelivered(alice, bob, "route me")  # the route may now be cached on node 0
        bob.close()
        self.n1.wait_for_log(r"\(bob\) disconnected")
        self.assertEqual(self.request(alice, "bob", "gone?"), NOT_FOUND.format("bob"))
        # Back on another node, in another case: the DM follows the name, not a stale route.
        bob = self.on(self.n2, "BOB")
        alice.send("bob", "found you")
        self.assertNextFrame(bob, stamped("alice", "BOB", "found you"))
        self.assertQuiet(alice, bob)
        # A user on the node bob left, too.
        dave = self.on(self.n1, "dave")
        self.assertDelivered(dave, bob, "from node 1")
        self.assertQuiet(dave, bob)


@requires_cluster_mode
class ShoutAcrossNodes(ClusterTestCase):
    def test_shout_reaches_every_user_on_every_node_and_counts_cluster_wide(self):
        cluster = self.start_cluster()
        users = [self.on(node, f"{name}{i}") for i, node in enumerate(cluster.nodes)
                 for name in ("ann", "ben")]
        for shouter in users[::2] + users[1:2]:  # one from each node, and two from node 0
            others = [user for user in users if user is not shouter]
            self.assertShoutReaches(shouter, others, f"shout from {shouter.name}", len(others))
        for a, b in zip(users, users[1:] + users[:1]):
            self.assertQuiet(a, b)  # each shout arrived once


@requires_cluster_mode
class ListAndWelcomeAcrossNodes(ClusterTestCase):
    """The same names on a 3-node cluster and on one process give the same texts."""

    def single_process(self):
        server = harness.Server()
        self.addCleanup(self._stop_server, server)
        return server

    def test_list_and_welcome_small(self):
        cluster = self.start_cluster()
        n0, n1, n2 = cluster.nodes
        alone = self.on(n0, "alone")
        self.assertEqual(self.list_text(alone), "You are the only active user!")
        bob = self.on(n1, "Bob")
        self.assertEqual(self.list_text(alone), "Online users (1): Bob")
        self.assertEqual(self.list_text(bob), "Online users (1): alone")
        carol = self.connect(n2, "carol\n")
        self.assertEqual(carol.recv_line() + b"\n", server_frame_bytes(
            "carol", "Welcome carol! Online now (2): alone, Bob. Send /help to see the commands."))

    def test_list_pages_and_welcome_match_one_process(self):
        cluster = self.start_cluster()
        single = self.single_process()
        # 70 names of mixed case and length (sorted ignoring case, prefixes first): more
        # than one 1 KiB page, and more than the welcome's 10.
        names = []
        for i in range(70):
            stem = ("Zed", "amy", "Amy_", "b", "B.", "carl-", "x" * 16)[i % 7]
            names.append(f"{stem}{i:02d}" + ("_" * (i % 13)))
        for i, name in enumerate(names):
            self.on(cluster.nodes[i % 3], name)
            self.on(single, name)

        def welcome(server, name):
            client = self.connect(server, name + "\n")
            return client, client.recv_line()

        viewer_c, welcome_c = welcome(cluster.nodes[1], "Viewer")
        viewer_s, welcome_s = welcome(single, "Viewer")
        self.assertEqual(welcome_c, welcome_s)
        self.assertIn(b"and 60 more (see /list)", welcome_c)
        other_c, welcome_c2 = welcome(cluster.nodes[2], "mid")
        other_s, welcome_s2 = welcome(single, "mid")
        self.assertEqual(welcome_c2, welcome_s2)
        for viewer_c, viewer_s in ((viewer_c, viewer_s), (other_c, other_s)):
            first = self.list_text(viewer_c)
            self.assertEqual(first, self.list_text(viewer_s))
            self.assertIn("(page 1/", first)
            pages = int(first.split("(page 1/")[1].split(",")[0])
            for page in range(2, pages + 2):  # and one past the last: the same error
                with self.subTest(page=page):
                    self.assertEqual(self.list_text(viewer_c, str(page)),
                                     self.list_text(viewer_s, str(page)))


if __name__ == "__main__":
    unittest.main()
