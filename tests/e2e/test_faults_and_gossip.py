"""Admin routes a lab uses: partition, latency and loss, automine; and broadcast gossip."""

from __future__ import annotations

import time

import pytest
from nodeproc import wait_until

TOKEN = "test-secret"
ENV = {"BECOIN_ADMIN_TOKEN": TOKEN}
ADMIN = {"X-BeCoin-Admin": TOKEN}


@pytest.fixture
def trio(spawn_node):
    nodes = [spawn_node("--difficulty", "2", "--memory", "--peer-timeout", "2", env=ENV)
             for _ in range(3)]
    for node in nodes:
        node.post("/connect_node", json={"nodes": [n.url for n in nodes if n is not node]})
    return nodes


def test_admin_routes_need_the_token(spawn_node):
    with_token = spawn_node("--difficulty", "2", "--memory", env=ENV)
    without = spawn_node("--difficulty", "2", "--memory")
    r = with_token.post("/admin/partition", json={"blocked": []})
    assert r.status_code == 403 and "X-BeCoin-Admin" in r.json()["message"]
    r = with_token.post("/admin/partition", json={"blocked": []},
                        headers={"X-BeCoin-Admin": "guess"})
    assert r.status_code == 403
    r = without.post("/admin/partition", json={"blocked": []}, headers=ADMIN)
    assert r.status_code == 403 and "BECOIN_ADMIN_TOKEN" in r.json()["message"]
    assert with_token.get("/admin/faults", headers=ADMIN).status_code == 200


@pytest.mark.parametrize("path, body", [
    ("/admin/partition", {"blocked": "x"}),
    ("/admin/partition", {"blocked": ["nope"]}),
    ("/admin/latency", {"ms": -1}),
    ("/admin/latency", {"ms": 10, "loss": 2}),
    ("/admin/latency", {"ms": True}),
    ("/admin/automine", {}),
    ("/admin/automine", {"every": 0}),
    ("/admin/automine", {"every": "1"}),
])
def test_bad_admin_bodies(spawn_node, path, body):
    node = spawn_node("--difficulty", "2", "--memory", env=ENV)
    r = node.post(path, json=body, headers=ADMIN)
    assert r.status_code == 400 and r.json()["message"]


def test_partition_cuts_both_ways_and_heals(trio):
    a, b, c = trio
    # a alone | b, c
    a.post("/admin/partition", json={"blocked": [b.netloc, c.netloc]}, headers=ADMIN)
    for node in (b, c):
        node.post("/admin/partition", json={"blocked": [a.netloc]}, headers=ADMIN)
    b.get("/mine_block")
    b.get("/mine_block")
    a.get("/mine_block")
    body = a.get("/replace_chain").json()
    assert "actual_chain" in body
    assert {o["outcome"] for o in body["peers"]} == {"failed"}
    assert all("partitioned" in o["detail"] for o in body["peers"])
    assert "new_chain" in c.get("/replace_chain").json()  # its own side still syncs
    # A peer call that skips the cut on one side is refused by the other.
    r = b.get("/get_chain", headers={"X-BeCoin-Peer": a.netloc})
    assert r.status_code == 403 and "partitioned" in r.json()["message"]
    # A person's own requests always pass.
    assert b.get("/get_chain").status_code == 200

    for node in trio:
        r = node.post("/admin/partition", json={"blocked": []}, headers=ADMIN)
        assert r.json()["message"] == "Partition healed"
    assert "new_chain" in a.get("/replace_chain").json()
    assert a.get("/status").json()["tip"] == b.get("/status").json()["tip"]


def test_latency_delays_and_loss_drops_peer_calls(trio):
    a, b, _ = trio
    b.get("/mine_block")
    a.post("/admin/latency", json={"ms": 600}, headers=ADMIN)
    started = time.monotonic()
    assert "new_chain" in a.get("/replace_chain").json()
    assert time.monotonic() - started >= 0.6
    assert a.get("/admin/faults", headers=ADMIN).json()["latency_ms"] == 600
    a.post("/admin/latency", json={"ms": 0, "loss": 1}, headers=ADMIN)
    b.get("/mine_block")
    body = a.get("/replace_chain").json()
    assert "actual_chain" in body
    assert all(o["outcome"] == "failed" and "lost" in o["detail"] for o in body["peers"])


def test_automine_mines_until_stopped(spawn_node):
    node = spawn_node("--difficulty", "1", "--memory", env=ENV)
    r = node.post("/admin/automine", json={"every": 0.1}, headers=ADMIN)
    assert r.status_code == 200 and node.get("/status").json()["automine"] == 0.1
    wait_until(lambda: node.get("/status").json()["length"] >= 4, 15, "three automined blocks")
    node.post("/admin/automine", json={"every": None}, headers=ADMIN)
    length = node.get("/status").json()["length"]
    # Off means off: a mined-in-flight block may land, then nothing more.
    wait_until(lambda: node.get("/status").json()["automine"] is None, 5, "automine off")
    time.sleep(0.5)
    assert node.get("/status").json()["length"] <= length + 1
    assert node.get("/is_valid").json()["valid"] is True


def test_broadcast_spreads_a_block_without_a_consensus_round(spawn_node):
    nodes = [spawn_node("--difficulty", "2", "--memory", "--propagation", "broadcast")
             for _ in range(3)]
    # A line, not a mesh: 0 - 1 - 2, so reaching 2 needs 1 to relay.
    nodes[0].post("/connect_node", json={"nodes": [nodes[1].url]})
    nodes[1].post("/connect_node", json={"nodes": [nodes[0].url, nodes[2].url]})
    nodes[2].post("/connect_node", json={"nodes": [nodes[1].url]})
    nodes[0].get("/mine_block")
    tip = nodes[0].get("/status").json()["tip"]
    for node in nodes[1:]:
        wait_until(lambda n=node: n.get("/status").json()["tip"] == tip, 15, "the block to spread")


def test_announce_from_a_stranger_is_refused(spawn_node):
    node = spawn_node("--difficulty", "2", "--memory", "--propagation", "broadcast")
    r = node.post("/announce", json={"peer": "127.0.0.1:1"})
    assert r.status_code == 400 and "not a peer" in r.json()["message"]
