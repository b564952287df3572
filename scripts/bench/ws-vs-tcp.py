#!/usr/bin/env python3
"""WebSocket against TCP on one classchatd, side by side in one run (BENCHMARKS.md,
"WebSocket against TCP"): direct messages per second, and server memory per idle
registered connection.

    scripts/bench/ws-vs-tcp.py [--messages N] [--idle N] [--server PATH]

Until classchat-bench speaks WebSocket, this uses the black-box tests' clients
(tests/blackbox/harness.py and ws_client.py). Throughput: one sender pipelines N direct
messages of 64 bytes to one receiver (one event loop, --rate-limit 0); the clients only
write pre-built batches and count bytes, so the server is the bottleneck. WebSocket
frames are masked with a zero key, which costs the client nothing and the server as much
as any key. Memory: VmRSS growth over N idle registered connections, after 50 warm-up ones.
"""
import argparse
import json
import os
import struct
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "blackbox"))
import harness  # noqa: E402
from ws_client import WsClient  # noqa: E402

MSG = "x" * 64


def ws_frame(payload):
    n = len(payload)
    head = bytes([0x81]) + (bytes([0x80 | n]) if n < 126
                            else bytes([0x80 | 126]) + struct.pack("!H", n))
    return head + b"\0\0\0\0" + payload


def connect(kind, server, name):
    if kind == "tcp":
        return harness.register(server.port, name)
    client = WsClient(server.http_port())
    client.send_text(name)
    client.recv_text()
    return client


def throughput(kind, messages):
    with harness.Server("--rate-limit", "0", threads=1) as server:
        rx, tx = connect(kind, server, "rx"), connect(kind, server, "tx")
        body = json.dumps({"to": "rx", "msg": MSG}).encode()
        out = len(harness.frame_bytes("tx", "127.0.0.1", "rx", MSG))
        if kind == "tcp":
            batch, expect = body * 1000, out * messages
        else:
            batch, expect = ws_frame(body) * 1000, (out + 2) * messages
        got = 0

        def reader():
            nonlocal got
            rx.sock.settimeout(60)
            while got < expect:
                got += len(rx.sock.recv(1 << 20))

        thread = threading.Thread(target=reader)
        start = time.monotonic()
        thread.start()
        for _ in range(messages // 1000):
            tx.sock.sendall(batch)
        thread.join()
        return messages / (time.monotonic() - start)


def idle_memory(kind, count):
    with harness.Server() as server:
        warm = [connect(kind, server, f"warm{i}") for i in range(50)]
        before = harness.process_status(server.proc.pid, "VmRSS")
        clients = [connect(kind, server, f"idle{i}") for i in range(count)]
        time.sleep(0.5)
        after = harness.process_status(server.proc.pid, "VmRSS")
        for client in warm + clients:
            client.sock.close()
        return (after - before) * 1024 / count


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--idle", type=int, default=2000)
    parser.add_argument("--server", help="classchatd to run (default: build/release)")
    args = parser.parse_args()
    if args.server:
        harness.SERVER_BINARY = args.server
    rates = {k: [] for k in ("tcp", "ws")}
    for _ in range(2):  # interleaved, so drift on a shared machine hits both
        for kind in ("tcp", "ws"):
            rates[kind].append(throughput(kind, args.messages))
    memory = {kind: idle_memory(kind, args.idle) for kind in ("tcp", "ws")}
    print("| transport | direct messages/s (best of 2) | server memory per idle connection |")
    print("|---|---|---|")
    for kind, label in (("tcp", "TCP"), ("ws", "WebSocket")):
        print(f"| {label} | {max(rates[kind]):,.0f} | {memory[kind]:,.0f} B |")
    print(f"\nTCP / WebSocket throughput: {max(rates['tcp']) / max(rates['ws']):.2f}x")


if __name__ == "__main__":
    main()
