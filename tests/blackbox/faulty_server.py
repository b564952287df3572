"""A deliberately faulty chat server for testing classchat-bench's verifier.

It speaks the classchat contract (bare-name handshake, JSON objects in, one compact JSON
object + newline out, /time /list /shout, Error replies) and then breaks the delivery of
users' messages (direct messages and shout deliveries) in one of these ways:

  none       deliver everything correctly (the control)
  drop       every Nth delivery is silently dropped
  duplicate  every Nth delivery is sent twice
  reorder    every Nth delivery is held back and sent after the next one from the same
             sender to the same user (or after 0.2 s), so per-sender order breaks
  corrupt    every Nth delivery has one character of its text changed

Standard library only. Usage: faulty_server.py MODE [--every N] [--port P]
Prints "listening on 127.0.0.1:PORT" on stderr once ready; stops on SIGTERM or SIGINT.
"""
import argparse
import json
import os
import selectors
import signal
import socket
import sys
import time

SERVER = {"name": "SERVER", "ip": "0.0.0.0"}
HOLD_SECONDS = 0.2  # a reordered message waits at most this long for a successor


def frame(sender, to, msg):
    return (json.dumps({"from": sender, "to": to, "msg": msg}, separators=(",", ":"))
            + "\n").encode()


class Client:
    def __init__(self, sock, ip):
        self.sock = sock
        self.ip = ip
        self.name = None
        self.inbuf = b""
        self.out = b""
        self.held = {}  # reorder mode: sender name -> (deadline, bytes) held back
        self.closing = False


