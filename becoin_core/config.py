"""One node's settings, shared by the CLI, the app factory and the tests."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path

from becoin_core.chain import DEFAULT_DIFFICULTY
from becoin_core.peers import PeerLimits

SYNC_MODES = ("incremental", "full")
RULES = ("classic", "strict")
PROPAGATION = ("manual", "broadcast")
ROLES = ("honest", "forger")
MAX_DIFFICULTY = 10
FIXED_EPOCH = datetime.datetime(2026, 1, 1, 0, 0, 0, 1)


@dataclass
class NodeConfig:
    name: str = "node"
    host: str = "127.0.0.1"
    port: int = 5000
    data_dir: Path | None = None  # None: in memory, gone when the node stops
    difficulty: int = DEFAULT_DIFFICULTY
    miner: str = "Receiver"
    sync: str = "incremental"
    rules: str = "classic"
    propagation: str = "manual"  # the blog's: blocks spread only by replace_chain
    role: str = "honest"  # "forger": may rewrite history on /admin/forge
    admin_token: str | None = None  # None: the /admin routes answer 403
    limits: PeerLimits = field(default_factory=PeerLimits)
    max_peers: int = 256
    # For reproducible screens and tests: timestamps from the block index, not
    # the wall clock, and a given address instead of a random one.
    fixed_clock: bool = False
    address: str | None = None

    def timestamp(self, index: int) -> str | None:
        """The timestamp for block `index`; None means the blog's wall clock."""
        if not self.fixed_clock:
            return None
        return str(FIXED_EPOCH + datetime.timedelta(seconds=index - 1))

    @property
    def netloc(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.netloc}"
