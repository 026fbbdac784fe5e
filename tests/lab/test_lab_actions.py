"""Lab actions and snapshots against three real nodes (difficulty 1, free ports)."""

from __future__ import annotations

import pytest
import requests

from becoin_core.chain import block_hash
from becoin_lab.client import NodeClient
from becoin_lab.errors import LabError, NodeDown, NodeError


def test_blog_walkthrough_through_the_api(lab):
    first = lab.snapshot()
    assert [s.length for s in first] == [1, 1, 1]
    assert len(first.diff().groups) == 3  # each node has a genesis of its own

    peers = lab.connect()
    assert sorted(peers["node1"]) == sorted(
        lab.clients[n].url.removeprefix("http://") for n in ("node2", "node3")
    )

    mined = lab.mine("node1")
    assert mined[0].index == 2
    assert mined[0].block["transactions"][-1]["receiver"] == "Receiver"

    rounds = lab.replace_chain()
    assert {n: r.replaced for n, r in rounds.items()} == {
        "node1": False,
        "node2": True,
        "node3": True,
    }
    snap = lab.snapshot()
    assert snap.diff().consensus
    assert snap["node3"].tip == block_hash(mined[0].block)

    tx = lab.add_transaction("node2", "PublicKeya", "PublicKeyb", 1000)
    assert tx.block_index == 3
    assert lab.snapshot()["node2"].mempool[0]["receiver"] == "PublicKeyb"
    lab.mine("node2")
    lab.replace_chain()
    assert lab.balances("node1") == {"Receiver": 20, "PublicKeya": -1000, "PublicKeyb": 1000}
    assert all(v.valid for v in lab.validate().values())


def test_connect_given_nodes_only(lab):
    peers = lab.connect(["node1", "node2"])
    assert set(peers) == {"node1", "node2"}
    snap = lab.snapshot()
    assert len(snap["node1"].peers) == 1 and snap["node3"].peers == ()
    with pytest.raises(LabError, match="no node named 'nodeX'"):
        lab.connect(["node1", "nodeX"])


def test_snapshot_is_incremental(lab):
    lab.mine("node1", 5)
    assert lab.snapshot()["node1"].fetched == 6  # first look: the whole chain
    assert lab.snapshot()["node1"].fetched == 0  # nothing new
    lab.mine("node1")
    snap = lab.snapshot()
    assert snap["node1"].fetched == 1 and snap["node1"].length == 7
    assert snap["node1"].hashes[-1] == block_hash(snap["node1"].chain[-1])


def test_snapshot_follows_a_replaced_chain(lab):
    lab.connect()
    lab.mine("node1", 2)
    lab.mine("node2", 1)
    before = lab.snapshot()
    assert before.diff().fork_point == 1  # different genesis blocks
    lab.replace_chain("node2")
    after = lab.snapshot()
    full = lab.clients["node2"].get_chain().blocks
    assert list(after["node2"].chain) == full
    assert after["node2"].tip == after["node1"].tip
    assert after.diff().groups == [["node1", "node2"], ["node3"]]


def test_down_node_in_snapshot_and_errors_name_the_node(lab):
    lab.mine("node3")
    lab.snapshot()
    lab.kill_node("node3")
    snap = lab.snapshot()
    assert not snap["node3"].up and snap["node3"].error
    assert snap["node3"].length == 2  # last known chain kept, marked down
    d = snap.diff()
    assert d.down == ["node3"] and "node3" not in d.lengths
    with pytest.raises(NodeDown) as info:
        lab.mine("node3")
    assert info.value.node == "node3" and "mine_block" in str(info.value)
    assert lab.deaths() == []  # killed on purpose
    lab.start_node("node3")
    assert lab.snapshot()["node3"].up


def test_node_errors_carry_the_nodes_message(lab):
    client = lab.clients["node1"]
    with pytest.raises(NodeError) as info:
        client._call("POST", "/add_transaction", "add_transaction", json={"sender": "a"})
    assert info.value.status == 400
    assert info.value.node == "node1"
    assert "HTTP 400" in str(info.value)
    with pytest.raises(NodeError, match="HTTP 400"):
        client.connect([])


def test_client_against_nothing_says_which_node():
    client = NodeClient("ghost", "http://127.0.0.1:9", timeout=1)
    with pytest.raises(NodeDown, match=r"ghost: status failed: connection refused"):
        client.status()


def test_nodes_answer_status_with_the_lab_settings(lab):
    status = lab.clients["node2"].status()
    assert status.name == "node2" and status.difficulty == 1
    assert requests.get(lab.clients["node2"].url + "/is_valid", timeout=5).ok
