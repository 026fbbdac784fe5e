"""Strict chain rules: signed transactions, balances, and proof of work over the contents.

The blog's rules (`becoin_core.chain`) stay the default. Under strict rules a block
keeps the blog's five keys, so the wire format and every tool stay the same, but:

- The proof of work covers the block. Its *header* is
  ``{"index", "timestamp", "previous_hash", "nonce", "tx_hash"}``, where ``tx_hash``
  is sha256 of ``json.dumps(transactions, sort_keys=True)``. The header hash is
  sha256 of the header's JSON (sort_keys) and must start with `difficulty` hex zeros;
  a block's ``previous_hash`` is the header hash of the block before it. Change any
  transaction, the timestamp, the index, the link or the nonce and the work is gone.
- A transaction is signed with Ed25519 by its sender::

      {"sender": <64-hex public key>, "receiver": <64-hex public key>,
       "amount": <int, 1..MAX_AMOUNT>, "sequence": <int, 1, 2, 3, ... per sender>,
       "signature": <128-hex signature over signing_message(tx)>}

  The sequence is exactly the sender's previous one plus one, so a replayed (or
  reordered) transaction is refused; a sender spends only what it owns, counting
  every transaction before it (in the chain, then in the mempool).
- Every block but genesis ends with exactly one reward, and only there::

      {"sender": "coinbase", "receiver": <miner's 64-hex public key>,
       "amount": REWARD, "sequence": <the block's index>}

  A reward carries no signature (nobody owns "coinbase"); its sequence is the block
  index, so two rewards to one miner are never the same transaction.
- Genesis is the classic one (index 1, nonce 1, previous_hash "0", no transactions,
  any timestamp); it needs no proof of work.
- The best chain is the one with the most cumulative work (`chain_work`); on a tie
  a node keeps its own.

Problems are strings that say which block, which transaction and which rule, e.g.
``block 4: transaction 2 overspends: sender 3f2a9c01 has 5, spends 8``.
Transaction-level problems (`transaction_problem`, `Ledger.check`) are verb phrases
meant to follow a subject: ``f"transaction {problem}"`` or ``f"it {problem}"``.

Pure functions over plain dicts, no I/O, no locks; `Ledger` is a small mutable
value the caller owns.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from becoin_core.chain import (
    MAX_NONCE,
    REWARD,
    Block,
    Transaction,
    block_problem,
    genesis_problem,
    is_int,
)

__all__ = [
    "COINBASE", "MAX_AMOUNT", "MAX_SEQUENCE", "REWARD", "Ledger", "balances",
    "chain_work", "genesis_problem", "header", "header_hash", "is_reward", "meets_difficulty",
    "mine", "new_wallet", "public_key_of", "relink", "reward_transaction",
    "sign_transaction", "signing_message", "strict_block_problem", "strict_chain_problem",
    "transaction_problem", "transactions_hash", "validate_chain",
]

COINBASE = "coinbase"
MAX_AMOUNT = 10**15  # as requests_in.MAX_AMOUNT
MAX_SEQUENCE = 2**63
TX_KEYS = frozenset({"sender", "receiver", "amount", "sequence", "signature"})
SIGNED_KEYS = ("amount", "receiver", "sender", "sequence")
REWARD_KEYS = frozenset({"sender", "receiver", "amount", "sequence"})
KEY_RE = re.compile(r"[0-9a-f]{64}")
SIGNATURE_RE = re.compile(r"[0-9a-f]{128}")
KEY_WORDS = "a public key (64 lowercase hex characters)"


def short(key: Any) -> str:
    """A key as messages show it: its first 8 hex characters."""
    return str(key)[:8]


# -- hashing and proof of work -------------------------------------------------


def transactions_hash(transactions: list[Transaction]) -> str:
    """sha256 of the transactions' JSON (sort_keys): what the header commits to."""
    return hashlib.sha256(json.dumps(transactions, sort_keys=True).encode()).hexdigest()


