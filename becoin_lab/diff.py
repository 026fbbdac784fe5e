"""Chains compared by block hash: common prefix, fork point, who agrees with whom.

Under the blog's rules every node finds the same nonce at the same height, so two nodes'
blocks differ only in timestamp and transactions: only hashes tell chains apart.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from becoin_lab.lab import Snapshot


@dataclass(frozen=True)
class ChainDiff:
    """How the nodes' chains relate. Down nodes take no part in agreement."""

    groups: list[list[str]]  # nodes with the same chain (same tip); longest chain first
    common_prefix: int  # leading blocks every up node shares
    fork_point: int | None  # first index where two up chains hold different blocks
    lengths: dict[str, int]
    tips: dict[str, str]
    down: list[str]

    @property
    def consensus(self) -> bool:
        """Every node that answers holds the same chain (and at least one answers)."""
        return len(self.groups) == 1

    @property
    def complete(self) -> bool:
        """Consensus with no node down."""
        return self.consensus and not self.down

    @property
    def forked(self) -> bool:
        return self.fork_point is not None

    @property
    def longest(self) -> list[str]:
        best = max(self.lengths.values(), default=0)
        return [n for n, length in self.lengths.items() if length == best]

    def group_of(self, name: str) -> int | None:
        for i, group in enumerate(self.groups):
            if name in group:
                return i
        return None

    def label(self, name: str) -> str:
        """'A' for the first (longest) group, 'B' for the next...; '-' for a down node."""
        i = self.group_of(name)
        if i is None:
            return "-"
        letters = string.ascii_uppercase
        return letters[i] if i < len(letters) else str(i + 1)

    def agree(self, a: str, b: str) -> bool:
        i = self.group_of(a)
        return i is not None and i == self.group_of(b)


def common_prefix(a: Sequence[str], b: Sequence[str]) -> int:
    """How many leading hashes two chains share.

    Slices compare at C speed: equal chains (the common case) cost one comparison, and a
    fork is found by bisection over prefix slices instead of a Python loop per block."""
    if type(a) is not type(b) or not isinstance(a, (list, tuple)):
        a, b = tuple(a), tuple(b)  # a list never equals a tuple: compare like with like
    n = min(len(a), len(b))
    if a[:n] == b[:n]:
        return n
    lo, hi = 0, n  # a[:lo] == b[:lo], a[:hi] != b[:hi]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if a[lo:mid] == b[lo:mid]:
            lo = mid
        else:
            hi = mid
    return lo


def diff_chains(chains: Mapping[str, Sequence[str] | None]) -> ChainDiff:
    """Compare chains given as hash lists (block 1 first); None marks a node that is down."""
    up = {name: h for name, h in chains.items() if h is not None}
    down = [name for name, h in chains.items() if h is None]
    by_tip: dict[tuple[int, str], list[str]] = {}
    for name, hashes in up.items():
        by_tip.setdefault((len(hashes), hashes[-1] if hashes else ""), []).append(name)
    order = {name: i for i, name in enumerate(up)}
    groups = sorted(by_tip.values(), key=lambda g: (-len(up[g[0]]), -len(g), order[g[0]]))
    reps = [up[g[0]] for g in groups]
    prefix = min((len(h) for h in reps), default=0)
    fork: int | None = None
    for i, a in enumerate(reps):
        for b in reps[i + 1 :]:
            shared = common_prefix(a, b)
            prefix = min(prefix, shared)
            if shared < min(len(a), len(b)):  # both have block shared+1 and it differs
                fork = shared + 1 if fork is None else min(fork, shared + 1)
    return ChainDiff(
        groups=groups,
        common_prefix=prefix,
        fork_point=fork,
        lengths={n: len(h) for n, h in up.items()},
        tips={n: h[-1] for n, h in up.items() if h},
        down=down,
    )


def diff(snapshot: Snapshot) -> ChainDiff:
    """Compare the chains of a Lab snapshot."""
    return diff_chains({s.name: (s.hashes if s.up else None) for s in snapshot})
