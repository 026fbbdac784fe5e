"""Transactions the lab made: a ledger of every acknowledged one, and a traffic generator.

The ledger is what "no transaction lost" is checked against: every transaction a node
acknowledged (HTTP 201) to the lab must be in the agreed chain or in some node's mempool.
The blog's transactions carry no id, so they are compared as a multiset of their JSON; the
generator gives each of its transactions a distinct amount, so no two are ever equal.

Nothing here imports Textual: the TUI and the headless runner toggle the same generator.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from becoin_core.chain import tx_key, user_transactions
from becoin_lab.errors import LabError, NodeDown, NodeError

DEFAULT_ADDRESSES = ("PublicKeya", "PublicKeyb", "PublicKeyc", "PublicKeyd")
MAX_RATE = 1000.0


@dataclass(frozen=True)
class Acknowledged:
    node: str
    tx: dict[str, Any]
    at: float


class Ledger:
    """Every transaction a node acknowledged to this lab. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._acked: list[Acknowledged] = []
        self._serial = itertools.count(1)

    def record(self, node: str, tx: dict[str, Any]) -> None:
        with self._lock:
            self._acked.append(Acknowledged(node, dict(tx), time.time()))

    def next_serial(self) -> int:
        with self._lock:
            return next(self._serial)

    def acknowledged(self) -> list[Acknowledged]:
        with self._lock:
            return list(self._acked)

    def __len__(self) -> int:
        with self._lock:
            return len(self._acked)

    def missing(
        self,
        chain: Iterable[dict[str, Any]],
        mempools: Iterable[Iterable[dict[str, Any]]],
        before: float | None = None,
    ) -> list[Acknowledged]:
        """Acknowledged transactions (those acknowledged before ``before``, a time.time(),
        when given) found neither in ``chain`` nor in any of ``mempools``."""
        present = Counter(tx_key(tx) for tx in user_transactions(chain))
        for pool in mempools:
            present.update(tx_key(tx) for tx in pool)
        lost = []
        for ack in self.acknowledged():
            if before is not None and ack.at >= before:
                continue
            key = tx_key(ack.tx)
            if present[key] > 0:
                present[key] -= 1
            else:
                lost.append(ack)
        return lost


@dataclass
class TrafficStats:
    running: bool = False
    rate: float = 0.0
    posted: int = 0  # attempts, each to one node
    acknowledged: int = 0
    failed: int = 0  # attempts a node refused or did not answer (retried on another node)
    last_error: str | None = None
    per_node: dict[str, int] = field(default_factory=dict)  # acknowledged, by node


class TrafficGenerator:
    """Posts random transactions between ``addresses`` at ``rate`` per second, each to a
    random node that is up; every acknowledged one goes to the ledger.

    ``post(node, sender, receiver, amount)`` makes the call (Lab.add_transaction, which
    records acknowledged transactions); ``is_up(node)`` tells whether a node may be tried.
    """

    def __init__(
        self,
        post: Callable[[str, str, str, int], object],
        nodes: Sequence[str],
        ledger: Ledger,
        rate: float,
        addresses: Sequence[str] = DEFAULT_ADDRESSES,
        is_up: Callable[[str], bool] = lambda _name: True,
        seed: int | None = None,
    ) -> None:
        if not 0 < rate <= MAX_RATE:
            raise LabError(f"traffic rate must be above 0 and at most {MAX_RATE:g} per second")
        if len(set(addresses)) < 2:
            raise LabError("traffic needs at least two different addresses")
        if not nodes:
            raise LabError("traffic needs at least one node")
        self.post = post
        self.nodes = list(nodes)
        self.ledger = ledger
        self.addresses = list(dict.fromkeys(addresses))
        self.is_up = is_up
        self.random = random.Random(seed)
        self.stats = TrafficStats(rate=rate)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._resting: dict[str, float] = {}  # node -> monotonic time it may be tried again

    @property
    def rate(self) -> float:
        return self.stats.rate

    @rate.setter
    def rate(self, value: float) -> None:
        if not 0 < value <= MAX_RATE:
            raise LabError(f"traffic rate must be above 0 and at most {MAX_RATE:g} per second")
        with self._lock:
            self.stats.rate = value

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def snapshot(self) -> TrafficStats:
        with self._lock:
            return TrafficStats(**{**self.stats.__dict__, "per_node": dict(self.stats.per_node),
                                   "running": self.running})

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="lab-traffic", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop and wait for the post in flight, so the ledger is final when this returns."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        due = time.monotonic()
        while not self._stop.is_set():
            self.send_one()
            due += 1.0 / self.stats.rate
            now = time.monotonic()
            if due < now - 1.0:  # fell behind by over a second: don't burst to catch up
                due = now
            if self._stop.wait(max(0.0, due - now)):
                return

    def send_one(self) -> bool:
        """Post one transaction, trying the up nodes in random order; True when acknowledged."""
        sender, receiver = self.random.sample(self.addresses, 2)
        amount = self.ledger.next_serial()  # distinct amounts: no two transactions equal
        now = time.monotonic()
        candidates = [n for n in self.nodes if self._resting.get(n, 0) <= now and self.is_up(n)]
        self.random.shuffle(candidates)
        for node in candidates[:3]:
            with self._lock:
                self.stats.posted += 1
            try:
                self.post(node, sender, receiver, amount)
            except (NodeDown, NodeError) as exc:
                with self._lock:
                    self.stats.failed += 1
                    self.stats.last_error = str(exc)
                if isinstance(exc, NodeDown):
                    self._resting[node] = time.monotonic() + 1.0
                continue
            with self._lock:
                self.stats.acknowledged += 1
                self.stats.per_node[node] = self.stats.per_node.get(node, 0) + 1
            return True
        return False
