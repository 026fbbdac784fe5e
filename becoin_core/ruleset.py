"""The two rule sets a node can run, behind one interface for Blockchain.

Classic is the blog's (becoin_core.chain); strict adds signatures, balances and
proof of work over the block's contents (becoin_core.strict). Blockchain asks
its ruleset how to hash, mine, validate and weigh chains, and never branches on
the rules' name itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from becoin_core import chain as classic
from becoin_core import strict
from becoin_core.chain import Block, Transaction
from becoin_core.requests_in import MISSING_MESSAGE, BadRequest
from becoin_core.requests_in import transaction as classic_transaction

StopFn = Callable[[], bool]


class Classic:
    name = "classic"
    # The blog's nonce ignores the block's contents: the mempool is taken when
    # the block is appended, so a transaction sent while mining still gets in.
    contents_in_work = False

    def link_hash(self, block: Block) -> str:
        return classic.block_hash(block)

    def chain_problem(self, chain: Any, difficulty: int, start: int = 0) -> str | None:
        return classic.chain_problem(chain, difficulty, start)

    def work(self, chain: list[Block], difficulty: int) -> int:
        return len(chain)  # the blog's longest-chain rule

    def user_transactions(self, blocks: list[Block]) -> list[Transaction]:
        return classic.user_transactions(blocks)

    def reward(self, address: str, miner: str, index: int) -> Transaction:
        return classic.reward_transaction(address, miner)

    def mine(self, tip: Block, tip_hash: str, index: int, timestamp: str,
             transactions: list[Transaction] | None, difficulty: int,
             should_stop: StopFn) -> int | Block | None:
        """Classic answers just the nonce: contents are added under the lock."""
        return classic.proof_of_work(tip["nonce"], difficulty, should_stop)

    def transaction(self, body: Any) -> Transaction:
        return classic_transaction(body)

    def admit(self, chain: list[Block], mempool: list[Transaction],
              tx: Transaction) -> str | None:
        return None  # the blog checks no balances

    def reconcile(self, chain: list[Block], pool: list[Transaction]) -> list[Transaction]:
        return pool

    def balances(self, chain: list[Block]) -> dict[str, float]:
        totals: dict[str, float] = {}
        for block in chain:
            for tx in block["transactions"]:
                if not classic.is_reward(tx, block):
                    totals[tx["sender"]] = totals.get(tx["sender"], 0) - tx["amount"]
                totals[tx["receiver"]] = totals.get(tx["receiver"], 0) + tx["amount"]
        return totals


class Strict:
    name = "strict"
    contents_in_work = True

    def __init__(self) -> None:
        self._ledger: tuple[str, strict.Ledger] | None = None  # (tip hash, ledger after it)

    def link_hash(self, block: Block) -> str:
        return strict.header_hash(block)

    def chain_problem(self, chain: Any, difficulty: int, start: int = 0) -> str | None:
        return strict.strict_chain_problem(chain, difficulty, start)

    def work(self, chain: list[Block], difficulty: int) -> int:
        return strict.chain_work(chain, difficulty)

    def user_transactions(self, blocks: list[Block]) -> list[Transaction]:
        return [tx for b in blocks for tx in b["transactions"] if not strict.is_reward(tx)]

    def reward(self, address: str, miner: str, index: int) -> Transaction:
        return strict.reward_transaction(miner, index)

    def mine(self, tip: Block, tip_hash: str, index: int, timestamp: str,
             transactions: list[Transaction] | None, difficulty: int,
             should_stop: StopFn) -> int | Block | None:
        assert transactions is not None
        return strict.mine(index, timestamp, tip_hash, transactions, difficulty, should_stop)

    def transaction(self, body: Any) -> Transaction:
        if isinstance(body, dict):
            missing = [k for k in ("sender", "receiver", "amount", "sequence", "signature")
                       if k not in body]
            if missing:
                raise BadRequest(MISSING_MESSAGE, missing=missing)
        problem = strict.transaction_problem(body)
        if problem:
            raise BadRequest(f"Refused under strict rules: the transaction {problem}")
        return body

    def _chain_ledger(self, chain: list[Block]) -> strict.Ledger:
        tip = strict.header_hash(chain[-1])
        if self._ledger is None or self._ledger[0] != tip:
            self._ledger = (tip, strict.Ledger.from_chain(chain))
        return self._ledger[1]

    def admit(self, chain: list[Block], mempool: list[Transaction],
              tx: Transaction) -> str | None:
        pending = self._chain_ledger(chain).copy()
        pending.admit(mempool, verify=False)
        problem = pending.check(tx, verify=False)
        return f"Refused under strict rules: the transaction {problem}" if problem else None

    def reconcile(self, chain: list[Block], pool: list[Transaction]) -> list[Transaction]:
        """After a chain change, keep the waiting transactions that still hold."""
        # Signatures too: abandoned blocks may be a forger's, never validated.
        accepted, _refused = self._chain_ledger(chain).copy().admit(pool, verify=True)
        return accepted

    def balances(self, chain: list[Block]) -> dict[str, float]:
        return dict(strict.balances(chain))


def ruleset(name: str) -> Classic | Strict:
    if name == "strict":
        return Strict()
    return Classic()
