"""Network faults a lab can switch on in a node: a partition, latency and loss.

They act on peer traffic only, both ways: the node's own calls to peers, and
requests that other nodes make to it (recognised by the X-BeCoin-Peer header
our nodes send). A person's own requests (curl, the lab) are never affected,
so a partitioned network can still be watched and steered.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any

PEER_HEADER = "X-BeCoin-Peer"
ADMIN_HEADER = "X-BeCoin-Admin"


class Refused(Exception):
    """Peer traffic this node's faults do not let through."""


@dataclass
class Faults:
    blocked: set[str] = field(default_factory=set)  # peers across the cut
    latency_ms: int = 0
    loss: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _random: random.Random = field(default_factory=random.Random, repr=False)

    def set_partition(self, blocked: list[str]) -> None:
        with self._lock:
            self.blocked = set(blocked)

    def set_latency(self, ms: int, loss: float) -> None:
        with self._lock:
            self.latency_ms, self.loss = ms, loss

    def as_json(self) -> dict[str, Any]:
        with self._lock:
            return {"blocked": sorted(self.blocked), "latency_ms": self.latency_ms,
                    "loss": self.loss}

    def check(self, peer: str | None) -> float:
        """For traffic with `peer` (None: not a peer): raise Refused if it may
        not pass, else answer the delay in seconds to apply."""
        if peer is None:
            return 0.0
        with self._lock:
            if peer in self.blocked:
                raise Refused(f"partitioned: {peer} is on the other side of the cut")
            if self.loss and self._random.random() < self.loss:
                raise Refused(f"lost: simulated loss of {self.loss:.0%} on this node")
            return self.latency_ms / 1000
