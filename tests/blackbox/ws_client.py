"""A minimal WebSocket client (RFC 6455) on a raw socket, standard library only.

The tests need to choose every byte on the wire (fragments, masks, opcodes, oversized
lengths), which a full client library hides; this one frames exactly what it is told.
"""
import base64
import hashlib
import json
import os
import socket
import struct
import time

import harness

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def accept_for(key):
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def build_frame(opcode, payload, fin=True, mask=True, rsv=0):
    """One client frame; masked with a random key unless mask is False."""
    if isinstance(payload, str):
        payload = payload.encode()
    head = bytes([(0x80 if fin else 0) | rsv << 4 | opcode])
    n = len(payload)
    mask_bit = 0x80 if mask else 0
    if n < 126:
        head += bytes([mask_bit | n])
    elif n <= 0xFFFF:
        head += bytes([mask_bit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def upgrade_request(path="/ws", host="127.0.0.1", key=None, origin=None, version="13",
                    extra=""):
    key = key or base64.b64encode(os.urandom(16)).decode()
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", "Upgrade: websocket",
             "Connection: Upgrade", f"Sec-WebSocket-Key: {key}"]
    if version is not None:
        lines.append(f"Sec-WebSocket-Version: {version}")
    if origin is not None:
        lines.append(f"Origin: {origin}")
    if extra:
        lines.append(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode(), key


class Closed(Exception):
    """The server sent a close frame: .code and .reason."""

    def __init__(self, code, reason):
        super().__init__(f"closed {code} {reason!r}")
        self.code = code
        self.reason = reason


class WsClient:
    """A WebSocket connection to classchatd's HTTP port. Raises Closed on a close frame."""

    def __init__(self, port, origin=None, host_header=None, early=b""):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=harness.TIMEOUT)
        request, key = upgrade_request(host=host_header or f"127.0.0.1:{port}", origin=origin)
        self.sock.sendall(request + early)
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise EOFError("closed during the handshake: %r" % self.buffer)
            self.buffer += chunk
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        self.status_line = head.split(b"\r\n")[0].decode()
        self.headers = {}
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.decode().partition(":")
            self.headers[name.strip().lower()] = value.strip()
        if " 101 " not in self.status_line + " ":
            raise AssertionError(f"no upgrade: {head!r}")
        assert self.headers["sec-websocket-accept"] == accept_for(key), self.headers
        self.pongs = []
        self.pings = 0
        self.answer_pings = True

    def send_frame(self, opcode, payload, **kw):
        self.sock.sendall(build_frame(opcode, payload, **kw))

    def send_text(self, text):
        self.send_frame(OP_TEXT, text)

    def send(self, to, msg=None):
        obj = {"to": to}
        if msg is not None:
            obj["msg"] = msg
        self.send_text(json.dumps(obj))

    def _read(self, n, deadline):
        while len(self.buffer) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no whole frame; have %r" % self.buffer[:100])
            self.sock.settimeout(remaining)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed without a close frame")
            self.buffer += chunk
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def recv_frame(self, timeout=harness.TIMEOUT):
        """(fin, opcode, payload) of the next frame, as sent (no reassembly)."""
        deadline = time.monotonic() + timeout
        b0, b1 = self._read(2, deadline)
        assert b1 & 0x80 == 0, "server frames must not be masked"
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._read(2, deadline))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._read(8, deadline))[0]
        return bool(b0 & 0x80), b0 & 0x0F, self._read(n, deadline)

    def recv_text(self, timeout=harness.TIMEOUT):
        """The next text message; answers pings, records pongs, raises Closed on close."""
        deadline = time.monotonic() + timeout
        while True:
            fin, opcode, payload = self.recv_frame(max(0.01, deadline - time.monotonic()))
            if opcode == OP_PING:
                self.pings += 1
                if self.answer_pings:
                    self.send_frame(OP_PONG, payload)
            elif opcode == OP_PONG:
                self.pongs.append(payload)
            elif opcode == OP_CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                raise Closed(code, payload[2:].decode())
            else:
                assert opcode == OP_TEXT and fin, (fin, opcode, payload)
                return payload.decode()

    def recv(self, timeout=harness.TIMEOUT):
        return json.loads(self.recv_text(timeout))

    def recv_msg(self, timeout=harness.TIMEOUT):
        return self.recv(timeout)["msg"]

    def expect_close(self, timeout=harness.TIMEOUT):
        """Reads until the close frame; returns (code, reason, texts received before)."""
        texts = []
        while True:
            try:
                texts.append(self.recv_text(timeout))
            except Closed as closed:
                return closed.code, closed.reason, texts

    def close(self):
        self.sock.close()