def header(block: Block) -> dict[str, Any]:
    """The part of a block the proof of work covers (transactions by their hash)."""
    return {
        "index": block["index"],
        "timestamp": block["timestamp"],
        "previous_hash": block["previous_hash"],
        "nonce": block["nonce"],
        "tx_hash": transactions_hash(block["transactions"]),
    }


def header_hash(block: Block) -> str:
    """sha256 of the header's JSON (sort_keys): the block's strict hash, which the
    next block's previous_hash names and which must meet the difficulty."""
    return hashlib.sha256(json.dumps(header(block), sort_keys=True).encode()).hexdigest()


def meets_difficulty(hash_hex: str, difficulty: int) -> bool:
    return hash_hex.startswith("0" * difficulty)


def mine(
    index: int,
    timestamp: str,
    previous_hash: str,
    transactions: list[Transaction],
    difficulty: int,
    should_stop: Callable[[], bool] | None = None,
) -> Block | None:
    """A block whose header hash meets `difficulty`: the smallest nonce from 1 up.

    `transactions` is the block's whole list, reward last (see `reward_transaction`).
    The transactions are hashed once and the header's JSON is split around the
    nonce, so each try hashes only the nonce and what follows it. `should_stop` is
    polled every 4096 tries; the search then answers None.
    """
    rest = {"timestamp": timestamp, "previous_hash": previous_hash,
            "tx_hash": transactions_hash(transactions)}
    # json.dumps(sort_keys=True) of the header is '{"index": I, "nonce": N, ...rest}':
    # "index" and "nonce" sort before every other key.
    prefix = json.dumps({"index": index}, sort_keys=True)[:-1] + ', "nonce": '
    suffix = (", " + json.dumps(rest, sort_keys=True)[1:]).encode()
    base = hashlib.sha256(prefix.encode())
    target = "0" * difficulty
    nonce = 1
    while nonce <= MAX_NONCE:
        h = base.copy()
        h.update(b"%d%s" % (nonce, suffix))
        if h.hexdigest().startswith(target):
            block = {"index": index, "timestamp": timestamp, "nonce": nonce,
                     "previous_hash": previous_hash, "transactions": transactions}
            assert header_hash(block) == h.hexdigest()  # the fast path is the real hash
            return block
        nonce += 1
        if should_stop is not None and nonce % 4096 == 0 and should_stop():
            return None
    return None


def relink(chain: list[Block], start: int = 1) -> list[Block]:
    """The chain with every previous_hash from block `start` (0-based position) on
    recomputed, and no proof of work redone: what a forger does after rewriting
    history. Returns new block dicts; the input is untouched."""
    out = list(chain)
    for i in range(max(start, 1), len(out)):
        out[i] = dict(out[i], previous_hash=header_hash(out[i - 1]))
    return out


def chain_work(chain: list[Block], difficulty: int) -> int:
    """Cumulative expected work: 16**difficulty hashes per block after genesis.

    At one network-wide difficulty this orders chains as their length does; what
    makes strict rules hold is that only a chain that passes strict_chain_problem
    is counted at all. Prefer a chain only when its work is strictly greater.
    """
    return max(len(chain) - 1, 0) * 16**difficulty


# -- transactions ----------------------------------------------------------------


def signing_message(tx: Transaction) -> bytes:
    """What the sender signs: compact canonical JSON of sender, receiver, amount, sequence."""
    body = {k: tx[k] for k in SIGNED_KEYS}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def reward_transaction(miner: str, index: int) -> Transaction:
    """The reward for mining block `index`, paid to the miner's public key."""
    return {"sender": COINBASE, "receiver": miner, "amount": REWARD, "sequence": index}


def is_reward(tx: Any) -> bool:
    """Whether this transaction claims to be a reward (valid only as a block's last)."""
    return isinstance(tx, dict) and tx.get("sender") == COINBASE


def _is_key(value: Any) -> bool:
    return isinstance(value, str) and KEY_RE.fullmatch(value) is not None


def _verify(tx: Transaction) -> bool:
    try:
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(tx["sender"]))
        key.verify(bytes.fromhex(tx["signature"]), signing_message(tx))
    except (InvalidSignature, ValueError):
        return False
    return True