class FaultyServer:
    def __init__(self, mode, every, port):
        self.mode = mode
        self.every = every
        self.deliveries = 0
        self.selector = selectors.DefaultSelector()
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", port))
        self.listener.listen(1024)
        self.listener.setblocking(False)
        self.selector.register(self.listener, selectors.EVENT_READ, None)
        self.clients = {}   # socket -> Client
        self.by_name = {}   # lower-case name -> Client
        self.running = True

    # --- output -------------------------------------------------------------------------
    def send(self, client, data):
        client.out += data
        self.flush(client)

    def flush(self, client):
        try:
            while client.out:
                sent = client.sock.send(client.out)
                client.out = client.out[sent:]
        except BlockingIOError:
            pass
        except OSError:
            self.close(client)
            return
        if client.closing and not client.out:
            self.close(client)

    def reply(self, client, msg):
        self.send(client, frame(SERVER, client.name or "", msg))

    def deliver(self, recipient, sender, data):
        """Delivers one user message from `sender`, applying this server's fault."""
        self.deliveries += 1
        faulty = self.deliveries % self.every == 0
        if self.mode == "reorder" and sender in recipient.held:
            held = recipient.held.pop(sender)[1]
            self.send(recipient, data)
            self.send(recipient, held)
            return
        if not faulty or self.mode == "none":
            self.send(recipient, data)
        elif self.mode == "drop":
            pass
        elif self.mode == "duplicate":
            self.send(recipient, data + data)
        elif self.mode == "reorder":
            recipient.held[sender] = (time.monotonic() + HOLD_SECONDS, data)
        elif self.mode == "corrupt":
            obj = json.loads(data)
            text = obj["msg"]
            middle = len(text) // 2
            changed = "x" if text[middle:middle + 1] != "x" else "y"
            obj["msg"] = text[:middle] + changed + text[middle + 1:]
            self.send(recipient, frame(obj["from"], obj["to"], obj["msg"]))

    def release_held(self):
        now = time.monotonic()
        for client in list(self.clients.values()):
            for sender, (deadline, held) in list(client.held.items()):
                if deadline <= now:
                    del client.held[sender]
                    self.send(client, held)

    # --- input --------------------------------------------------------------------------
    def register(self, client, name):
        name = name.strip()
        if not name or name.lower() in self.by_name or name.lower() in ("server", "everyone"):
            client.name = name
            self.reply(client, "Error: username '%s' is already taken" % name)
            client.closing = True
            self.flush(client)
            return
        client.name = name
        self.by_name[name.lower()] = client
        self.reply(client, "Welcome %s! Send /help to see the commands." % name)

    def handle(self, client, obj):
        to = obj.get("to")
        msg = obj.get("msg")
        if not isinstance(to, str):
            self.reply(client, "Error: message has no 'to' field")
        elif to == "/time":
            self.reply(client, time.strftime("Server time: %H:%M:%S"))
        elif to == "/list":
            others = sorted(c.name for c in self.by_name.values() if c is not client)
            if others:
                self.reply(client, "Online users (%d): %s" % (len(others), ", ".join(others)))
            else:
                self.reply(client, "You are the only active user!")
        elif to == "/shout":
            data = frame({"name": client.name, "ip": client.ip}, "Everyone", msg)
            others = [c for c in self.by_name.values() if c is not client]
            for other in others:
                self.deliver(other, client.name, data)
            self.reply(client, "Message sent to %d users" % len(others))
        elif to.startswith("/"):
            self.reply(client, "Error: unknown command '%s' (see /help)" % to)
        else:
            recipient = self.by_name.get(to.lower())
            if recipient is None:
                self.reply(client, "Error: user '%s' not found" % to)
            else:
                self.deliver(recipient, client.name,
                             frame({"name": client.name, "ip": client.ip}, recipient.name, msg))

    def on_readable(self, client):
        try:
            data = client.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self.close(client)
            return
        if client.closing:
            return
        if client.name is None:
            text = data.decode("utf-8", "replace")
            cut = len(text)
            for terminator in ("\n", "\r", "{"):
                at = text.find(terminator)
                if at != -1:
                    cut = min(cut, at)
            self.register(client, text[:cut])
            if client.closing:
                return
            data = text[cut:].encode()
        client.inbuf += data
        decoder = json.JSONDecoder()
        text = client.inbuf.decode("utf-8", "replace")
        position = 0
        while True:
            while position < len(text) and text[position] in " \t\r\n":
                position += 1
            if position >= len(text):
                break
            try:
                obj, position = decoder.raw_decode(text, position)
            except json.JSONDecodeError:
                break  # incomplete object: wait for more bytes
            if isinstance(obj, dict):
                self.handle(client, obj)
        client.inbuf = text[position:].encode()

    def close(self, client):
        if client.sock not in self.clients:
            return
        del self.clients[client.sock]
        if client.name is not None and self.by_name.get(client.name.lower()) is client:
            del self.by_name[client.name.lower()]
        self.selector.unregister(client.sock)
        client.sock.close()

    def run(self):
        port = self.listener.getsockname()[1]
        print("listening on 127.0.0.1:%d" % port, file=sys.stderr, flush=True)
        while self.running:
            for key, _ in self.selector.select(timeout=0.05):
                if key.data is None:
                    try:
                        sock, address = self.listener.accept()
                    except (BlockingIOError, InterruptedError):
                        continue
                    sock.setblocking(False)
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    client = Client(sock, address[0])
                    self.clients[sock] = client
                    self.selector.register(sock, selectors.EVENT_READ, client)
                elif key.data.sock in self.clients:
                    self.on_readable(key.data)
            self.release_held()
            for client in list(self.clients.values()):
                if client.out:
                    self.flush(client)


class FaultyProcess:
    """Runs this server in a subprocess on an ephemeral port; a context manager for tests."""

    def __init__(self, mode, every=5, timeout=10.0):
        import subprocess
        import tempfile
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([sys.executable, __file__, mode, "--every", str(every)],
                                     stderr=self.log)
        deadline = time.monotonic() + timeout
        self.port = None
        while self.port is None:
            # pread, not seek and read: the child writes through the same open file, so
            # moving its offset made the child overwrite its own first bytes ("istening on").
            text = os.pread(self.log.fileno(), 1 << 16, 0).decode(errors="replace")
            if "listening on" in text:
                self.port = int(text.split("listening on 127.0.0.1:")[1].split()[0])
            elif self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                raise RuntimeError("faulty server did not start: " + text)
            else:
                time.sleep(0.02)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", choices=["none", "drop", "duplicate", "reorder", "corrupt"])
    parser.add_argument("--every", type=int, default=5, help="fault every Nth delivery")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = FaultyServer(args.mode, args.every, args.port)

    def stop(*_):
        server.running = False
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.run()


if __name__ == "__main__":
    main()
