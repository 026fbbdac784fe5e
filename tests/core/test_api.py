"""The node's HTTP API through Flask's test client: the blog's contract and bad input."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from becoin_core.chain import block_hash
from becoin_core.config import NodeConfig
from becoin_core.node import create_app


@pytest.fixture
def app(tmp_path):
    return create_app(NodeConfig(name="t", data_dir=tmp_path / "data", difficulty=1))


@pytest.fixture
def client(app):
    return app.test_client()


TX = {"sender": "PublicKeya", "receiver": "PublicKeyb", "amount": 1000}


def test_genesis_chain(client):
    r = client.get("/get_chain")
    assert r.status_code == 200
    body = r.get_json()
    assert body["length"] == 1 and len(body["chain"]) == 1
    genesis = body["chain"][0]
    assert set(genesis) == {"index", "timestamp", "nonce", "previous_hash", "transactions"}
    assert (genesis["index"], genesis["nonce"], genesis["previous_hash"]) == (1, 1, "0")
    assert genesis["transactions"] == []


def test_mine_block_answers_the_blogs_keys_and_rewards_the_miner(client):
    r = client.get("/mine_block")
    assert r.status_code == 200
    body = r.get_json()
    assert body["message"] == "You just mined a block."
    assert set(body) == {"message", "index", "timestamp", "nonce", "previous_hash",
                         "transactions"}
    assert body["index"] == 2
    reward = body["transactions"][-1]
    address = client.get("/status").get_json()["address"]
    assert reward == {"sender": address, "receiver": "Receiver", "amount": 10}
    chain = client.get("/get_chain").get_json()["chain"]
    assert body["previous_hash"] == block_hash(chain[0])


def test_transaction_goes_into_the_next_block(client):
    r = client.post("/add_transaction", json=TX)
    assert r.status_code == 201
    assert r.get_json() == {"message": "This transaction will be added to block 2"}
    assert client.get("/mempool").get_json() == {"transactions": [TX]}
    block = client.get("/mine_block").get_json()
    assert block["transactions"][0] == TX
    assert client.get("/mempool").get_json() == {"transactions": []}
    r = client.post("/add_transaction", json=TX)
    assert r.get_json()["message"] == "This transaction will be added to block 3"


def test_connect_node_stores_netlocs(client):
    r = client.post("/connect_node", json={"nodes": ["http://127.0.0.1:5002",
                                                     "127.0.0.1:5003",
                                                     "http://127.0.0.1:5002/"]})
    assert r.status_code == 201
    body = r.get_json()
    assert body["message"].startswith("All the nodes are now connected.")
    assert body["total_nodes"] == ["127.0.0.1:5002", "127.0.0.1:5003"]


def test_replace_chain_without_peers_keeps_the_chain(client):
    body = client.get("/replace_chain").get_json()
    assert body["message"] == "The chain is the largest one."
    assert len(body["actual_chain"]) == 1
    assert "new_chain" not in body


def test_is_valid(client):
    client.get("/mine_block")
    body = client.get("/is_valid").get_json()
    assert body == {"message": "All good. The Blockchain is valid.", "valid": True}


def test_is_valid_reports_a_tampered_store(app, client):
    client.get("/mine_block")
    client.get("/mine_block")
    chain = app.extensions["becoin"].chain
    chain[1]["transactions"][0]["amount"] = 99
    body = client.get("/is_valid").get_json()
    assert body["valid"] is False
    assert body["message"] == "Houston, we have a problem. The Blockchain is not valid."
    assert "block 3" in body["problem"]


def test_status_and_openapi(client):
    status = client.get("/status").get_json()
    for key in ("name", "address", "length", "tip", "mempool", "peers", "difficulty",
                "rules", "sync", "version"):
        assert key in status
    assert status["length"] == 1 and status["difficulty"] == 1 and status["rules"] == "classic"
    spec = client.get("/openapi.json").get_json()
    assert set(spec["paths"]) >= {"/get_chain", "/mine_block", "/is_valid", "/add_transaction",
                                  "/connect_node", "/replace_chain", "/status", "/mempool"}


def test_incremental_get_chain(client):
    for _ in range(4):
        client.get("/mine_block")
    chain = client.get("/get_chain").get_json()["chain"]
    r = client.get("/get_chain?since=3").get_json()
    assert r["start"] == 4 and r["length"] == 5 and r["chain"] == chain[3:]
    r = client.get(f"/get_chain?locator={block_hash(chain[1])},{block_hash(chain[0])}").get_json()
    assert r["start"] == 3 and r["chain"] == chain[2:]
    r = client.get(f"/get_chain?locator={'0' * 64}").get_json()
    assert r["start"] == 1 and r["chain"] == chain
    r = client.get(f"/get_chain?locator={block_hash(chain[0])}&longer_than=5").get_json()
    assert r == {"chain": [], "length": 5, "start": 6}


BAD_TRANSACTIONS = [
    ({"sender": "a", "receiver": "b"}, "Some elements of the transaction are missing"),
    ([1, 2], "JSON object"),
    ("text", "JSON object"),
    ({"sender": "", "receiver": "b", "amount": 1}, "sender must be a non-empty string"),
    ({"sender": 5, "receiver": "b", "amount": 1}, "sender must be a non-empty string"),
    ({"sender": "a", "receiver": "b" * 300, "amount": 1}, "receiver must be at most"),
    ({"sender": "a", "receiver": "b", "amount": 0}, "amount must be"),
    ({"sender": "a", "receiver": "b", "amount": -3}, "amount must be"),
    ({"sender": "a", "receiver": "b", "amount": True}, "amount must be"),
    ({"sender": "a", "receiver": "b", "amount": "10"}, "amount must be"),
    ({"sender": "a", "receiver": "b", "amount": 10**20}, "amount must be"),
    ({"sender": "a", "receiver": "b", "amount": 1, "fee": 2}, "unknown keys"),
]


@pytest.mark.parametrize("body, words", BAD_TRANSACTIONS)
def test_bad_transactions(client, body, words):
    r = client.post("/add_transaction", json=body)
    assert r.status_code == 400
    assert words in r.get_json()["message"]
    assert client.get("/mempool").get_json()["transactions"] == []


@pytest.mark.parametrize("raw", [b"", b"{", b"NaN", b'{"amount": Infinity}', b"\xff\xfe"])
def test_bodies_that_are_not_json(client, raw):
    r = client.post("/add_transaction", data=raw, content_type="application/json")
    assert r.status_code == 400
    assert "message" in r.get_json()


def test_non_finite_amounts_are_refused(client):
    r = client.post("/add_transaction", data=b'{"sender":"a","receiver":"b","amount":1e999}',
                    content_type="application/json")
    assert r.status_code == 400 and "amount" in r.get_json()["message"]


def test_body_over_one_mebibyte(client):
    r = client.post("/add_transaction", data=b"x" * (1024 * 1024 + 1),
                    content_type="application/json")
    assert r.status_code == 413
    assert "over" in r.get_json()["message"]


@pytest.mark.parametrize("body, words", [
    ({}, "No node"),
    ({"nodes": None}, "No node"),
    ({"nodes": "http://127.0.0.1:5002"}, "list"),
    ({"nodes": []}, "list"),
    ({"nodes": ["ftp://127.0.0.1:5002"]}, "not a node address"),
    ({"nodes": ["http://127.0.0.1"]}, "not a node address"),
    ({"nodes": ["http://127.0.0.1:99999"]}, "not a node address"),
    ({"nodes": ["http://127.0.0.1:5002/get_chain"]}, "not a node address"),
    ({"nodes": [5002]}, "not a node address"),
    ({"nodes": [f"127.0.0.1:{p}" for p in range(6000, 6100)]}, "at most"),
])
def test_bad_connect_node(client, body, words):
    r = client.post("/connect_node", json=body)
    assert r.status_code == 400
    assert words in r.get_json()["message"]
    assert client.get("/status").get_json()["peers"] == []


def test_peer_count_is_capped(tmp_path):
    client = create_app(NodeConfig(data_dir=None, difficulty=1, max_peers=3)).test_client()
    assert client.post("/connect_node", json={"nodes": ["a:1", "b:2"]}).status_code == 201
    r = client.post("/connect_node", json={"nodes": ["c:3", "d:4"]})
    assert r.status_code == 400 and "at most 3 peers" in r.get_json()["message"]


@pytest.mark.parametrize("query", ["since=-1", "since=x", "longer_than=1.5",
                                   "locator=nothex", "locator=" + ",".join(["0" * 64] * 65),
                                   "since=1&locator=" + "0" * 64])
def test_bad_chain_queries(client, query):
    r = client.get("/get_chain?" + query)
    assert r.status_code == 400
    assert r.get_json()["message"]


def test_unknown_route_and_wrong_method_are_json(client):
    r = client.get("/nope")
    assert r.status_code == 404 and "openapi" in r.get_json()["message"]
    r = client.post("/mine_block")
    assert r.status_code == 405 and "GET" in r.get_json()["message"]


def test_state_survives_a_new_app_on_the_same_folder(tmp_path):
    config = NodeConfig(data_dir=tmp_path / "d", difficulty=1)
    first = create_app(config).test_client()
    first.get("/mine_block")
    first.post("/add_transaction", json=TX)
    first.post("/connect_node", json={"nodes": ["127.0.0.1:5999"]})
    before = first.get("/status").get_json()
    second = create_app(NodeConfig(data_dir=tmp_path / "d", difficulty=1)).test_client()
    after = second.get("/status").get_json()
    for key in ("address", "length", "tip", "mempool", "peers"):
        assert after[key] == before[key]
    assert second.get("/mempool").get_json()["transactions"] == [TX]


def test_in_memory_node_keeps_nothing(tmp_path):
    client = create_app(NodeConfig(data_dir=None, difficulty=1)).test_client()
    client.get("/mine_block")
    assert client.get("/status").get_json()["length"] == 2
    assert list(tmp_path.iterdir()) == []


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["sender", "receiver", "amount", "nodes", "x"]), inner, max_size=4),
    max_leaves=10,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                    HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(["/add_transaction", "/connect_node"]), body=json_values)
def test_no_json_body_gives_a_5xx(client, path, body):
    r = client.post(path, data=json.dumps(body), content_type="application/json")
    assert r.status_code < 500
    assert isinstance(r.get_json()["message"], str)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                    HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(["/get_chain", "/status", "/mempool", "/is_valid", "/nope"]),
       query=st.dictionaries(st.sampled_from(["since", "locator", "longer_than", "x"]),
                             st.text(max_size=80), max_size=3),
       method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]))
def test_no_request_gives_a_5xx(client, path, query, method):
    r = client.open(path, method=method, query_string=query)
    assert r.status_code < 500


def test_fixed_clock_and_address_make_hashes_reproducible():
    def run() -> list[dict]:
        config = NodeConfig(data_dir=None, difficulty=1, fixed_clock=True, address="ab" * 16)
        client = create_app(config).test_client()
        client.post("/add_transaction", json=TX)
        client.get("/mine_block")
        client.get("/mine_block")
        return client.get("/get_chain").get_json()["chain"]

    first, second = run(), run()
    assert first == second
    assert [b["timestamp"] for b in first] == ["2026-01-01 00:00:00.000001",
                                               "2026-01-01 00:00:01.000001",
                                               "2026-01-01 00:00:02.000001"]
    assert first[1]["transactions"][-1]["sender"] == "ab" * 16