def transaction_problem(tx: Any, verify: bool = True) -> str | None:
    """Why this signed transaction is malformed or wrongly signed, or None.

    Shape and signature (skipped when `verify` is False) only: whether the sender
    may spend it (sequence, balance) is `Ledger.check`'s question. A reward is
    refused here: a client never sends one.
    """
    if not isinstance(tx, dict):
        return "is not an object"
    if is_reward(tx):
        return ("is a reward (sender 'coinbase'): only a block may carry one, "
                "as its last transaction")
    keys = set(tx)
    if keys != TX_KEYS:
        return (f"has the wrong keys (missing {sorted(TX_KEYS - keys)}, extra "
                f"{sorted(keys - TX_KEYS)}): a signed transaction has sender, receiver, "
                "amount, sequence and signature")
    for name in ("sender", "receiver"):
        if not _is_key(tx[name]):
            return f"has a {name} that is not {KEY_WORDS}: {str(tx[name])[:70]!r}"
    amount = tx["amount"]
    if not is_int(amount) or not 0 < amount <= MAX_AMOUNT:
        return (f"has amount {amount!r:.40}: strict amounts are whole numbers "
                f"from 1 to {MAX_AMOUNT}")
    sequence = tx["sequence"]
    if not is_int(sequence) or not 0 < sequence <= MAX_SEQUENCE:
        return f"has sequence {sequence!r:.40}: sequences are whole numbers from 1"
    signature = tx["signature"]
    if not isinstance(signature, str) or SIGNATURE_RE.fullmatch(signature) is None:
        return "has a signature that is not 128 lowercase hex characters"
    if verify and not _verify(tx):
        return ("has a bad signature: the sender's key did not sign it, "
                "or it was changed after signing")
    return None


def _reward_problem(tx: Transaction, index: int) -> str | None:
    keys = set(tx)
    if keys != REWARD_KEYS:
        return (f"the reward has the wrong keys (missing {sorted(REWARD_KEYS - keys)}, "
                f"extra {sorted(keys - REWARD_KEYS)}): it has sender, receiver, amount "
                "and sequence")
    if not _is_key(tx["receiver"]):
        return f"the reward's receiver is not {KEY_WORDS}"
    if not is_int(tx["amount"]) or tx["amount"] != REWARD:
        return f"the reward pays {tx['amount']!r:.40}; the reward is exactly {REWARD}"
    if not is_int(tx["sequence"]) or tx["sequence"] != index:
        return (f"the reward's sequence is {tx['sequence']!r:.40}; "
                f"it must be the block's index, {index}")
    return None


# -- balances and sequences ----------------------------------------------------------


