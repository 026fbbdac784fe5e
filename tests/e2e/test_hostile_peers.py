"""Peers that are dead, silent, lying, endless or garbled cost one timeout, no more."""

from __future__ import annotations

import json
import socket
import socketserver
import threading
import time
from collections.abc import Iterator

import pytest

TIMEOUT = 2.0  # the node's --peer-timeout in these tests


class Hostile(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour
        self.closing = threading.Event()
        super().__init__(("127.0.0.1", 0), HostileHandler)

    @property
    def netloc(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"


class HostileHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server: Hostile = self.server  # type: ignore[assignment]
        sock: socket.socket = self.request
        sock.recv(65536)
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
        try:
            if server.behaviour == "silent":
                server.closing.wait(60)
            elif server.behaviour == "garbage":
                sock.sendall(head + b"Content-Length: 20\r\n\r\n<html>not json</html")
            elif server.behaviour == "not-http":
                sock.sendall(b"\x00\x01\x02 hello there\r\n\r\n")
            elif server.behaviour == "liar":
                genesis = {"index": 1, "timestamp": "t", "nonce": 1, "previous_hash": "0",
                           "transactions": []}
                body = json.dumps({"chain": [genesis], "length": 10**9, "start": 1}).encode()
                sock.sendall(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
            elif server.behaviour == "endless":
                sock.sendall(head + b"\r\n" + b'{"chain": [')
                chunk = b'{"index": 1, "nonce": 1},' * 4000
                while not server.closing.is_set():
                    sock.sendall(chunk)
            elif server.behaviour == "trickle":
                sock.sendall(head + b"\r\n" + b'{"chain": [')
                while not server.closing.wait(0.1):
                    sock.sendall(b" ")
            elif server.behaviour == "huge-declared":
                sock.sendall(head + b"Content-Length: 999999999999\r\n\r\n{")
                server.closing.wait(60)
        except OSError:
            pass


@pytest.fixture
def hostile() -> Iterator:
    servers: list[Hostile] = []

    def make(behaviour: str) -> Hostile:
        server = Hostile(behaviour)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.closing.set()
        server.shutdown()
        server.server_close()


def dead_netloc() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"  # closed when we leave: nobody listens


@pytest.mark.parametrize("sync", ["incremental", "full"])
def test_replace_chain_is_bounded_and_adopts_the_honest_chain(spawn_node, hostile, sync):
    honest = spawn_node("--difficulty", "2", "--memory")
    for _ in range(3):
        honest.get("/mine_block")
    node = spawn_node("--difficulty", "2", "--memory", "--peer-timeout", str(TIMEOUT),
                      "--sync", sync)
    behaviours = ["silent", "garbage", "not-http", "liar", "endless", "trickle", "huge-declared"]
    bad = {hostile(b).netloc: b for b in behaviours}
    bad[dead_netloc()] = "dead"
    peers = [*bad, honest.netloc]
    assert node.post("/connect_node", json={"nodes": peers}).status_code == 201

    started = time.monotonic()
    body = node.get("/replace_chain", timeout=60).json()
    elapsed = time.monotonic() - started

    assert "new_chain" in body, body
    assert body["new_chain"] == honest.get("/get_chain").json()["chain"]
    # Peers are asked at once: the whole round costs about one timeout, not one per peer.
    assert elapsed < 3 * TIMEOUT, f"round took {elapsed:.1f}s"
    outcomes = {o["peer"]: o for o in body["peers"]}
    assert outcomes[honest.netloc]["outcome"] == "adopted"
    for netloc, behaviour in bad.items():
        assert outcomes[netloc]["outcome"] in ("failed", "invalid", "not longer"), behaviour
        assert outcomes[netloc]["outcome"] != "adopted"
    assert outcomes[next(n for n, b in bad.items() if b == "liar")]["outcome"] == "not longer"
    # The node still answers, and its chain is valid.
    assert node.get("/is_valid").json()["valid"] is True
