"""Strict rules against real nodes: signatures, replay, double spends, and the forger."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from nodeproc import wait_until

from becoin_core import strict

TOKEN = {"BECOIN_ADMIN_TOKEN": "t"}
ADMIN = {"X-BeCoin-Admin": "t"}


def strict_node(spawn_node, *args, env=None):
    return spawn_node("--rules", "strict", "--difficulty", "2", "--memory", *args, env=env)


def test_replay_is_accepted_once(spawn_node):
    alice_priv, alice = strict.new_wallet()
    _, bob = strict.new_wallet()
    node = strict_node(spawn_node, "--miner", alice)
    node.get("/mine_block")  # alice earns 10
    tx = strict.sign_transaction(alice_priv, bob, 4, 1)
    first = node.post("/add_transaction", json=tx)
    assert first.status_code == 201
    again = node.post("/add_transaction", json=tx)
    assert again.status_code == 400
    assert "replays sequence 1" in again.json()["message"]
    node.get("/mine_block")
    again = node.post("/add_transaction", json=tx)  # and not after it is mined either
    assert again.status_code == 400 and "replays" in again.json()["message"]
    chain = node.get("/get_chain").json()["chain"]
    assert sum(t == tx for b in chain for t in b["transactions"]) == 1


def test_unsigned_and_tampered_transactions_are_refused(spawn_node):
    alice_priv, alice = strict.new_wallet()
    _, bob = strict.new_wallet()
    node = strict_node(spawn_node, "--miner", alice)
    node.get("/mine_block")
    r = node.post("/add_transaction", json={"sender": alice, "receiver": bob, "amount": 1})
    assert r.status_code == 400 and "missing" in r.json()
    tx = strict.sign_transaction(alice_priv, bob, 1, 1)
    tx["amount"] = 9
    r = node.post("/add_transaction", json=tx)
    assert r.status_code == 400 and "bad signature" in r.json()["message"]


class ChainServer(ThreadingHTTPServer):
    """A peer that serves a chain it made itself, bypassing any node's checks."""

    def __init__(self, chain):
        self.chain = chain
        super().__init__(("127.0.0.1", 0), ChainHandler)

    @property
    def netloc(self):
        return f"127.0.0.1:{self.server_address[1]}"


class ChainHandler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        body = json.dumps({"chain": self.server.chain, "length": len(self.server.chain)})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def chain_server():
    servers = []

    def serve(chain):
        server = ChainServer(chain)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def test_double_spend_refused_by_the_node_and_in_a_block_by_its_peers(spawn_node, chain_server):
    alice_priv, alice = strict.new_wallet()
    _, bob = strict.new_wallet()
    _, carol = strict.new_wallet()
    node = strict_node(spawn_node, "--miner", alice)
    node.get("/mine_block")  # alice has 10
    to_bob = strict.sign_transaction(alice_priv, bob, 8, 1)
    to_carol = strict.sign_transaction(alice_priv, carol, 8, 2)
    assert node.post("/add_transaction", json=to_bob).status_code == 201
    r = node.post("/add_transaction", json=to_carol)
    assert r.status_code == 400 and "overspends" in r.json()["message"]

    # A block that carries both spends, properly mined, offered by a peer.
    chain = node.get("/get_chain").json()["chain"]
    prev = chain[-1]
    block = strict.mine(3, "t3", strict.header_hash(prev),
                        [to_bob, to_carol, strict.reward_transaction(alice, 3)], 2)
    bad = chain_server(chain + [block, strict.mine(4, "t4", strict.header_hash(block),
                                                   [strict.reward_transaction(alice, 4)], 2)])
    node.post("/connect_node", json={"nodes": [bad.netloc]})
    body = node.get("/replace_chain").json()
    assert "actual_chain" in body
    (outcome,) = body["peers"]
    assert outcome["outcome"] == "invalid"
    assert "block 3: transaction 2 overspends" in outcome["detail"]


@pytest.mark.parametrize("rules, adopted", [("classic", True), ("strict", False)])
def test_the_forger(spawn_node, rules, adopted):
    common = ["--rules", rules, "--difficulty", "2", "--memory"]
    honest = spawn_node(*common)
    forger = spawn_node(*common, "--role", "forger", env=TOKEN)
    # Under strict rules the honest chain holds only rewards: the forger rewrites
    # the first one; under classic rules, the blog's payment to PublicKeyb.
    honest.get("/mine_block")
    if rules == "classic":
        honest.post("/add_transaction", json={"sender": "PublicKeya", "receiver": "PublicKeyb",
                                              "amount": 1000})
    honest.get("/mine_block")
    honest.get("/mine_block")
    before = honest.get("/get_chain").json()["chain"]
    honest.post("/connect_node", json={"nodes": [forger.url]})
    forger.post("/connect_node", json={"nodes": [honest.url]})

    r = forger.post("/admin/forge", json={"victim": honest.netloc}, headers=ADMIN)
    assert r.status_code == 200, r.text
    forged = r.json()
    assert forged["length"] == len(before) + 1
    thief = forger.get("/status").json()["miner"]
    forged_chain = forger.get("/get_chain").json()["chain"]
    rewritten = forged_chain[forged["rewritten"] - 1]
    assert any(t["receiver"] == thief for t in rewritten["transactions"])

    if adopted:
        # The forger offered its chain (POST /announce): the honest node syncs from it.
        wait_until(lambda: honest.get("/get_chain").json()["chain"] == forged_chain, 10,
                   "the honest node to adopt the forgery")
    else:
        body = honest.get("/replace_chain").json()
        outcome = next(o for o in body["peers"] if o["peer"] == forger.netloc)
        assert outcome["outcome"] == "invalid"
        assert "does not meet difficulty" in outcome["detail"]
        assert honest.get("/get_chain").json()["chain"] == before


def test_forging_needs_the_forger_role(spawn_node):
    node = spawn_node("--difficulty", "2", "--memory", env=TOKEN)
    r = node.post("/admin/forge", json={"victim": "127.0.0.1:1"}, headers=ADMIN)
    assert r.status_code == 403 and "--role forger" in r.json()["message"]


def test_strict_nodes_agree_and_refuse_classic_chains(spawn_node):
    a = strict_node(spawn_node)
    b = strict_node(spawn_node)
    c = spawn_node("--difficulty", "2", "--memory")  # classic
    for _ in range(3):
        c.get("/mine_block")
    a.get("/mine_block")
    a.get("/mine_block")
    b.post("/connect_node", json={"nodes": [a.url, c.url]})
    body = b.get("/replace_chain").json()
    outcomes = {o["peer"]: o for o in body["peers"]}
    assert outcomes[a.netloc]["outcome"] == "adopted"
    assert outcomes[c.netloc]["outcome"] in ("invalid", "not longer")
    wait_until(lambda: b.get("/status").json()["tip"] == a.get("/status").json()["tip"], 5,
               "b to hold a's chain")
    assert b.get("/is_valid").json()["valid"] is True
