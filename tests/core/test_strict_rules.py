"""Strict rules: signatures, sequences, balances, one reward, proof of work over the contents.

Every chain here is deterministic (keys from fixed seeds, fixed timestamps, the
smallest nonce), so a test that expects "does not meet difficulty" cannot pass or
fail by luck from one run to the next.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from becoin_core import chain as classic
from becoin_core import strict
from becoin_core.strict import Ledger, header_hash, reward_transaction

D = 2
GENESIS = classic.genesis_block("2026-01-01 00:00:00.000000")


def wallet(name: str) -> tuple[str, str]:
    private = hashlib.sha256(name.encode()).hexdigest()
    return private, strict.public_key_of(private)


ALICE, ALICE_PUB = wallet("alice")
BOB, BOB_PUB = wallet("bob")
CAROL, CAROL_PUB = wallet("carol")
MINER, MINER_PUB = wallet("miner")
FORGER, FORGER_PUB = wallet("forger")


def pay(private: str, receiver: str, amount: int, sequence: int) -> dict:
    return strict.sign_transaction(private, receiver, amount, sequence)


def next_block(chain: list[dict], txs: list[dict], miner: str = MINER_PUB,
               difficulty: int = D, reward: bool = True, **changes) -> dict:
    """A properly mined block on `chain`; `changes` override the mine() arguments
    (previous_hash, index, ...) so that only the rule under test is broken."""
    index = changes.pop("index", chain[-1]["index"] + 1)
    txs = list(txs) + ([reward_transaction(miner, index)] if reward else [])
    args = {"index": index, "timestamp": f"2026-01-01 00:00:{index:02d}.000000",
            "previous_hash": header_hash(chain[-1]), "transactions": txs,
            "difficulty": difficulty}
    args.update(changes)
    return strict.mine(**args)


@functools.cache
def _funded(difficulty: int = D) -> list[dict]:
    """Genesis; alice mines blocks 2 and 3 (20 coins); block 4: alice pays bob 5."""
    chain = [GENESIS]
    chain.append(next_block(chain, [], ALICE_PUB, difficulty))
    chain.append(next_block(chain, [], ALICE_PUB, difficulty))
    chain.append(next_block(chain, [pay(ALICE, BOB_PUB, 5, 1)], difficulty=difficulty))
    return chain


def funded(difficulty: int = D) -> list[dict]:
    return copy.deepcopy(_funded(difficulty))


def problem_with(txs: list[dict], **kwargs) -> str | None:
    """The problem of the funded chain plus one block carrying `txs`."""
    chain = funded()
    chain.append(next_block(chain, txs, **kwargs))
    return strict.strict_chain_problem(chain, D)


# -- wallets and signatures --------------------------------------------------------------


def test_wallets_and_signed_transactions():
    private, public = strict.new_wallet()
    assert len(private) == len(public) == 64
    assert strict.public_key_of(private) == public
    assert strict.new_wallet()[0] != private
    tx = pay(private, BOB_PUB, 7, 1)
    assert set(tx) == {"sender", "receiver", "amount", "sequence", "signature"}
    assert tx["sender"] == public and len(tx["signature"]) == 128
    assert strict.transaction_problem(tx) is None
    assert json.loads(strict.signing_message(tx)) == {
        "sender": public, "receiver": BOB_PUB, "amount": 7, "sequence": 1}
    # A round trip through JSON (the wire) keeps it valid.
    assert strict.transaction_problem(json.loads(json.dumps(tx))) is None


@pytest.mark.parametrize("bad", ["", "zz" * 32, "ab" * 31, "ab" * 33])
def test_a_malformed_private_key_is_refused(bad):
    with pytest.raises(ValueError, match="64 hex"):
        strict.public_key_of(bad)


def _signed() -> dict:
    return pay(ALICE, BOB_PUB, 5, 1)


@pytest.mark.parametrize("mutate, words", [
    (lambda t: t.update(amount=500), "bad signature"),            # tampered after signing
    (lambda t: t.update(receiver=FORGER_PUB), "bad signature"),
    (lambda t: t.update(sequence=2), "bad signature"),
    (lambda t: t.update(sender=CAROL_PUB), "bad signature"),      # wrong signer
    (lambda t: t.update(signature=pay(CAROL, BOB_PUB, 5, 1)["signature"]), "bad signature"),
    (lambda t: t.update(signature="0" * 128), "bad signature"),
    (lambda t: t.update(signature=t["signature"].upper()), "128 lowercase hex"),
    (lambda t: t.update(signature=t["signature"][:-2]), "128 lowercase hex"),
    (lambda t: t.update(signature=None), "128 lowercase hex"),
    (lambda t: t.pop("signature"), "wrong keys (missing ['signature']"),
    (lambda t: t.pop("sequence"), "wrong keys (missing ['sequence']"),
    (lambda t: t.update(fee=1), "extra ['fee']"),
    (lambda t: t.update(amount=5.0), "whole numbers"),
    (lambda t: t.update(amount=True), "whole numbers"),
    (lambda t: t.update(amount=0), "whole numbers"),
    (lambda t: t.update(amount=-5), "whole numbers"),
    (lambda t: t.update(amount=10**15 + 1), "whole numbers"),
    (lambda t: t.update(amount="5"), "whole numbers"),
    (lambda t: t.update(sequence=0), "sequences are whole numbers"),
    (lambda t: t.update(sequence=1.0), "sequences are whole numbers"),
    (lambda t: t.update(sender="PublicKeya"), "sender that is not a public key"),
    (lambda t: t.update(receiver=BOB_PUB.upper()), "receiver that is not a public key"),
    (lambda t: t.update(receiver=strict.COINBASE), "receiver that is not a public key"),
    (lambda t: t.update(sender=strict.COINBASE), "is a reward"),
])
def test_transaction_problems(mutate, words):
    tx = _signed()
    mutate(tx)
    problem = strict.transaction_problem(tx)
    assert problem is not None and words in problem


@pytest.mark.parametrize("value", [None, [], "tx", 5])
def test_a_transaction_must_be_an_object(value):
    assert strict.transaction_problem(value) == "is not an object"


def test_verify_false_skips_only_the_signature():
    tx = _signed()
    tx["amount"] = 6
    assert strict.transaction_problem(tx, verify=False) is None
    tx["amount"] = 6.5
    assert "whole numbers" in strict.transaction_problem(tx, verify=False)


# -- the ledger: sequences and balances -------------------------------------------------


def test_ledger_from_a_chain():
    ledger = Ledger.from_chain(funded())
    assert ledger.balances == {ALICE_PUB: 15, BOB_PUB: 5, MINER_PUB: 10}
    assert ledger.next_sequence(ALICE_PUB) == 2
    assert ledger.next_sequence(BOB_PUB) == 1
    assert ledger.balance(CAROL_PUB) == 0
    assert strict.balances(funded()) == ledger.balances


def test_ledger_check_and_apply():
    ledger = Ledger.from_chain(funded())
    tx = pay(ALICE, CAROL_PUB, 15, 2)
    assert ledger.check(tx) is None
    ledger.apply(tx)
    assert ledger.balance(ALICE_PUB) == 0 and ledger.balance(CAROL_PUB) == 15
    assert ledger.next_sequence(ALICE_PUB) == 3


def test_a_replay_is_refused():
    ledger = Ledger.from_chain(funded())
    tx = pay(ALICE, CAROL_PUB, 1, 2)
    ledger.apply(tx)
    assert ledger.check(tx) == (f"replays sequence 2 of sender {ALICE_PUB[:8]}: "
                                "it is already used (the next is 3)")
    # The chain's own transaction, sent again:
    assert "replays sequence 1" in ledger.check(funded()[3]["transactions"][0])


def test_a_gap_in_sequence_is_refused():
    ledger = Ledger.from_chain(funded())
    problem = ledger.check(pay(ALICE, CAROL_PUB, 1, 3))
    assert problem == f"skips ahead: sender {ALICE_PUB[:8]}'s next sequence is 2, not 3"


def test_overspending_is_refused():
    ledger = Ledger.from_chain(funded())
    assert ledger.check(pay(BOB, CAROL_PUB, 6, 1)) == (
        f"overspends: sender {BOB_PUB[:8]} has 5, spends 6")
    assert ledger.check(pay(CAROL, BOB_PUB, 1, 1)) == (
        f"overspends: sender {CAROL_PUB[:8]} has 0, spends 1")
    assert ledger.check(pay(BOB, CAROL_PUB, 5, 1)) is None  # all of it is fine


def test_the_mempool_counts_toward_what_a_sender_has():
    chain_ledger = Ledger.from_chain(funded())
    mempool = [pay(ALICE, BOB_PUB, 10, 2)]
    pending = chain_ledger.copy()
    accepted, refused = pending.admit(mempool)
    assert accepted == mempool and refused == []
    second = pay(ALICE, CAROL_PUB, 10, 3)        # fine against the chain alone ...
    assert chain_ledger.check(pay(ALICE, CAROL_PUB, 10, 2)) is None
    assert pending.check(second) == (            # ... but the mempool spent 10 of 15
        f"overspends: sender {ALICE_PUB[:8]} has 5, spends 10")
    assert chain_ledger.balance(ALICE_PUB) == 15  # the copy left the original alone
    # Coins received in the mempool can be spent in the mempool.
    assert pending.check(pay(BOB, CAROL_PUB, 15, 1)) is None


def test_admit_sorts_a_mempool_after_the_chain_changed():
    ledger = Ledger.from_chain(funded())
    txs = [pay(ALICE, BOB_PUB, 1, 1), pay(ALICE, BOB_PUB, 1, 2), {"sender": "x"},
           pay(ALICE, BOB_PUB, 100, 3), pay(ALICE, BOB_PUB, 1, 3)]
    accepted, refused = ledger.admit(txs)
    assert accepted == [txs[1], txs[4]]
    assert [p.split(":")[0].split(" ")[0] for _, p in refused] == [
        "replays", "has", "overspends"]


def test_a_reward_is_never_a_mempool_transaction():
    ledger = Ledger.from_chain(funded())
    assert "is a reward" in ledger.check(reward_transaction(MINER_PUB, 5))


# -- blocks and chains -------------------------------------------------------------------


def test_a_funded_chain_is_valid():
    chain = funded()
    assert strict.strict_chain_problem(chain, D) is None
    problem, ledger = strict.validate_chain(chain, D)
    assert problem is None and ledger == Ledger.from_chain(chain)
    assert strict.strict_chain_problem([GENESIS], D) is None
    # The wire: JSON round trip.
    assert strict.strict_chain_problem(json.loads(json.dumps(chain)), D) is None


def test_blocks_keep_the_blogs_five_keys():
    block = funded()[3]
    assert set(block) == classic.BLOCK_KEYS
    assert block["previous_hash"] == header_hash(funded()[2])
    assert header_hash(block).startswith("0" * D)


def test_valid_spending_in_a_block():
    txs = [pay(ALICE, CAROL_PUB, 15, 2), pay(CAROL, BOB_PUB, 15, 1), pay(BOB, ALICE_PUB, 20, 1)]
    assert problem_with(txs) is None


def test_bad_signature_in_a_block():
    tx = pay(ALICE, BOB_PUB, 5, 2)
    tx["amount"] = 15
    assert problem_with([tx]) == (
        "block 5: transaction 1 has a bad signature: the sender's key did not sign it, "
        "or it was changed after signing")


def test_replay_in_a_later_block():
    replayed = funded()[3]["transactions"][0]
    assert problem_with([replayed]).startswith("block 5: transaction 1 replays sequence 1")


def test_replay_in_the_same_block():
    tx = pay(ALICE, BOB_PUB, 1, 2)
    assert problem_with([tx, tx]).startswith("block 5: transaction 2 replays sequence 2")


def test_gap_in_a_block():
    assert problem_with([pay(ALICE, BOB_PUB, 1, 3)]).startswith(
        "block 5: transaction 1 skips ahead")


def test_overspend_in_a_block():
    assert problem_with([pay(BOB, CAROL_PUB, 8, 1)]) == (
        f"block 5: transaction 1 overspends: sender {BOB_PUB[:8]} has 5, spends 8")


def test_overspend_counting_earlier_transactions_of_the_block():
    txs = [pay(ALICE, BOB_PUB, 10, 2), pay(ALICE, CAROL_PUB, 10, 3)]
    assert problem_with(txs) == (
        f"block 5: transaction 2 overspends: sender {ALICE_PUB[:8]} has 5, spends 10")


def test_a_miner_cannot_spend_the_reward_of_its_own_block():
    assert problem_with([pay(MINER, BOB_PUB, 15, 1)]).startswith(
        "block 5: transaction 1 overspends")


@pytest.mark.parametrize("txs, kwargs, expected", [
    ([reward_transaction(MINER_PUB, 5)], {}, "block 5: has 2 rewards (transactions 1, 2)"),
    ([reward_transaction(FORGER_PUB, 5)], {}, "block 5: has 2 rewards"),
    ([], {"reward": False}, "block 5: has no reward"),
    ([pay(ALICE, BOB_PUB, 1, 2)], {"reward": False}, "block 5: has no reward"),
    ([reward_transaction(MINER_PUB, 5), pay(ALICE, BOB_PUB, 1, 2)], {"reward": False},
     "block 5: transaction 1 is the reward but not the last transaction"),
    ([dict(reward_transaction(MINER_PUB, 5), amount=11)], {"reward": False},
     "block 5: the reward pays 11; the reward is exactly 10"),
    ([dict(reward_transaction(MINER_PUB, 5), amount=10.0)], {"reward": False},
     "block 5: the reward pays 10.0"),
    ([dict(reward_transaction(MINER_PUB, 5), sequence=4)], {"reward": False},
     "block 5: the reward's sequence is 4; it must be the block's index, 5"),
    ([dict(reward_transaction(MINER_PUB, 5), signature="00" * 64)], {"reward": False},
     "block 5: the reward has the wrong keys (missing [], extra ['signature'])"),
    ([reward_transaction("Receiver", 5)], {"reward": False},
     "block 5: the reward's receiver is not a public key"),
])
def test_exactly_one_reward_of_the_fixed_amount_last(txs, kwargs, expected):
    problem = problem_with(txs, **kwargs)
    assert problem is not None and problem.startswith(expected), problem


def test_bad_link():
    assert problem_with([], previous_hash="f" * 64) == (
        "block 5: previous_hash does not link to block 4 (it must be that block's header hash)")


def test_a_classic_link_is_not_a_strict_link():
    assert "does not link" in problem_with([], previous_hash=classic.block_hash(funded()[3]))


def test_bad_proof_of_work():
    chain = funded()
    chain.append(next_block(chain, []))
    chain[-1]["nonce"] += 1
    problem = strict.strict_chain_problem(chain, D)
    assert problem.startswith("block 5: header hash ")
    assert problem.endswith(
        "does not meet difficulty 2 (proof of work does not cover the changed contents)")


def test_the_difficulty_counts():
    chain = funded(difficulty=1)
    assert strict.strict_chain_problem(chain, 1) is None
    hard = all(header_hash(b).startswith("000") for b in chain[1:])
    assert (strict.strict_chain_problem(chain, 3) is None) == hard
    assert strict.strict_chain_problem(funded(3), 3) is None


@pytest.mark.parametrize("change", [
    {"nonce": 2}, {"previous_hash": "1"}, {"index": 2},
    {"transactions": [reward_transaction(MINER_PUB, 1)]},
])
def test_wrong_genesis(change):
    chain = funded()
    chain[0] = dict(chain[0], **change)
    assert strict.strict_chain_problem(chain, D) is not None


def test_genesis_timestamp_is_free_but_covered_by_the_next_link():
    assert strict.genesis_problem(classic.genesis_block("any time")) is None
    chain = funded()
    chain[0]["timestamp"] = "another start"
    assert strict.strict_chain_problem(chain, D).startswith("block 2: previous_hash does not link")


@pytest.mark.parametrize("value", [None, [], {}, "chain", [None]])
def test_not_a_chain(value):
    assert strict.strict_chain_problem(value, D) is not None


@pytest.mark.parametrize("mutate, words", [
    (lambda c: c[2].pop("timestamp"), "block 3 has the wrong keys"),
    (lambda c: c[2].update(index=7), "block 3 has index 7"),
    (lambda c: c[2].update(nonce=0), "block 3 has an impossible nonce"),
    (lambda c: c[2].update(transactions=[1]), "block 3 has transactions that are not"),
    (lambda c: c.__setitem__(2, "block"), "block 3 is not an object"),
])
def test_malformed_blocks(mutate, words):
    chain = funded()
    mutate(chain)
    assert strict.strict_chain_problem(chain, D).startswith(words)


# -- forgery -----------------------------------------------------------------------------


def forge_reward(chain: list[dict]) -> list[dict]:
    """The forger's attack: block 2's reward now pays the forger, hashes re-linked,
    no work redone for that history, one honestly mined block on top."""
    forged = copy.deepcopy(chain)
    forged[1]["transactions"][-1]["receiver"] = FORGER_PUB
    forged = strict.relink(forged)
    forged.append(next_block(forged, [], FORGER_PUB))
    return forged


def test_forged_history_is_refused():
    chain = funded()
    forged = forge_reward(chain)
    assert len(forged) > len(chain)
    assert strict.chain_work(forged, D) > strict.chain_work(chain, D)  # if it were valid
    problem = strict.strict_chain_problem(forged, D)
    assert problem.startswith("block 2: header hash ")
    assert "does not meet difficulty 2" in problem
    assert Ledger.from_chain(forged).balance(FORGER_PUB) == 20  # what it was after


def test_relink_alone_does_not_help_the_forger_and_leaves_the_input_alone():
    chain = funded()
    before = copy.deepcopy(chain)
    assert strict.relink(chain) == chain  # an honest chain is already linked
    forged = copy.deepcopy(chain)
    forged[3]["transactions"][0]["receiver"] = FORGER_PUB
    relinked = strict.relink(forged)
    assert chain == before
    assert relinked[3]["previous_hash"] == chain[3]["previous_hash"]
    assert strict.strict_chain_problem(relinked, D).startswith("block 4: header hash")


def test_a_forger_who_redoes_all_the_work_still_cannot_change_a_signed_transaction():
    chain = funded()
    forged = chain[:3]
    tx = dict(chain[3]["transactions"][0], receiver=FORGER_PUB)
    forged.append(next_block(forged, [tx]))
    forged.append(next_block(forged, []))
    assert strict.strict_chain_problem(forged, D).startswith(
        "block 4: transaction 1 has a bad signature")


def test_the_same_forgery_wins_under_classic_rules():
    chain = [classic.genesis_block("2026-01-01 00:00:00.000000")]
    for i in range(2, 5):
        nonce = classic.proof_of_work(chain[-1]["nonce"], D)
        txs = [classic.reward_transaction("a" * 32, "Receiver")]
        chain.append(classic.new_block(i, nonce, classic.block_hash(chain[-1]), txs, f"t{i}"))
    chain[1]["transactions"][-1]["receiver"] = "Forger"
    for i in range(2, len(chain)):
        chain[i]["previous_hash"] = classic.block_hash(chain[i - 1])
    assert classic.chain_problem(chain, D) is None


# -- partial validation and single blocks ----------------------------------------------


def test_start_skips_known_blocks_but_counts_their_coins():
    chain = funded()
    chain.append(next_block(chain, [pay(ALICE, CAROL_PUB, 15, 2)]))
    assert strict.strict_chain_problem(chain, D, start=4) is None
    problem, ledger = strict.validate_chain(chain, D, start=4)
    assert ledger == Ledger.from_chain(chain)
    overspend = chain[:4] + [next_block(chain[:4], [pay(ALICE, CAROL_PUB, 16, 2)])]
    assert "overspends" in strict.strict_chain_problem(overspend, D, start=4)
    # A tampered block before `start` is taken as known; its link to `start` is not.
    chain[1]["timestamp"] = "tampered"
    assert strict.strict_chain_problem(chain, D, start=4) is None
    assert strict.strict_chain_problem(chain, D, start=2).startswith(
        "block 3: previous_hash does not link to block 2")
    assert strict.strict_chain_problem(chain, D, start=1).startswith("block 2: header hash")
    assert strict.strict_chain_problem(chain, D, start=99) is None


def test_strict_block_problem_is_all_or_nothing():
    chain = funded()
    ledger = Ledger.from_chain(chain)
    before = ledger.copy()
    bad = next_block(chain, [pay(ALICE, CAROL_PUB, 5, 2), pay(CAROL, BOB_PUB, 9, 1)])
    assert strict.strict_block_problem(bad, chain[-1], ledger, D).startswith(
        "block 5: transaction 2 overspends")
    assert ledger == before
    good = next_block(chain, [pay(ALICE, CAROL_PUB, 5, 2), pay(CAROL, BOB_PUB, 5, 1)])
    assert strict.strict_block_problem(good, chain[-1], ledger, D) is None
    assert ledger == Ledger.from_chain(chain + [good])
    other_tip = dict(chain[-1], timestamp="another tip")
    assert "does not link" in strict.strict_block_problem(good, other_tip, before.copy(), D)
    assert "has index 5" in strict.strict_block_problem(good, chain[-2], before.copy(), D)


def test_strict_block_problem_verify_false_skips_only_signatures():
    chain = funded()
    tx = pay(ALICE, CAROL_PUB, 5, 2)
    tx["amount"] = 6
    block = next_block(chain, [tx])
    ledger = Ledger.from_chain(chain)
    assert "bad signature" in strict.strict_block_problem(block, chain[-1], ledger.copy(), D)
    assert strict.strict_block_problem(block, chain[-1], ledger.copy(), D, verify=False) is None
    tx["amount"] = 100
    block = next_block(chain, [tx])
    assert "overspends" in strict.strict_block_problem(block, chain[-1], ledger, D, verify=False)


# -- hashing and mining ------------------------------------------------------------------


def test_header_hash_is_sha256_of_the_sorted_header():
    block = funded()[3]
    tx_hash = hashlib.sha256(json.dumps(block["transactions"], sort_keys=True).encode())
    head = {"index": 4, "timestamp": block["timestamp"], "previous_hash": block["previous_hash"],
            "nonce": block["nonce"], "tx_hash": tx_hash.hexdigest()}
    assert strict.header(block) == head
    expected = hashlib.sha256(json.dumps(head, sort_keys=True).encode()).hexdigest()
    assert header_hash(block) == expected
    reordered = dict(reversed(list(block.items())))
    reordered["transactions"] = [dict(reversed(list(t.items()))) for t in block["transactions"]]
    assert header_hash(reordered) == expected
    swapped = dict(block, transactions=block["transactions"][::-1])
    assert header_hash(swapped) != expected  # order is part of the contents


def test_mine_finds_the_smallest_nonce_and_the_real_hash():
    txs = [reward_transaction(MINER_PUB, 2)]
    block = strict.mine(2, "t", header_hash(GENESIS), txs, 3)
    assert set(block) == classic.BLOCK_KEYS
    assert header_hash(block).startswith("000")
    for nonce in range(1, block["nonce"]):
        assert not header_hash(dict(block, nonce=nonce)).startswith("000")


def test_mine_handles_awkward_text():
    ts = 'a "quoted", "nonce": 0, \\ \u00e9\u2603 timestamp'
    block = strict.mine(12345, ts, '"x"', [reward_transaction(MINER_PUB, 12345)], 1)
    assert header_hash(block).startswith("0")  # mine() also asserts it hashed the header


def test_mining_can_be_stopped():
    assert strict.mine(2, "t", header_hash(GENESIS), [], 20, should_stop=lambda: True) is None


# -- cumulative work ---------------------------------------------------------------------


def test_chain_work():
    chain = funded()
    assert strict.chain_work([GENESIS], D) == 0
    assert strict.chain_work(chain, D) == 3 * 16**D
    assert strict.chain_work(chain, 3) == 16 * strict.chain_work(chain, 2)
    longer = chain + [next_block(chain, [])]
    assert strict.chain_work(longer, D) > strict.chain_work(chain, D)
    # A tie: a competing block at the same height does the same work; keep ours.
    rival = chain[:3] + [next_block(chain[:3], [], BOB_PUB)]
    assert strict.strict_chain_problem(rival, D) is None
    assert rival != chain
    assert not strict.chain_work(rival, D) > strict.chain_work(chain, D)


# -- the property: any change to a mined block's contents breaks its proof of work ----

PD = 4  # 1 in 65,536 that a changed header still meets it; the examples are derandomized
HEX64 = st.text("0123456789abcdef", min_size=64, max_size=64)
VALUES = {
    "index": st.integers(min_value=-5, max_value=2**40),
    "timestamp": st.text(max_size=30),
    "nonce": st.integers(min_value=1, max_value=2**63),
    "previous_hash": HEX64 | st.text(max_size=70),
    "sender": HEX64 | st.sampled_from([strict.COINBASE, ALICE_PUB, BOB_PUB, FORGER_PUB]),
    "receiver": HEX64 | st.sampled_from([ALICE_PUB, BOB_PUB, FORGER_PUB]),
    "amount": st.integers(min_value=-10, max_value=10**16) | st.floats(allow_nan=False),
    "sequence": st.integers(min_value=0, max_value=2**63),
    "signature": st.text("0123456789abcdef", min_size=128, max_size=128),
}


@functools.cache
def _property_chain() -> list[dict]:
    chain = [GENESIS]
    chain.append(next_block(chain, [], ALICE_PUB, PD))
    chain.append(next_block(chain, [pay(ALICE, BOB_PUB, 3, 1), pay(ALICE, CAROL_PUB, 2, 2)],
                            difficulty=PD))
    chain.append(next_block(chain, [pay(BOB, CAROL_PUB, 1, 1)], BOB_PUB, PD))
    return chain


def canonical(block: dict) -> str:
    return json.dumps(block, sort_keys=True)


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.filter_too_much])
@given(st.integers(min_value=1, max_value=3), st.data())
def test_any_change_to_a_mined_block_breaks_strict_validation(position, data):
    chain = copy.deepcopy(_property_chain())
    assert strict.strict_chain_problem(chain, PD) is None
    block = chain[position]
    txs = block["transactions"]
    original = canonical(block)
    kind = data.draw(st.sampled_from(
        ["field", "tx field", "tx key added", "tx key removed", "tx dropped", "tx added",
         "tx swapped"]))
    if kind == "field":
        key = data.draw(st.sampled_from(["index", "timestamp", "nonce", "previous_hash"]))
        block[key] = data.draw(VALUES[key])
    else:
        n = data.draw(st.integers(0, len(txs) - 1))
        tx = txs[n]
        if kind == "tx field":
            key = data.draw(st.sampled_from(sorted(tx)))
            tx[key] = data.draw(VALUES[key])
        elif kind == "tx key added":
            tx[data.draw(st.text(max_size=10))] = data.draw(st.integers() | st.text())
        elif kind == "tx key removed":
            del tx[data.draw(st.sampled_from(sorted(tx)))]
        elif kind == "tx dropped":
            del txs[n]
        elif kind == "tx added":
            other = copy.deepcopy(data.draw(st.sampled_from(
                [t for b in chain[1:] for t in b["transactions"]])))
            txs.insert(data.draw(st.integers(0, len(txs))), other)
        else:
            m = data.draw(st.integers(0, len(txs) - 1))
            txs[n], txs[m] = txs[m], txs[n]
    assume(canonical(block) != original)
    assert header_hash(block) != header_hash(_property_chain()[position])
    problem = strict.strict_chain_problem(chain, PD)
    assert problem is not None
    assert problem.startswith(f"block {position + 1}"), problem