@dataclass
class Ledger:
    """Balances and the last sequence used, per public key.

    Build it from a valid chain, copy it to look ahead (the mempool), `check` a
    transaction against it and `apply` the ones accepted::

        pending = Ledger.from_chain(chain)
        pending.admit(mempool)             # what the mempool already spends
        problem = pending.check(tx)        # None: accept it, then pending.apply(tx)
    """

    balances: dict[str, int] = field(default_factory=dict)
    sequences: dict[str, int] = field(default_factory=dict)  # last sequence used

    @classmethod
    def from_chain(cls, chain: Iterable[Block]) -> Ledger:
        """The state after every block of `chain`, trusting it: validate first
        (strict_chain_problem). Malformed transactions are skipped, not counted."""
        ledger = cls()
        for block in chain:
            ledger._apply_block_trusted(block)
        return ledger

    def copy(self) -> Ledger:
        return Ledger(dict(self.balances), dict(self.sequences))

    def balance(self, key: str) -> int:
        return self.balances.get(key, 0)

    def next_sequence(self, key: str) -> int:
        """The sequence `key`'s next transaction must carry."""
        return self.sequences.get(key, 0) + 1

    def check(self, tx: Any, verify: bool = True) -> str | None:
        """Why this transaction may not follow what the ledger holds, or None.

        First its shape and, with `verify` (the default), its signature
        (transaction_problem); then its sequence (exactly the sender's next: a
        replay or a gap is refused) and its balance (no overspending).
        """
        problem = transaction_problem(tx, verify)
        if problem:
            return problem
        sender, sequence, amount = tx["sender"], tx["sequence"], tx["amount"]
        expected = self.next_sequence(sender)
        if sequence < expected:
            return (f"replays sequence {sequence} of sender {short(sender)}: it is already "
                    f"used (the next is {expected})")
        if sequence > expected:
            return (f"skips ahead: sender {short(sender)}'s next sequence is {expected}, "
                    f"not {sequence}")
        has = self.balance(sender)
        if amount > has:
            return f"overspends: sender {short(sender)} has {has}, spends {amount}"
        return None

    def apply(self, tx: Transaction) -> None:
        """Count a transaction that passed `check` (or a block's reward)."""
        amount = tx["amount"]
        if tx["sender"] != COINBASE:
            self.balances[tx["sender"]] = self.balance(tx["sender"]) - amount
            self.sequences[tx["sender"]] = tx["sequence"]
        self.balances[tx["receiver"]] = self.balance(tx["receiver"]) + amount

    def admit(
        self, transactions: Iterable[Any], verify: bool = True
    ) -> tuple[list[Transaction], list[tuple[Any, str]]]:
        """Check and apply each transaction in order: (accepted, [(refused, problem)]).

        For a mempool after the chain changed, or to pick a block's transactions.
        The ledger is advanced by the accepted ones (pass a copy to look only).
        """
        accepted: list[Transaction] = []
        refused: list[tuple[Any, str]] = []
        for tx in transactions:
            problem = self.check(tx, verify)
            if problem:
                refused.append((tx, problem))
            else:
                self.apply(tx)
                accepted.append(tx)
        return accepted, refused

    def _apply_block_trusted(self, block: Any) -> None:
        if not isinstance(block, dict) or not isinstance(block.get("transactions"), list):
            return
        for tx in block["transactions"]:
            if (isinstance(tx, dict) and is_int(tx.get("amount"))
                    and isinstance(tx.get("sender"), str)
                    and isinstance(tx.get("receiver"), str)
                    and (tx["sender"] == COINBASE or is_int(tx.get("sequence")))):
                self.apply(tx)

    def _apply_block(self, block: Block, verify: bool) -> str | None:
        """All or nothing: the problem of the first bad transaction (the ledger
        then is as it was), or None with the whole block applied."""
        index = block["index"]
        txs = block["transactions"]
        rewards = [n for n, tx in enumerate(txs, 1) if is_reward(tx)]
        if not rewards:
            return (f"block {index}: has no reward: its last transaction must pay the "
                    f"miner (sender 'coinbase', amount {REWARD})")
        if len(rewards) > 1:
            return (f"block {index}: has {len(rewards)} rewards (transactions "
                    f"{', '.join(map(str, rewards))}): a block has exactly one, "
                    "as its last transaction")
        if rewards[0] != len(txs):
            return (f"block {index}: transaction {rewards[0]} is the reward but not the "
                    "last transaction: the reward comes last")
        problem = _reward_problem(txs[-1], index)
        if problem:
            return f"block {index}: {problem}"
        saved_balances: dict[str, int | None] = {}
        saved_sequences: dict[str, int | None] = {}
        for n, tx in enumerate(txs, 1):
            if n < len(txs):
                problem = self.check(tx, verify)
                if problem:
                    self._restore(saved_balances, saved_sequences)
                    return f"block {index}: transaction {n} {problem}"
                saved_sequences.setdefault(tx["sender"], self.sequences.get(tx["sender"]))
                saved_balances.setdefault(tx["sender"], self.balances.get(tx["sender"]))
            saved_balances.setdefault(tx["receiver"], self.balances.get(tx["receiver"]))
            self.apply(tx)
        return None

    def _restore(self, balances: dict[str, int | None], sequences: dict[str, int | None]) -> None:
        for table, saved in ((self.balances, balances), (self.sequences, sequences)):
            for key, value in saved.items():
                if value is None:
                    table.pop(key, None)
                else:
                    table[key] = value


