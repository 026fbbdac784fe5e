"""Faults and self-running modes against real nodes: the admin token, partition both ways and
heal, latency and loss, automine, the traffic generator and its ledger, stop/kill/start/restart
keeping data and faults, and broadcast propagation from lab.toml."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from labtools import lab_toml, wait_until

from becoin_lab.config import load_config
from becoin_lab.errors import LabError, NodeError
from becoin_lab.lab import Lab


def netloc(lab: Lab, name: str) -> str:
    return lab.clients[name].url.removeprefix("http://")


@pytest.fixture
def gossip_lab(tmp_path: Path) -> Iterator[Lab]:
    """Three nodes with broadcast propagation, difficulty 1."""
    the_lab = Lab(load_config(lab_toml(tmp_path, extra='propagation = "broadcast"')))
    try:
        the_lab.start()
        yield the_lab
    finally:
        the_lab.close()


def test_admin_token_is_the_labs_own_per_run(lab, tmp_path):
    url = lab.clients["node1"].url
    r = requests.post(f"{url}/admin/automine", json={"every": None}, timeout=5)
    assert r.status_code == 403
    guess = {"X-BeCoin-Admin": "guess"}
    r = requests.post(f"{url}/admin/partition", json={"blocked": []}, headers=guess, timeout=5)
    assert r.status_code == 403
    assert lab.faults("node1").blocked == []  # the lab's client carries the token
    (tmp_path / "other").mkdir()
    other = Lab(load_config(lab_toml(tmp_path / "other")))  # not started: no processes
    assert other.admin_token != lab.admin_token and len(lab.admin_token) >= 32
    other.close()
    status = lab.snapshot("node1")["node1"]
    assert status.propagation == "manual" and status.automine is None


def test_partition_cuts_both_ways_and_heals(lab):
    lab.connect()
    lab.partition([["node1"], ["node2", "node3"]])
    snap = lab.snapshot()
    assert snap.partition == [["node1"], ["node2", "node3"]]
    assert snap["node1"].blocked == ("node2", "node3") and snap["node2"].blocked == ("node1",)
    assert snap.side("node3") == 1

    lab.mine("node2", 2)
    lab.mine("node1")
    rounds = lab.replace_chain()
    assert not rounds["node1"].replaced and rounds["node3"].replaced
    outcomes = rounds["node1"].peers.values()
    assert {o["outcome"] for o in outcomes} == {"failed"}
    assert all("partitioned" in o["detail"] for o in outcomes)
    # incoming too: a peer call from node1 to node2 is refused by node2
    r = requests.get(lab.clients["node2"].url + "/get_chain", timeout=5,
                     headers={"X-BeCoin-Peer": netloc(lab, "node1")})  # fmt: skip
    assert r.status_code == 403 and "partitioned" in r.json()["message"]
    assert lab.snapshot().diff().groups == [["node2", "node3"], ["node1"]]

    lab.heal()
    assert lab.snapshot().partition == [] and lab.partition_groups == []
    lab.replace_chain()
    snap = lab.snapshot()
    assert snap.diff().consensus and snap["node1"].length == 3


def test_partition_checks_its_groups(lab):
    with pytest.raises(LabError, match="node3 in no group"):
        lab.partition([["node1"], ["node2"]])
    with pytest.raises(LabError, match="node2 is in group 1 and group 2"):
        lab.partition([["node1", "node2"], ["node2", "node3"]])
    with pytest.raises(LabError, match="no node named 'node9'"):
        lab.partition([["node1", "node9"], ["node2", "node3"]])
    with pytest.raises(LabError, match="at least two groups"):
        lab.partition([["node1", "node2", "node3"]])
    assert lab.snapshot().partition == []


def test_latency_delays_and_loss_drops_peer_calls(lab):
    lab.connect(["node1", "node2"])
    lab.mine("node2")
    lab.latency("node1", 400)
    assert lab.snapshot("node1")["node1"].latency_ms == 400
    began = time.monotonic()
    assert lab.replace_chain("node1")["node1"].replaced
    assert time.monotonic() - began >= 0.4
    lab.latency("node1", 0, loss=1.0)
    lab.mine("node2")
    result = lab.replace_chain("node1")["node1"]
    assert not result.replaced
    assert all("lost" in o["detail"] for o in result.peers.values())
    lab.latency("node1", 0)
    assert lab.faults("node1").loss == 0 and "node1" not in lab.latencies
    assert lab.replace_chain("node1")["node1"].replaced


def test_automine_on_and_off(lab):
    lab.automine("node1", every=0.1)
    assert lab.snapshot("node1")["node1"].automine == 0.1
    wait_until(lambda: lab.snapshot("node1")["node1"].length >= 4, 10, "automined blocks")
    lab.automine("all", on=False)
    assert all(s.automine is None for s in lab.snapshot())
    length = lab.snapshot("node1")["node1"].length
    time.sleep(0.4)
    assert lab.snapshot("node1")["node1"].length <= length + 1  # one may have been in flight
    assert lab.snapshot()["node2"].length == 1
    with pytest.raises(LabError, match="needs every"):
        lab.automine("node1", None, on=True)


def test_traffic_ledger_counts_every_acknowledged_transaction_across_a_crash(lab):
    lab.connect()
    lab.mine("node1")
    lab.replace_chain()  # one chain to start from
    stats = lab.traffic(rate=60, seed=1)
    assert stats.running
    wait_until(lambda: lab.traffic_stats().per_node.get("node2", 0) >= 3, 10, "txs to node2")
    lab.kill_node("node2")  # its acknowledged transactions are on its disk
    wait_until(lambda: lab.traffic_stats().acknowledged >= 40, 10, "more traffic")
    stats = lab.traffic(on=False)
    assert not stats.running and stats.acknowledged == len(lab.ledger)
    amounts = [a.tx["amount"] for a in lab.ledger.acknowledged()]
    assert len(set(amounts)) == len(amounts)  # distinct: no two transactions are equal
    to_node2 = [a for a in lab.ledger.acknowledged() if a.node == "node2"]
    assert {a.tx["amount"] for a in lab.lost()} == {a.tx["amount"] for a in to_node2}

    lab.start_node("node2")
    assert lab.lost() == []
    lab.mine_each("all")  # three competing blocks 3 ...
    lab.mine("node1")  # ... and node1's chain is the longest
    lab.replace_chain()
    snap = lab.snapshot()
    assert snap.diff().consensus
    assert lab.lost(snap) == []  # the losers' transactions went back to their mempools
    assert sum(len(s.mempool) for s in snap) > 0


def test_kill_stop_restart_keep_chain_mempool_and_the_partition(lab):
    lab.connect()
    lab.mine("node1", 2)
    lab.add_transaction("node1", "a", "b", 1)
    lab.partition([["node1"], ["node2", "node3"]])
    before = lab.snapshot()["node1"]
    old_url = lab.clients["node1"].url
    for action in (lab.kill_node, lab.stop_node):
        action("node1")
        assert not lab.snapshot()["node1"].up
        assert lab.snapshot().partition == [["node2", "node3"], ["node1"]]  # down: apart
        lab.start_node("node1")
        after = lab.snapshot()["node1"]
        assert (after.hashes, after.mempool) == (before.hashes, before.mempool)
        assert after.blocked == ("node2", "node3")  # the lab put its side back
    lab.restart_node("node1")
    assert lab.clients["node1"].url == old_url  # same port: peers still know it
    assert lab.snapshot()["node1"].hashes == before.hashes
    lab.heal()
    assert lab.replace_chain("node2")["node2"].replaced


def test_broadcast_from_lab_toml_spreads_blocks_without_rounds(gossip_lab):
    lab = gossip_lab
    assert {s.propagation for s in lab.snapshot()} == {"broadcast"}
    lab.connect()
    lab.mine("node3")
    wait_until(lambda: lab.snapshot().diff().consensus, 10, "the block to spread")
    assert lab.snapshot()["node1"].length == 2


def test_attached_node_needs_a_token_from_lab_toml(lab, tmp_path):
    url = lab.clients["node1"].url
    path = tmp_path / "attached.toml"
    path.write_text(f'[lab]\ndifficulty = 1\n[[nodes]]\nname = "far"\nurl = "{url}"\n')
    attached = Lab(load_config(path))
    try:
        with pytest.raises(NodeError, match="no admin token for this node.*admin_token"):
            attached.latency("far", 100)
        path.write_text(f'[lab]\ndifficulty = 1\nadmin_token = "{lab.admin_token}"\n'
                        f'[[nodes]]\nname = "far"\nurl = "{url}"\n')  # fmt: skip
        attached.close()
        attached = Lab(load_config(path))
        assert attached.latency("far", 100).latency_ms == 100
    finally:
        attached.close()


@pytest.mark.parametrize("text, key, message", [
    ('[lab]\npropagation = "gossip"\nnodes = 2', "lab.propagation", "'manual' or 'broadcast'"),
    ('[[nodes]]\nname = "a"\nport = 0\nadmin_token = "x"', "nodes[0].admin_token",
     "only for an attached node"),
    ('[[nodes]]\nname = "a"\nurl = "http://h:1"\npropagation = "broadcast"',
     "nodes[0].propagation", "set where it runs"),
])  # fmt: skip
def test_config_propagation_and_admin_token_errors(tmp_path, text, key, message):
    path = tmp_path / "lab.toml"
    path.write_text(text + "\n")
    with pytest.raises(LabError) as info:
        load_config(path)
    assert info.value.key == key and message in str(info.value)


def test_config_propagation_per_node_and_tokens(tmp_path):
    path = tmp_path / "lab.toml"
    path.write_text('[lab]\npropagation = "broadcast"\nadmin_token = "t"\n'
                    '[[nodes]]\nname = "a"\nport = 0\npropagation = "manual"\n'
                    '[[nodes]]\nname = "b"\nport = 0\n'
                    '[[nodes]]\nname = "c"\nurl = "http://10.0.0.7:5001"\nadmin_token = "own"\n'
                    '[[nodes]]\nname = "d"\nurl = "http://10.0.0.8:5001"\n')  # fmt: skip
    config = load_config(path)
    assert config.propagation == "broadcast" and config.node("a").propagation == "manual"
    lab = Lab(config)
    try:
        tokens = {n: c.admin_token for n, c in lab.clients.items()}
        assert tokens["a"] == tokens["b"] == lab.admin_token  # started here: the run's secret
        assert (tokens["c"], tokens["d"]) == ("own", "t")  # attached: from lab.toml
    finally:
        lab.close()
