"""The blog's chain rules: blocks, hashing, the nonce puzzle and validation.

Pure functions over plain dicts, so a chain from a peer (or from the blog's own
code) is checked exactly like our own. Nothing here does I/O or holds a lock.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
from collections.abc import Callable, Iterable
from typing import Any

Block = dict[str, Any]
Transaction = dict[str, Any]

BLOCK_KEYS = frozenset({"index", "timestamp", "nonce", "previous_hash", "transactions"})
TRANSACTION_KEYS = ("sender", "receiver", "amount")
GENESIS_NONCE = 1
GENESIS_PREVIOUS_HASH = "0"
REWARD = 10
DEFAULT_DIFFICULTY = 4
# A nonce beyond this is never found by an honest search and would make the
# puzzle's squaring expensive: refuse it rather than compute it.
MAX_NONCE = 2**63


def now() -> str:
    """The blog's timestamp: str(datetime.datetime.now())."""
    return str(datetime.datetime.now())


def block_hash(block: Block) -> str:
    """sha256 of the block's JSON with sorted keys, exactly as the blog hashes it."""
    return hashlib.sha256(json.dumps(block, sort_keys=True).encode()).hexdigest()


def puzzle_hash(nonce: int, previous_nonce: int) -> str:
    return hashlib.sha256(str(nonce**2 - previous_nonce**2).encode()).hexdigest()


def valid_nonce(nonce: int, previous_nonce: int, difficulty: int) -> bool:
    return puzzle_hash(nonce, previous_nonce).startswith("0" * difficulty)


def proof_of_work(
    previous_nonce: int,
    difficulty: int = DEFAULT_DIFFICULTY,
    should_stop: Callable[[], bool] | None = None,
) -> int | None:
    """The smallest nonce from 1 up that solves the blog's puzzle.

    `should_stop` is polled now and then so a shutting-down node can give up;
    the search then answers None.
    """
    prefix = "0" * difficulty
    nonce = 1
    while True:
        if hashlib.sha256(str(nonce**2 - previous_nonce**2).encode()).hexdigest().startswith(
            prefix
        ):
            return nonce
        nonce += 1
        if should_stop is not None and nonce % 4096 == 0 and should_stop():
            return None


def genesis_block(timestamp: str | None = None) -> Block:
    return new_block(1, GENESIS_NONCE, GENESIS_PREVIOUS_HASH, [], timestamp)


def new_block(
    index: int,
    nonce: int,
    previous_hash: str,
    transactions: list[Transaction],
    timestamp: str | None = None,
) -> Block:
    # Key order as the blog's create_block writes it; hashing sorts keys anyway.
    return {
        "index": index,
        "timestamp": timestamp if timestamp is not None else now(),
        "nonce": nonce,
        "previous_hash": previous_hash,
        "transactions": transactions,
    }


def reward_transaction(node_address: str, miner: str) -> Transaction:
    return {"sender": node_address, "receiver": miner, "amount": REWARD}


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_amount(value: Any) -> bool:
    """A finite number > 0; booleans are not numbers."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and value > 0


def block_problem(block: Any, expected_index: int) -> str | None:
    """Why this block's shape is wrong, or None. Content rules are the caller's."""
    if not isinstance(block, dict):
        return f"block {expected_index} is not an object"
    keys = set(block)
    if keys != BLOCK_KEYS:
        missing = sorted(BLOCK_KEYS - keys)
        extra = sorted(keys - BLOCK_KEYS)
        return f"block {expected_index} has the wrong keys (missing {missing}, extra {extra})"
    if not is_int(block["index"]) or block["index"] != expected_index:
        return f"block {expected_index} has index {block['index']!r}"
    if not is_int(block["nonce"]) or not 0 < block["nonce"] <= MAX_NONCE:
        return f"block {expected_index} has an impossible nonce"
    if not isinstance(block["timestamp"], str) or not isinstance(block["previous_hash"], str):
        return f"block {expected_index} has a timestamp or previous_hash that is not text"
    txs = block["transactions"]
    if not isinstance(txs, list) or not all(isinstance(t, dict) for t in txs):
        return f"block {expected_index} has transactions that are not a list of objects"
    return None


def genesis_problem(block: Any) -> str | None:
    """Why this is not a genesis block (the same under both rules), or None.
    Its timestamp is free: every node that starts alone makes its own."""
    problem = block_problem(block, 1)
    if problem:
        return problem
    if block["nonce"] != GENESIS_NONCE or block["previous_hash"] != GENESIS_PREVIOUS_HASH:
        return "the genesis block must have nonce 1 and previous_hash '0'"
    if block["transactions"]:
        return "the genesis block must have no transactions"
    return None


def chain_problem(chain: Any, difficulty: int = DEFAULT_DIFFICULTY, start: int = 0) -> str | None:
    """Why `chain` is not a valid classic chain, or None when it is.

    The blog's is_chain_valid (links and nonces), plus what it takes for granted:
    shapes, consecutive indexes and a proper genesis. `start` skips blocks
    already known to be valid (their links are still checked from there on).
    """
    if not isinstance(chain, list) or not chain:
        return "the chain is empty or not a list"
    problem = genesis_problem(chain[0])
    if problem:
        return problem
    previous = chain[max(start, 1) - 1]
    for position in range(max(start, 1), len(chain)):
        block = chain[position]
        problem = block_problem(block, position + 1)
        if problem:
            return problem
        if block["previous_hash"] != block_hash(previous):
            return f"block {position + 1} does not link to block {position}: previous_hash differs"
        if not valid_nonce(block["nonce"], previous["nonce"], difficulty):
            return f"block {position + 1} has a nonce that does not solve the puzzle"
        previous = block
    return None


def is_chain_valid(chain: Any, difficulty: int = DEFAULT_DIFFICULTY) -> bool:
    return chain_problem(chain, difficulty) is None


def tx_key(tx: Transaction) -> str:
    """A transaction's identity for mempool bookkeeping: its canonical JSON.

    The blog's transactions carry no id, so two equal transactions are two
    transactions: callers count keys (a multiset), they don't dedupe them.
    """
    return json.dumps(tx, sort_keys=True)


def is_reward(tx: Transaction, block: Block) -> bool:
    """The reward a miner pays itself: the last transaction of a mined block,
    from a node's uuid4-hex address, of exactly the reward amount."""
    if block["index"] == 1 or not block["transactions"] or block["transactions"][-1] is not tx:
        return False
    sender = tx.get("sender")
    return (
        tx.get("amount") == REWARD
        and isinstance(sender, str)
        and len(sender) == 32
        and all(c in "0123456789abcdef" for c in sender)
    )


def user_transactions(blocks: Iterable[Block]) -> list[Transaction]:
    """Every transaction of these blocks but the miners' rewards."""
    return [tx for b in blocks for tx in b["transactions"] if not is_reward(tx, b)]


def fork_index(ours: list[Block], theirs: list[Block]) -> int:
    """How many leading blocks the two chains share (compared by hash)."""
    n = 0
    for a, b in zip(ours, theirs, strict=False):
        if a is not b and block_hash(a) != block_hash(b):
            break
        n += 1
    return n
