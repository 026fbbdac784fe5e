"""diff on constructed chains, balances, and the incremental chain tracker."""

from __future__ import annotations

from becoin_core.chain import block_hash
from becoin_lab.balances import balances
from becoin_lab.client import ChainPage, NodeStatus
from becoin_lab.diff import common_prefix, diff_chains
from becoin_lab.tracker import ChainTracker


def chain(*labels: str) -> list[str]:
    return list(labels)


def test_equal_chains_are_in_consensus():
    d = diff_chains({"a": chain("g", "b2"), "b": chain("g", "b2"), "c": chain("g", "b2")})
    assert d.consensus and d.complete
    assert d.groups == [["a", "b", "c"]]
    assert d.common_prefix == 2
    assert d.fork_point is None
    assert d.label("c") == "A"


def test_one_node_ahead_is_behind_not_forked():
    d = diff_chains({"a": chain("g", "b2", "b3"), "b": chain("g", "b2"), "c": chain("g", "b2")})
    assert not d.consensus
    assert d.groups == [["a"], ["b", "c"]]
    assert d.common_prefix == 2
    assert d.fork_point is None and not d.forked
    assert d.longest == ["a"]
    assert d.agree("b", "c") and not d.agree("a", "b")


def test_forked_chains_give_the_fork_point():
    d = diff_chains(
        {"a": chain("g", "b2", "b3", "b4"), "b": chain("g", "b2", "x3"), "c": chain("g", "b2")}
    )
    assert d.fork_point == 3
    assert d.common_prefix == 2
    assert [g[0] for g in d.groups] == ["a", "b", "c"]  # longest chain first
    assert d.label("a") == "A" and d.label("b") == "B" and d.label("c") == "C"


def test_different_genesis_forks_at_block_one():
    d = diff_chains({"a": chain("g1"), "b": chain("g2")})
    assert d.fork_point == 1 and d.common_prefix == 0 and len(d.groups) == 2


def test_down_nodes_take_no_part():
    d = diff_chains({"a": chain("g", "b2"), "b": None, "c": chain("g", "b2")})
    assert d.consensus and not d.complete
    assert d.down == ["b"]
    assert d.label("b") == "-" and d.group_of("b") is None
    nobody = diff_chains({"a": None, "b": None})
    assert not nobody.consensus and nobody.groups == []


def test_common_prefix():
    assert common_prefix(["g", "1", "2"], ["g", "1", "x"]) == 2
    assert common_prefix([], ["g"]) == 0


def block(index: int, txs: list[dict], prev: str = "p") -> dict:
    return {"index": index, "timestamp": f"t{index}", "nonce": index, "previous_hash": prev,
            "transactions": txs}  # fmt: skip


def reward(miner: str = "Receiver") -> dict:
    return {"sender": "ab" * 16, "receiver": miner, "amount": 10}


def test_balances_mint_rewards_and_move_transfers():
    blocks = [
        block(1, []),
        block(2, [reward()]),
        block(3, [{"sender": "PublicKeya", "receiver": "PublicKeyb", "amount": 1000}, reward()]),
        block(4, [{"sender": "PublicKeyb", "receiver": "c", "amount": 2.5}, reward("m")]),
    ]
    assert balances(blocks) == {
        "Receiver": 20,
        "PublicKeyb": 997.5,
        "PublicKeya": -1000,
        "c": 2.5,
        "m": 10,
    }


def test_balances_ignore_unreadable_amounts():
    blocks = [block(2, [{"sender": "a", "receiver": "b", "amount": "lots"}, reward()])]
    assert balances(blocks) == {"Receiver": 10}


class FakeNode:
    """A node's chain behind the two calls the tracker makes; counts blocks sent."""

    def __init__(self, blocks: list[dict]) -> None:
        self.blocks = blocks
        self.sent = 0

    def linked(self, n: int, tag: str = "", start: int = 1) -> None:
        """Grow to n blocks, new blocks from index ``start`` tagged ``tag`` (a fork)."""
        del self.blocks[start - 1 :]
        while len(self.blocks) < n:
            prev = block_hash(self.blocks[-1]) if self.blocks else "0"
            i = len(self.blocks) + 1
            self.blocks.append(block(i, [{"sender": tag, "receiver": "r", "amount": i}], prev))

    def status(self) -> NodeStatus:
        return NodeStatus("n", "u", len(self.blocks), block_hash(self.blocks[-1]), 0, [])

    def get_chain(self, since: int | None = None) -> ChainPage:
        part = self.blocks if since is None else self.blocks[since:]
        self.sent += len(part)
        return ChainPage(list(part), len(self.blocks), 1 if since is None else since + 1)


def check_copy(tracker: ChainTracker, node: FakeNode) -> None:
    assert tracker.blocks == node.blocks
    assert tracker.hashes == [block_hash(b) for b in node.blocks]


def test_tracker_fetches_only_new_blocks():
    node = FakeNode([])
    node.linked(5000)
    tracker = ChainTracker()
    assert tracker.refresh(node) == 5000  # first look: everything
    node.sent = 0
    assert tracker.refresh(node) == 0  # nothing new: no chain request at all
    assert node.sent == 0
    node.linked(5001)
    assert tracker.refresh(node) == 1  # one new block: one block fetched
    assert node.sent == 1
    check_copy(tracker, node)


def test_tracker_follows_a_reorg():
    node = FakeNode([])
    node.linked(50)
    tracker = ChainTracker()
    tracker.refresh(node)
    node.linked(53, tag="fork", start=48)  # blocks 48.. replaced by a longer fork
    node.sent = 0
    tracker.refresh(node)
    check_copy(tracker, node)
    assert node.sent < 20  # stepped back a few blocks, not the whole chain
    node.linked(40, tag="short", start=40)  # a shorter chain, differing from block 40
    tracker.refresh(node)
    check_copy(tracker, node)
    node.blocks[:] = []
    node.linked(3, tag="other-genesis")  # an entirely different chain
    tracker.refresh(node)
    check_copy(tracker, node)
