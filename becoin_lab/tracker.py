"""A node's chain kept locally and refreshed incrementally.

After one new block, a refresh costs /status plus one block. On a reorg (the first new
block does not link to our copy) it steps back, doubling the distance, until the chains
link again, and at worst fetches the whole chain.

Blocks are hashed as the node links them (its ruleset's link_hash: the blog's block hash
under classic rules, the header hash under strict ones), so the tip compares with /status's
and a new block's previous_hash with our last hash.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from becoin_core.ruleset import ruleset
from becoin_lab.client import Block, NodeClient, NodeStatus


class ChainTracker:
    """One node's chain as last seen, with the hash of every block."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.hashes: list[str] = []
        self.last_fetched = 0  # blocks downloaded by the last refresh
        self.lock = threading.Lock()
        self.rules = "classic"  # the node's, from its /status
        self._hash: Callable[[Block], str] = ruleset("classic").link_hash

    @property
    def length(self) -> int:
        return len(self.blocks)

    @property
    def tip(self) -> str | None:
        return self.hashes[-1] if self.hashes else None

    def link_hash(self, block: Block) -> str:
        """A block's hash as this node links blocks (its rules')."""
        return self._hash(block)

    def reset(self) -> None:
        with self.lock:
            self.blocks, self.hashes, self.last_fetched = [], [], 0

    def refresh(self, client: NodeClient, status: NodeStatus | None = None) -> int:
        """Bring the copy up to date with the node; returns how many blocks were fetched."""
        with self.lock:
            self.last_fetched = self._refresh(client, status or client.status())
            return self.last_fetched

    def _refresh(self, client: NodeClient, status: NodeStatus) -> int:
        if status.rules != self.rules:  # another node behind the URL, or a new start
            self.rules, self._hash = status.rules, ruleset(status.rules).link_hash
            self._truncate(0)
        have = len(self.blocks)
        if have and status.length == have and status.tip == self.hashes[-1]:
            return 0
        keep = min(have, status.length)
        back = 1
        while keep > 0:
            page = client.get_chain(since=keep)
            if page.start != keep + 1:  # the node ignored `since`: it sent the whole chain
                return self._replace(page.blocks)
            if page.blocks and page.blocks[0].get("previous_hash") == self.hashes[keep - 1]:
                self._truncate(keep)
                self._extend(page.blocks)
                return len(page.blocks)
            if not page.blocks and page.length == keep and self.hashes[keep - 1] == status.tip:
                self._truncate(keep)  # the chain got shorter and our prefix is its chain
                return 0
            keep = max(0, keep - back)
            back *= 2
        return self._replace(client.get_chain().blocks)

    def _truncate(self, n: int) -> None:
        del self.blocks[n:]
        del self.hashes[n:]

    def _extend(self, blocks: list[Block]) -> None:
        self.blocks.extend(blocks)
        self.hashes.extend(self._hash(b) for b in blocks)

    def _replace(self, blocks: list[Block]) -> int:
        self._truncate(0)
        self._extend(blocks)
        return len(blocks)
