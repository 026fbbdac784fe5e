"""One node's settings, shared by the CLI, the app factory and the tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from becoin_core.chain import DEFAULT_DIFFICULTY
from becoin_core.peers import PeerLimits

SYNC_MODES = ("incremental", "full")
RULES = ("classic",)
MAX_DIFFICULTY = 10


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
    limits: PeerLimits = field(default_factory=PeerLimits)
    max_peers: int = 256

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"
