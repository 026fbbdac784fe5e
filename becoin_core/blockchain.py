"""The node's state (chain, mempool, peers) behind one lock, kept in a Store.

The blog's Blockchain class, made safe for waitress's threads: every change is
made under the lock and committed to SQLite before it is acknowledged; the nonce
search and the peer calls run outside the lock, and their results are applied
only if the chain they were computed on is still the chain we have.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from becoin_core import chain as rules
from becoin_core import strict
from becoin_core.chain import Block, Transaction
from becoin_core.config import NodeConfig
from becoin_core.faults import PEER_HEADER, Faults, Refused
from becoin_core.forger import Forgery, NothingToForge, forge
from becoin_core.peers import PeerAnswer, PeerError, get_json
from becoin_core.ruleset import ruleset
from becoin_core.store import Store

log = logging.getLogger("becoin_core.blockchain")


class TransactionRefused(Exception):
    """The rules refuse this transaction; the message says which rule."""


class ForgeError(Exception):
    """The forger could not forge; the message says why."""


class MiningCancelled(Exception):
    """The node is shutting down; the block was not mined."""


@dataclass
class PeerOutcome:
    peer: str
    outcome: str  # "adopted", "not longer", "invalid", "failed"
    detail: str = ""
    length: int | None = None
    bytes: int = 0

    def as_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "")}


@dataclass
class Candidate:
    peer: str
    keep: int  # how many of our blocks it shares
    blocks: list[Block]  # its blocks after those
    base_hash: str | None  # hash of our block `keep`, to re-check under the lock
    work: int = 0  # the whole candidate chain's, by our rules

    @property
    def length(self) -> int:
        return self.keep + len(self.blocks)


@dataclass
class ReplaceResult:
    replaced: bool
    outcomes: list[PeerOutcome] = field(default_factory=list)


def locator_indexes(length: int) -> list[int]:
    """Block indexes (1-based) to describe our chain to a peer: the last ten,
    then ever wider steps back to genesis, as Bitcoin's block locator does."""
    indexes, step, i = [], 1, length
    while i > 1:
        indexes.append(i)
        if len(indexes) >= 10:
            step *= 2
        i -= step
    indexes.append(1)
    return indexes


