"""The blog's walkthrough, exactly as the post does it, against three real nodes."""

from __future__ import annotations

from becoin_core.chain import block_hash


def test_the_posts_walkthrough(spawn_node):
    nodes = [spawn_node("--difficulty", "4") for _ in range(3)]
    for node in nodes:
        body = node.get("/get_chain").json()
        assert body["length"] == 1

    # connect_node from each node to the other two
    for node in nodes:
        others = [n.url for n in nodes if n is not node]
        r = node.post("/connect_node", json={"nodes": others})
        assert r.status_code == 201
        assert sorted(r.json()["total_nodes"]) == sorted(n.netloc for n in nodes if n is not node)

    # mine on 5001, then replace_chain on 5002 and 5003
    mined = nodes[0].get("/mine_block")
    assert mined.status_code == 200 and mined.json()["index"] == 2
    for node in nodes[1:]:
        body = node.get("/replace_chain").json()
        assert body["message"] == ("The nodes had different chains, so the chain was "
                                   "replaced with the longest one.")
        assert len(body["new_chain"]) == 2
    chains = [n.get("/get_chain").json()["chain"] for n in nodes]
    assert chains[0] == chains[1] == chains[2]

    # send 1000 BeCoins from PublicKeya to PublicKeyb at 5001, mine, replace
    r = nodes[0].post("/add_transaction", json={"sender": "PublicKeya",
                                                "receiver": "PublicKeyb", "amount": 1000})
    assert r.status_code == 201
    assert r.json() == {"message": "This transaction will be added to block 3"}
    block = nodes[0].get("/mine_block").json()
    assert block["transactions"][0] == {"sender": "PublicKeya", "receiver": "PublicKeyb",
                                        "amount": 1000}
    for node in nodes[1:]:
        assert "new_chain" in node.get("/replace_chain").json()
    tips = {block_hash(n.get("/get_chain").json()["chain"][-1]) for n in nodes}
    assert len(tips) == 1
    for node in nodes:
        assert node.get("/is_valid").json()["message"] == "All good. The Blockchain is valid."
    # A second round changes nothing: the chain is the largest one everywhere.
    for node in nodes:
        assert node.get("/replace_chain").json()["message"] == "The chain is the largest one."
