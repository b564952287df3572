"""/ws driven by a WebSocket library (Debian's python3-websockets, asyncio API), as a
third-party client would: chat with a TCP user, a fragmented message, binary and
oversized messages refused with their close codes, a refused origin answered 403.

python3-websockets is seen only by Debian's own interpreter, so CTest runs this file with
/usr/bin/python3 (tests/blackbox/CMakeLists.txt). test_server_ws.py covers the same rules
byte by byte with a raw-socket client.
"""
import asyncio
import json
import unittest

import harness
from harness import frame_bytes

import websockets  # python3-websockets (scripts/install-deps.sh)
from websockets.exceptions import ConnectionClosed, InvalidStatusCode


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, harness.TIMEOUT * 2))


class WebSocketsLibraryTest(harness.ServerTestCase):
    def url(self, server):
        return f"ws://127.0.0.1:{server.http_port()}/ws"

    def test_chat_with_a_tcp_user_and_a_fragmented_message(self):
        server = self.start_server()
        bob = self.register(server, "bob")

        async def chat():
            async with websockets.connect(self.url(server)) as ws:
                await ws.send("carol")
                welcome = json.loads(await ws.recv())
                self.assertTrue(welcome["msg"].startswith("Welcome carol!"), welcome)
                await ws.send(json.dumps({"to": "bob", "msg": "hi from a library"}))
                await asyncio.to_thread(
                    self.assertNextFrame, bob,
                    frame_bytes("carol", "127.0.0.1", "bob", "hi from a library"))
                # One message in three fragments.
                await ws.send(['{"to":"bob",', '"msg":"in ', 'pieces"}'])
                await asyncio.to_thread(
                    self.assertNextFrame, bob, frame_bytes("carol", "127.0.0.1", "bob", "in pieces"))
                bob.send("carol", "hello back")
                reply = json.loads(await ws.recv())
                self.assertEqual((reply["from"]["name"], reply["msg"]), ("bob", "hello back"))

        run(chat())

    def test_binary_and_oversized_messages_close_with_1003_and_1009(self):
        server = self.start_server("--max-message-bytes", "1024")

        async def close_code(message):
            async with websockets.connect(self.url(server), max_size=None) as ws:
                await ws.send("dave")
                await ws.recv()  # welcome
                await ws.send(message)
                with self.assertRaises(ConnectionClosed):
                    while True:
                        await ws.recv()
                return ws.close_code

        self.assertEqual(run(close_code(b"\x00binary")), 1003)
        self.assertEqual(run(close_code("x" * 5000)), 1009)
        self.assertTrue(server.alive())

    def test_a_page_from_another_origin_is_refused_with_403(self):
        server = self.start_server()

        async def connect():
            async with websockets.connect(self.url(server), origin="http://evil.example"):
                pass

        with self.assertRaises(InvalidStatusCode) as refused:
            run(connect())
        self.assertEqual(refused.exception.status_code, 403)


if __name__ == "__main__":
    unittest.main()
