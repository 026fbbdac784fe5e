"""A becoin-node and the blog's own node are peers of each other, both ways."""

from __future__ import annotations


def test_each_adopts_the_others_longer_chain(spawn_node):
    ours = spawn_node("--difficulty", "4")
    blog = spawn_node(blog=True)
    assert ours.post("/connect_node", json={"nodes": [blog.url]}).status_code == 201
    assert blog.post("/connect_node", json={"nodes": [ours.url]}).status_code == 201

    ours.get("/mine_block")
    ours.post("/add_transaction", json={"sender": "PublicKeya", "receiver": "PublicKeyb",
                                        "amount": 1000})
    ours.get("/mine_block")
    body = blog.get("/replace_chain").json()
    assert "new_chain" in body, body
    assert blog.get("/get_chain").json()["chain"] == ours.get("/get_chain").json()["chain"]
    assert blog.get("/is_valid").json()["message"] == "All good. The Blockchain is valid."

    blog.get("/mine_block")
    blog.get("/mine_block")
    body = ours.get("/replace_chain").json()
    assert "new_chain" in body, body
    # The blog's node ignores our incremental query and answers its whole chain.
    assert ours.get("/get_chain").json()["chain"] == blog.get("/get_chain").json()["chain"]
    assert ours.get("/get_chain").json()["length"] == 5
    assert ours.get("/is_valid").json()["valid"] is True