def balances(chain: Iterable[Block]) -> dict[str, int]:
    """Every key's balance after `chain`, for display (the chain is trusted)."""
    return dict(Ledger.from_chain(chain).balances)


# -- blocks and chains -----------------------------------------------------------------


def _block_problem(
    block: Any, index: int, previous_hash: str, difficulty: int, ledger: Ledger, verify: bool
) -> tuple[str | None, str]:
    """(problem or None, the block's header hash or "")."""
    problem = block_problem(block, index)
    if problem:
        return problem, ""
    if block["previous_hash"] != previous_hash:
        return (f"block {index}: previous_hash does not link to block {index - 1} "
                "(it must be that block's header hash)"), ""
    h = header_hash(block)
    if not meets_difficulty(h, difficulty):
        return (f"block {index}: header hash {h[:12]}... does not meet difficulty "
                f"{difficulty} (proof of work does not cover the changed contents)"), ""
    return ledger._apply_block(block, verify), h


def strict_block_problem(
    block: Any, previous: Block, ledger: Ledger, difficulty: int, verify: bool = True
) -> str | None:
    """Why `block` may not follow `previous` (ledger = the state after `previous`).

    Shape, link, proof of work, one reward last, then every transaction's shape,
    signature (skipped when `verify` is False, for a block this node made itself),
    sequence and balance. All or nothing: on None the ledger includes the block; on a
    problem it is unchanged.
    """
    index = previous["index"] + 1 if is_int(previous.get("index")) else 0
    return _block_problem(block, index, header_hash(previous), difficulty, ledger, verify)[0]


def validate_chain(
    chain: Any, difficulty: int, start: int = 0
) -> tuple[str | None, Ledger | None]:
    """(problem, None) or (None, the ledger after the whole chain).

    `start` (as in chain.chain_problem) skips blocks already known valid: their
    transactions are counted without checks, and links are checked from there on.
    """
    if not isinstance(chain, list) or not chain:
        return "the chain is empty or not a list", None
    problem = genesis_problem(chain[0])
    if problem:
        return problem, None
    start = min(max(start, 1), len(chain))
    ledger = Ledger.from_chain(chain[1:start])
    previous_hash = header_hash(chain[start - 1])
    for position in range(start, len(chain)):
        problem, previous_hash = _block_problem(
            chain[position], position + 1, previous_hash, difficulty, ledger, True)
        if problem:
            return problem, None
    return None, ledger


def strict_chain_problem(chain: Any, difficulty: int, start: int = 0) -> str | None:
    """Why `chain` is not valid under strict rules, or None."""
    return validate_chain(chain, difficulty, start)[0]


# -- wallets -----------------------------------------------------------------------------


def new_wallet() -> tuple[str, str]:
    """A fresh Ed25519 key pair: (private key hex, public key hex), 64 hex each."""
    private = Ed25519PrivateKey.generate()
    return private.private_bytes_raw().hex(), private.public_key().public_bytes_raw().hex()


def _private_key(private_hex: str) -> Ed25519PrivateKey:
    try:
        return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(private_hex))
    except ValueError as exc:
        raise ValueError("a private key is 64 hex characters (32 bytes)") from exc


def public_key_of(private_hex: str) -> str:
    """The public key (64 hex) of a private key (64 hex); ValueError if malformed."""
    return _private_key(private_hex).public_key().public_bytes_raw().hex()


def sign_transaction(private_hex: str, receiver: str, amount: int, sequence: int) -> Transaction:
    """A transaction from the key's owner, signed. Values are not checked here:
    transaction_problem says what a node will think of them."""
    key = _private_key(private_hex)
    tx: Transaction = {"sender": key.public_key().public_bytes_raw().hex(),
                       "receiver": receiver, "amount": amount, "sequence": sequence}
    tx["signature"] = key.sign(signing_message(tx)).hex()
    return tx
