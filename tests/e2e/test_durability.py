"""Nothing acknowledged is lost: under concurrency, under SIGKILL, across forks."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

import requests
from nodeproc import wait_until

from becoin_core.chain import block_hash, is_reward


def tx_keys_in(node) -> Counter:
    chain = node.get("/get_chain").json()["chain"]
    mined = [t for b in chain for t in b["transactions"] if not is_reward(t, b)]
    waiting = node.get("/mempool").json()["transactions"]
    return Counter(json.dumps(t, sort_keys=True) for t in mined + waiting)


def test_concurrent_transactions_mining_and_consensus(spawn_node):
    peer = spawn_node("--difficulty", "2", "--memory")
    node = spawn_node("--difficulty", "2", "--threads", "16")
    node.post("/connect_node", json={"nodes": [peer.url]})
    posted: list[dict] = []
    lock = threading.Lock()
    errors: list[str] = []

    def post_many(worker: int) -> None:
        session = requests.Session()
        for i in range(40):
            tx = {"sender": f"w{worker}", "receiver": "r", "amount": i + 1}
            r = session.post(node.url + "/add_transaction", json=tx, timeout=30)
            if r.status_code != 201:
                errors.append(r.text)
            with lock:
                posted.append(tx)

    def mine_many() -> None:
        for _ in range(8):
            r = requests.get(node.url + "/mine_block", timeout=30)
            if r.status_code != 200:
                errors.append(r.text)

    def consensus_many() -> None:
        for _ in range(8):
            requests.get(node.url + "/replace_chain", timeout=30)

    threads = [threading.Thread(target=post_many, args=(w,)) for w in range(4)]
    threads += [threading.Thread(target=mine_many) for _ in range(2)]
    threads += [threading.Thread(target=consensus_many)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    expected = Counter(json.dumps(t, sort_keys=True) for t in posted)
    assert tx_keys_in(node) == expected  # none lost, none twice
    chain = node.get("/get_chain").json()["chain"]
    assert len(chain) == 17  # genesis + 16 blocks: no block appended on a stale tip
    assert node.get("/is_valid").json()["valid"] is True


def test_sigkill_loses_nothing_acknowledged(spawn_node, tmp_path):
    data = tmp_path / "crashy"
    node = spawn_node("--difficulty", "2", "--data-dir", str(data))
    acked_txs: list[dict] = []
    acked_blocks: list[str] = []
    stop = threading.Event()

    def post() -> None:
        session = requests.Session()
        i = 0
        while not stop.is_set():
            i += 1
            tx = {"sender": f"s{threading.get_ident()}", "receiver": "r", "amount": i}
            try:
                r = session.post(node.url + "/add_transaction", json=tx, timeout=5)
            except requests.RequestException:
                return
            if r.status_code == 201:
                acked_txs.append(tx)

    def mine() -> None:
        session = requests.Session()
        while not stop.is_set():
            try:
                r = session.get(node.url + "/mine_block", timeout=5)
            except requests.RequestException:
                return
            if r.status_code == 200:
                block = r.json()
                block.pop("message")
                acked_blocks.append(block_hash(block))

    workers = [threading.Thread(target=post) for _ in range(3)] + [threading.Thread(target=mine)]
    for w in workers:
        w.start()
    wait_until(lambda: len(acked_blocks) >= 5 and len(acked_txs) >= 50, 30, "traffic")
    node.kill()
    stop.set()
    for w in workers:
        w.join()

    again = spawn_node("--difficulty", "2", "--data-dir", str(data))
    chain = again.get("/get_chain").json()["chain"]
    hashes = {block_hash(b) for b in chain}
    assert set(acked_blocks) <= hashes
    have = tx_keys_in(again)
    for tx in acked_txs:
        assert have[json.dumps(tx, sort_keys=True)] >= 1, tx
    assert again.get("/is_valid").json()["valid"] is True


def test_a_replaced_chain_gives_back_the_abandoned_transactions(spawn_node):
    a = spawn_node("--difficulty", "2", "--memory")
    b = spawn_node("--difficulty", "2", "--memory")
    a.post("/connect_node", json={"nodes": [b.url]})
    b.post("/connect_node", json={"nodes": [a.url]})
    # Both start from the same chain.
    a.get("/mine_block")
    assert "new_chain" in b.get("/replace_chain").json()
    # Apart: b mines one block with its transaction, a mines two with its own.
    tb = {"sender": "bob", "receiver": "carol", "amount": 3}
    ta = {"sender": "alice", "receiver": "dave", "amount": 4}
    shared = {"sender": "erin", "receiver": "frank", "amount": 5}
    b.post("/add_transaction", json=tb)
    b.post("/add_transaction", json=shared)
    b.get("/mine_block")
    a.post("/add_transaction", json=ta)
    a.post("/add_transaction", json=shared)
    a.get("/mine_block")
    a.get("/mine_block")
    pending = {"sender": "bob", "receiver": "x", "amount": 1}
    b.post("/add_transaction", json=pending)

    body = b.get("/replace_chain").json()
    assert "new_chain" in body
    # tb comes back (its block was abandoned), shared does not (a's chain has it),
    # pending stays, and the abandoned block's reward is gone for good.
    assert b.get("/mempool").json()["transactions"] == [tb, pending]
    b.get("/mine_block")
    assert "new_chain" in a.get("/replace_chain").json()
    for node in (a, b):
        keys = tx_keys_in(node)
        for tx in (ta, tb, shared, pending):
            assert keys[json.dumps(tx, sort_keys=True)] == 1, (node.url, tx)


def test_sigterm_stops_cleanly(spawn_node):
    node = spawn_node("--difficulty", "2", "--memory")
    assert node.stop() == 0
    assert "stopped" in node.log.read_text()


def test_mining_does_not_block_reads(spawn_node):
    node = spawn_node("--difficulty", "6", "--memory")  # a search of seconds
    result: dict = {}
    miner = threading.Thread(target=lambda: result.update(r=node.get("/mine_block", timeout=120)))
    miner.start()
    # Nothing outside the node shows that the search has begun; the search takes
    # seconds (nonce 3353945 after genesis), so a short head start is enough.
    time.sleep(0.3)
    assert node.get("/status").json()["length"] == 1
    assert node.get("/get_chain").json()["length"] == 1
    assert miner.is_alive(), "the reads were answered only after the block was mined"
    miner.join()
    assert result["r"].status_code == 200
    assert node.get("/status").json()["length"] == 2
