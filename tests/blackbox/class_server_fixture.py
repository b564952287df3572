#!/usr/bin/env python3
"""A stand-in for the class's original Python chat server, to test classchat-bench against.

It does what a typical class server does, fragile spots included:
- one thread per client;
- the name is the first recv(1024), decoded;
- then a loop of `data = conn.recv(1024); msg = json.loads(data)`: each recv() is taken to
  be exactly one message. Two messages that arrive together ("{...}{...}", pipelined, or
  coalesced by TCP) or one message longer than 1,024 bytes make json.loads raise; the
  exception ends that client's thread (Python prints it on stderr), and the connection is
  left open and registered but is never read again;
- replies are json.dumps() objects sent back to back with no separator:
  {"from": {"name": "SERVER", "ip": ...}, "to": <name>, "msg": <text>}.

It routes direct messages ("to" a name), /list, /time and /shout, welcomes a new name and
refuses one that is taken (an Error, then close). A send to a client that has gone is
skipped (so that a bench closing its clients does not kill the sender's thread).

Usage: class_server_fixture.py [PORT]   (default 65432, the class's hard-coded port;
0 picks a free one). Prints "listening on 127.0.0.1:PORT" on stderr once it listens.
Standard library only; stops on SIGTERM or SIGINT.
"""
import json
import socket
import sys
import threading
import time

HOST = "127.0.0.1"
SERVER = "SERVER"

clients = {}  # name -> connection
clients_lock = threading.Lock()


def frame(sender, ip, to, msg):
    return json.dumps({"from": {"name": sender, "ip": ip}, "to": to, "msg": msg}).encode()


def reply(conn, to, msg):
    conn.send(frame(SERVER, HOST, to, msg))


def deliver(conn, data):
    try:
        conn.send(data)
        return True
    except OSError:
        return False


def handle(conn, address):
    name = conn.recv(1024).decode()
    if not name:
        conn.close()
        return
    with clients_lock:
        taken = name in clients or name in (SERVER, "Everyone")
        if not taken:
            clients[name] = conn
    if taken:
        reply(conn, name, f"Error: username '{name}' is already taken")
        conn.close()
        return
    reply(conn, name, f"Welcome {name}!")
    while True:
        data = conn.recv(1024)
        if not data:
            break
        msg = json.loads(data)  # the class's way: one recv() is one message
        to, text = msg["to"], msg.get("msg", "")
        if to == "/list":
            with clients_lock:
                others = sorted(n for n in clients if n != name)
            reply(conn, name, f"Online users ({len(others)}): {', '.join(others)}" if others
                  else "You are the only active user!")
        elif to == "/time":
            reply(conn, name, "Server time: " + time.strftime("%H:%M:%S"))
        elif to == "/shout":
            with clients_lock:
                others = [c for n, c in clients.items() if n != name]
            data = frame(name, address[0], "Everyone", text)
            sent = sum(1 for other in others if deliver(other, data))
            reply(conn, name, f"Message sent to {sent} users")
        else:
            with clients_lock:
                target = clients.get(to)
            if target is None:
                reply(conn, name, f"Error: user '{to}' is not online")
            else:
                deliver(target, frame(name, address[0], to, text))
    with clients_lock:
        clients.pop(name, None)
    conn.close()


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 65432
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((HOST, port))
    listener.listen(128)
    print(f"listening on {HOST}:{listener.getsockname()[1]}", file=sys.stderr, flush=True)
    while True:
        conn, address = listener.accept()
        threading.Thread(target=handle, args=(conn, address), daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
