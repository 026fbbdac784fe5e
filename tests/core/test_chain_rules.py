"""The blog's chain rules, and tampered chains that must fail them."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from becoin_core import chain as rules

D = 2


def mined_chain(length: int, difficulty: int = D) -> list[dict]:
    chain = [rules.genesis_block("2026-01-01 00:00:00.000000")]
    for i in range(2, length + 1):
        prev = chain[-1]
        nonce = rules.proof_of_work(prev["nonce"], difficulty)
        txs = [{"sender": "PublicKeya", "receiver": "PublicKeyb", "amount": i},
               rules.reward_transaction("a" * 32, "Receiver")]
        chain.append(rules.new_block(i, nonce, rules.block_hash(prev), txs, f"t{i}"))
    return chain


def test_block_hash_is_the_blogs_sorted_json_sha256():
    import hashlib
    import json

    block = rules.genesis_block("2026-01-01")
    expected = hashlib.sha256(json.dumps(block, sort_keys=True).encode()).hexdigest()
    assert rules.block_hash(block) == expected
    reordered = dict(reversed(list(block.items())))
    assert rules.block_hash(reordered) == expected


def test_proof_of_work_finds_the_smallest_nonce():
    nonce = rules.proof_of_work(1, 3)
    assert rules.valid_nonce(nonce, 1, 3)
    assert not any(rules.valid_nonce(n, 1, 3) for n in range(1, nonce))


def test_blog_difficulty_four_nonce_after_genesis():
    # Every node finds this same nonce for block 2: the puzzle sees only the previous nonce.
    nonce = rules.proof_of_work(1, 4)
    assert rules.puzzle_hash(nonce, 1).startswith("0000")
    assert nonce == rules.proof_of_work(1, 4)


def test_proof_of_work_can_be_stopped():
    assert rules.proof_of_work(1, 12, should_stop=lambda: True) is None


def test_a_mined_chain_is_valid():
    chain = mined_chain(6)
    assert rules.chain_problem(chain, D) is None
    assert rules.is_chain_valid(chain, D)


def test_changed_transaction_breaks_the_next_link():
    chain = mined_chain(5)
    chain[2]["transactions"][0]["amount"] = 1_000_000
    assert "does not link" in rules.chain_problem(chain, D)


def test_broken_link():
    chain = mined_chain(4)
    chain[3]["previous_hash"] = "f" * 64
    assert "block 4 does not link" in rules.chain_problem(chain, D)


def test_bad_nonce():
    chain = mined_chain(3)
    chain[2]["nonce"] += 1
    assert "nonce" in rules.chain_problem(chain, D)


@pytest.mark.parametrize("change", [
    {"nonce": 2}, {"previous_hash": "1"}, {"index": 0},
    {"transactions": [{"sender": "x", "receiver": "y", "amount": 1}]},
])
def test_wrong_genesis(change):
    chain = mined_chain(3)
    chain[0].update(change)
    assert rules.chain_problem(chain, D) is not None


@pytest.mark.parametrize("mutate, words", [
    (lambda c: c[1].pop("timestamp"), "wrong keys"),
    (lambda c: c[1].update(extra=1), "wrong keys"),
    (lambda c: c[1].update(index=7), "index"),
    (lambda c: c[1].update(nonce=True), "nonce"),
    (lambda c: c[1].update(nonce=2**70), "nonce"),
    (lambda c: c[1].update(transactions="none"), "transactions"),
    (lambda c: c.__setitem__(1, "block"), "not an object"),
])
def test_malformed_blocks(mutate, words):
    chain = mined_chain(3)
    mutate(chain)
    assert words in rules.chain_problem(chain, D)


@pytest.mark.parametrize("value", [None, [], {}, "chain"])
def test_not_a_chain(value):
    assert rules.chain_problem(value, D) is not None


def test_the_tip_can_be_rewritten_under_classic_rules():
    # The blog's weakness, kept on purpose: no work covers a block's contents.
    chain = mined_chain(3)
    chain[-1]["transactions"][0]["amount"] = 10**9
    assert rules.chain_problem(chain, D) is None


def test_difficulty_counts():
    chain = mined_chain(4, difficulty=1)
    pairs = zip(chain, chain[1:], strict=False)
    hard = [rules.valid_nonce(b["nonce"], a["nonce"], 3) for a, b in pairs]
    assert rules.chain_problem(chain, 1) is None
    assert (rules.chain_problem(chain, 3) is None) == all(hard)


def test_rewards_are_recognised_only_as_a_blocks_last_transaction():
    chain = mined_chain(3)
    users = rules.user_transactions(chain)
    assert [t["receiver"] for t in users] == ["PublicKeyb", "PublicKeyb"]
    fake = {"sender": "a" * 32, "receiver": "Receiver", "amount": 10}
    block = rules.new_block(2, 1, "x", [fake, {"sender": "s", "receiver": "r", "amount": 1}])
    assert rules.user_transactions([block]) == block["transactions"]


def test_fork_index():
    a = mined_chain(5)
    b = copy.deepcopy(a[:3]) + mined_chain(5)[3:]
    b[3] = dict(b[3], timestamp="other")
    assert rules.fork_index(a, a) == 5
    assert rules.fork_index(a, b) == 3
    assert rules.fork_index(a, mined_chain(2)) == 2  # a prefix of the same chain
    other = [rules.genesis_block("another node's start")]
    assert rules.fork_index(a, other) == 0


@given(st.floats(allow_nan=True, allow_infinity=True) | st.integers() | st.booleans()
       | st.text() | st.none())
def test_is_amount(value):
    expected = (not isinstance(value, bool) and isinstance(value, int | float)
                and value == value and value not in (float("inf"), float("-inf")) and value > 0)
    assert rules.is_amount(value) == expected


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=3), st.sampled_from(["index", "nonce",
       "previous_hash", "transactions", "timestamp"]), st.data())
def test_any_change_to_a_non_tip_block_is_caught(position, key, data):
    chain = mined_chain(5)
    block = chain[position]
    original = copy.deepcopy(block[key])
    new = data.draw({
        "index": st.integers(), "nonce": st.integers(min_value=1, max_value=2**40),
        "previous_hash": st.text(max_size=70), "timestamp": st.text(max_size=30),
        "transactions": st.lists(st.fixed_dictionaries(
            {"sender": st.text(max_size=5), "receiver": st.text(max_size=5),
             "amount": st.integers(1, 100)}), max_size=3),
    }[key])
    if new == original:
        return
    block[key] = new
    assert rules.chain_problem(chain, D) is not None