class Blockchain:
    def __init__(self, config: NodeConfig, store: Store) -> None:
        self.config = config
        self.store = store
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        loaded = store.load()
        self.address = config.address or loaded.meta.get("address") or uuid.uuid4().hex
        if loaded.meta.get("address") != self.address:
            store.set_meta("address", self.address)
        self.rules = ruleset(config.rules)
        if config.rules == "strict" and not strict.KEY_RE.fullmatch(config.miner):
            # Strict rewards go to a public key: a node with no miner key given
            # mines for a wallet of its own, kept with its data.
            private = loaded.meta.get("miner_private_key") or strict.new_wallet()[0]
            store.set_meta("miner_private_key", private)
            config.miner = strict.public_key_of(private)
        self.chain: list[Block] = loaded.chain
        self.hashes: list[str] = [self.rules.link_hash(b) for b in self.chain]
        self.mempool: list[tuple[int, Transaction]] = loaded.mempool
        self.peers: list[str] = loaded.peers
        if not self.chain:
            genesis = rules.genesis_block(config.timestamp(1))
            store.append_block(genesis, [])
            self.chain.append(genesis)
            self.hashes.append(self.rules.link_hash(genesis))
        self._index = {h: i for i, h in enumerate(self.hashes)}
        self.faults = Faults()
        self.automine_every: float | None = None
        self._automine_wake = threading.Event()
        self._automine_thread: threading.Thread | None = None
        self._syncing: set[str] = set()  # peers an announced sync is pending for
        self.gossip = ThreadPoolExecutor(max_workers=4, thread_name_prefix="gossip")
        # Kept for the node's life: a consensus round should not pay for new threads.
        self.pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="peer")
        self._chain_json: tuple[str, str] | None = None  # (tip hash, the chain as JSON)
        self._validity: tuple[str, str | None] | None = None  # (tip hash, problem)

    # -- reading ---------------------------------------------------------

    def status(self) -> dict[str, Any]:
        with self.lock:
            return {
                "name": self.config.name,
                "address": self.address,
                "url": self.config.url,
                "length": len(self.chain),
                "tip": self.hashes[-1],
                "mempool": len(self.mempool),
                "peers": list(self.peers),
                "difficulty": self.config.difficulty,
                "rules": self.config.rules,
                "sync": self.config.sync,
                "miner": self.config.miner,
                "propagation": self.config.propagation,
                "role": self.config.role,
                "automine": self.automine_every,
                "faults": self.faults.as_json(),
            }

    def chain_json(self) -> tuple[str, int]:
        """The whole chain as JSON text and its length, encoded once per tip:
        the blog's get_chain and replace_chain answers carry it every time."""
        with self.lock:
            tip, length = self.hashes[-1], len(self.chain)
            if self._chain_json is None or self._chain_json[0] != tip:
                self._chain_json = (tip, json.dumps(self.chain, separators=(",", ":")))
            return self._chain_json[1], length

    def chain_copy(self) -> list[Block]:
        with self.lock:
            return list(self.chain)

    def transactions(self) -> list[Transaction]:
        with self.lock:
            return [tx for _, tx in self.mempool]

    def blocks_after(self, locator: list[str] | None, since: int | None) -> tuple[int, list[Block]]:
        """(start, blocks from start on) for an incremental fetch: after the
        newest locator hash we hold, or after index `since`."""
        with self.lock:
            keep = 0
            if locator is not None:
                for h in locator:
                    if h in self._index:
                        keep = self._index[h] + 1
                        break
            elif since is not None:
                keep = min(since, len(self.chain))
            return keep + 1, self.chain[keep:]

    def problem(self) -> str | None:
        """Why our chain is invalid, or None; remembered per tip, since a full
        strict validation (signatures) of thousands of blocks takes a while."""
        with self.lock:
            chain, tip = list(self.chain), self.hashes[-1]
            if self._validity is not None and self._validity[0] == tip:
                return self._validity[1]
        problem = self.rules.chain_problem(chain, self.config.difficulty)
        with self.lock:
            self._validity = (tip, problem)
        return problem

    # -- changing --------------------------------------------------------

    def _append(self, block: Block) -> None:
        self.chain.append(block)
        h = self.rules.link_hash(block)
        self.hashes.append(h)
        self._index[h] = len(self.hashes) - 1

    def add_transaction(self, tx: Transaction) -> int:
        """Queue a transaction; answers the index of the block it will go into.
        Raises TransactionRefused when the rules (strict: sequence, balance) say no."""
        with self.lock:
            problem = self.rules.admit(self.chain, [t for _, t in self.mempool], tx)
            if problem:
                raise TransactionRefused(problem)
            seq = self.store.add_transaction(tx)
            self.mempool.append((seq, tx))
            return len(self.chain) + 1

    def add_peers(self, netlocs: list[str]) -> list[str]:
        with self.lock:
            new = [n for n in dict.fromkeys(netlocs) if n not in self.peers]
            room = self.config.max_peers - len(self.peers)
            if len(new) > room:
                raise ValueError(
                    f"a node keeps at most {self.config.max_peers} peers; "
                    f"it has {len(self.peers)} and was sent {len(new)} new ones"
                )
            if new:
                self.store.add_peers(new)
                self.peers.extend(new)
            return list(self.peers)

    def mine_block(self) -> Block:
        """Mine on the current tip. The nonce search runs without the lock; if
        the tip moved meanwhile (another block, a replaced chain) the search
        restarts on the new tip rather than append to a stale one."""
        while True:
            with self.lock:
                tip, tip_hash = self.chain[-1], self.hashes[-1]
                index = len(self.chain) + 1
                # Work that covers the contents needs them before the search.
                taken = list(self.mempool) if self.rules.contents_in_work else None
            timestamp = self.config.timestamp(index) or rules.now()
            reward = self.rules.reward(self.address, self.config.miner, index)
            txs = None if taken is None else [tx for _, tx in taken] + [reward]
            found = self.rules.mine(tip, tip_hash, index, timestamp, txs,
                                    self.config.difficulty, self.stopping.is_set)
            if found is None:
                raise MiningCancelled("the node is shutting down")
            with self.lock:
                if self.hashes[-1] != tip_hash:
                    continue
                if isinstance(found, dict):
                    block = found
                else:  # classic: a nonce; the block takes the mempool as it is now
                    taken = list(self.mempool)
                    txs = [tx for _, tx in taken] + [reward]
                    block = rules.new_block(index, found, tip_hash, txs, timestamp)
                assert taken is not None
                taken_seqs = {seq for seq, _ in taken}
                self.store.append_block(block, sorted(taken_seqs))
                self._append(block)
                self.mempool = [(s, t) for s, t in self.mempool if s not in taken_seqs]
            self.announce()
            return block

    # -- consensus -------------------------------------------------------

    def call_peer(
        self, peer: str, path: str, params: dict[str, Any] | None = None, body: Any = None
    ) -> PeerAnswer:
        """One bounded call to a peer, through this node's simulated faults."""
        try:
            delay = self.faults.check(peer)
        except Refused as exc:
            raise PeerError(str(exc)) from exc
        if delay and self.stopping.wait(delay):
            raise PeerError("the node is shutting down")
        headers = {PEER_HEADER: self.config.netloc}
        return get_json(peer, path, params, self.config.limits, headers, body)

    def replace_chain(self) -> ReplaceResult:
        """The blog's longest-chain rule, bounded: every peer asked at once,
        each answer judged by its own count of blocks and full validation."""
        with self.lock:
            ours = list(self.chain)
            our_hashes = list(self.hashes)
            peers = list(self.peers)
        outcomes: list[PeerOutcome] = []
        candidates: list[Candidate] = []
        if peers:
            for outcome, cand in self.pool.map(
                lambda p: self._ask_peer(p, ours, our_hashes), peers
            ):
                outcomes.append(outcome)
                if cand is not None:
                    candidates.append(cand)
        best = max(candidates, key=lambda c: c.work, default=None)
        replaced = best is not None and self._adopt(best)
        for o in outcomes:
            if best is not None and o.peer == best.peer:
                o.outcome = "adopted" if replaced else "not longer"
                o.detail = "" if replaced else "our chain changed meanwhile"
            elif o.outcome == "longer":
                o.outcome, o.detail = "not longer", "another peer's chain was chosen"
        return ReplaceResult(replaced, outcomes)

    def _ask_peer(
        self, peer: str, ours: list[Block], our_hashes: list[str]
    ) -> tuple[PeerOutcome, Candidate | None]:
        params = None
        if self.config.sync == "incremental":
            params = {
                "locator": ",".join(our_hashes[i - 1] for i in locator_indexes(len(ours))),
                "longer_than": len(ours),
            }
        try:
            answer = self.call_peer(peer, "/get_chain", params)
        except PeerError as exc:
            return PeerOutcome(peer, "failed", exc.reason), None
        data = answer.data
        if not isinstance(data, dict) or not isinstance(data.get("chain"), list):
            outcome = PeerOutcome(peer, "invalid", "answer has no chain list", bytes=answer.nbytes)
            return outcome, None
        blocks: list[Block] = data["chain"]
        start = data.get("start")
        if rules.is_int(start) and self.config.sync == "incremental":
            keep = start - 1
            if not 0 <= keep <= len(ours):
                return PeerOutcome(peer, "invalid", f"start {start} is out of range",
                                   bytes=answer.nbytes), None
            if not blocks:  # nothing past what we have, or not longer
                claimed = data.get("length")
                return PeerOutcome(peer, "not longer", "",
                                   claimed if rules.is_int(claimed) else None,
                                   answer.nbytes), None
        else:  # a full chain: the blog's answer, or --sync full
            keep = rules.fork_index(ours, blocks) if blocks else 0
            blocks = blocks[keep:]
        length = keep + len(blocks)  # our own count, never the peer's "length"
        candidate = ours[:keep] + blocks
        work = self.rules.work(candidate, self.config.difficulty)
        if work <= self.rules.work(ours, self.config.difficulty):  # a tie keeps ours
            return PeerOutcome(peer, "not longer", "", length, answer.nbytes), None
        problem = self.rules.chain_problem(candidate, self.config.difficulty, start=keep)
        if problem:
            return PeerOutcome(peer, "invalid", problem, length, answer.nbytes), None
        base = our_hashes[keep - 1] if keep else None
        return (PeerOutcome(peer, "longer", "", length, answer.nbytes),
                Candidate(peer, keep, blocks, base, work))

    def _adopt(self, cand: Candidate) -> bool:
        with self.lock:
            if cand.work <= self.rules.work(self.chain, self.config.difficulty):
                return False
            if cand.keep and (
                len(self.hashes) < cand.keep or self.hashes[cand.keep - 1] != cand.base_hash
            ):
                return False
            abandoned = self.chain[cand.keep:]
            # Back to the mempool: what the abandoned blocks carried (not their
            # rewards) and what was waiting; out of it: what the new blocks carry.
            pool = self.rules.user_transactions(abandoned) + [tx for _, tx in self.mempool]
            keys = [rules.tx_key(tx) for tx in pool]
            for tx in self.rules.user_transactions(cand.blocks):
                key = rules.tx_key(tx)
                if key in keys:
                    i = keys.index(key)
                    del pool[i], keys[i]
            # Strict rules drop what no longer holds on the new chain (a spend the
            # new chain already made, say); classic rules keep everything.
            pool = self.rules.reconcile(self.chain[:cand.keep] + cand.blocks, pool)
            seqs = self.store.replace_chain(cand.keep, cand.blocks, pool)
            for h in self.hashes[cand.keep:]:
                self._index.pop(h, None)
            del self.chain[cand.keep:]
            del self.hashes[cand.keep:]
            for block in cand.blocks:
                self._append(block)
            self.mempool = list(zip(seqs, pool, strict=True))
            return True

    def forge_from(self, victim: str) -> Forgery:
        """The forger role: take `victim`'s chain, rewrite it (see forger.py),
        make it ours without validation, and offer it to every peer."""
        try:
            answer = self.call_peer(victim, "/get_chain")
        except PeerError as exc:
            raise ForgeError(f"cannot fetch {victim}'s chain: {exc.reason}") from exc
        honest = answer.data.get("chain") if isinstance(answer.data, dict) else None
        if self.rules.chain_problem(honest, self.config.difficulty) is not None:
            raise ForgeError(f"{victim} did not answer a valid chain to forge")
        assert isinstance(honest, list)
        index = len(honest) + 1
        try:
            forgery = forge(honest, self.rules, self.config.miner, self.address,
                            self.config.difficulty, self.config.timestamp(index) or rules.now())
        except NothingToForge as exc:
            raise ForgeError(str(exc)) from exc
        with self.lock:
            pool = [tx for _, tx in self.mempool]
            seqs = self.store.replace_chain(0, forgery.chain, pool)
            self.chain = []
            self.hashes = []
            self._index = {}
            for block in forgery.chain:
                self._append(block)
            self.mempool = list(zip(seqs, pool, strict=True))
            peers = list(self.peers)
        for peer in peers:  # offer it, whatever the propagation setting
            self.gossip.submit(self._announce_to, peer, len(forgery.chain))
        return forgery

    # -- running by itself -----------------------------------------------

    def announce(self, exclude: str | None = None) -> None:
        """Under broadcast propagation, tell every peer we have a new tip; each
        then syncs from us. Fire and forget: a dead peer only costs a thread."""
        if self.config.propagation != "broadcast":
            return
        with self.lock:
            peers = [p for p in self.peers if p != exclude]
            length = len(self.chain)
        for peer in peers:
            self.gossip.submit(self._announce_to, peer, length)

    def _announce_to(self, peer: str, length: int) -> None:
        try:
            self.call_peer(peer, "/announce", body={"peer": self.config.netloc, "length": length})
        except PeerError as exc:
            log.info("announce to %s failed: %s", peer, exc.reason)

    def sync_from(self, peer: str) -> bool:
        """Schedule a sync from one peer that announced a new tip. Answers False
        when one is already pending for it (announcements coalesce)."""
        with self.lock:
            if peer in self._syncing or self.stopping.is_set():
                return False
            self._syncing.add(peer)
        self.gossip.submit(self._sync_from, peer)
        return True

    def _sync_from(self, peer: str) -> None:
        try:
            with self.lock:
                ours, hashes = list(self.chain), list(self.hashes)
            _, cand = self._ask_peer(peer, ours, hashes)
        finally:
            with self.lock:
                self._syncing.discard(peer)
        if cand is not None and self._adopt(cand):
            self.announce(exclude=peer)  # relay, so gossip crosses partial meshes

    def set_automine(self, every: float | None) -> None:
        """Mine a block every `every` seconds; None stops."""
        with self.lock:
            self.automine_every = every
            self._automine_wake.set()
            if every and (self._automine_thread is None or not self._automine_thread.is_alive()):
                self._automine_thread = threading.Thread(
                    target=self._automine_loop, name="automine", daemon=True)
                self._automine_thread.start()

    def _automine_loop(self) -> None:
        while not self.stopping.is_set():
            self._automine_wake.clear()
            every = self.automine_every
            if every is None:
                return
            if self._automine_wake.wait(every):
                continue  # the settings changed: start the wait again
            try:
                self.mine_block()
            except MiningCancelled:
                return
            except Exception:  # keep mining; the log says what went wrong
                log.exception("automine failed")

    def close(self) -> None:
        self.stopping.set()
        self._automine_wake.set()
        self.gossip.shutdown(wait=False, cancel_futures=True)
        self.pool.shutdown(wait=False, cancel_futures=True)
