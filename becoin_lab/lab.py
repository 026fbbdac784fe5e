"""Lab: the network's actions and its state.

The TUI's keys and the headless runner's steps call the same methods. Calls that touch
several nodes run concurrently. Nothing here imports Textual.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from becoin_lab.balances import Number, balances
from becoin_lab.client import Block, MineResult, NodeClient, ReplaceResult, TxResult, ValidResult
from becoin_lab.config import LabConfig, check_ports_free
from becoin_lab.diff import ChainDiff, diff
from becoin_lab.errors import LabError, NodeError
from becoin_lab.supervisor import Death, ProgressFn, Supervisor
from becoin_lab.tracker import ChainTracker

T = TypeVar("T")
ALL = "all"


@dataclass(frozen=True)
class NodeState:
    """One node as seen by a snapshot. A down node keeps its last known chain (stale)."""

    name: str
    url: str
    up: bool
    chain: tuple[Block, ...] = ()
    hashes: tuple[str, ...] = ()
    mempool: tuple[dict[str, Any], ...] = ()
    peers: tuple[str, ...] = ()
    address: str = ""
    managed: bool = True
    error: str | None = None
    fetched: int = 0  # blocks downloaded to take this snapshot

    @property
    def length(self) -> int:
        return len(self.chain)

    @property
    def tip(self) -> str:
        return self.hashes[-1] if self.hashes else ""

    def balances(self) -> dict[str, Number]:
        return balances(self.chain)


@dataclass(frozen=True)
class Snapshot:
    """Every node's state at one moment, in lab.toml order."""

    nodes: dict[str, NodeState]
    taken_at: float = field(default_factory=time.time)

    def __iter__(self) -> Iterator[NodeState]:
        return iter(self.nodes.values())

    def __getitem__(self, name: str) -> NodeState:
        return self.nodes[name]

    def __len__(self) -> int:
        return len(self.nodes)

    @property
    def up(self) -> list[str]:
        return [s.name for s in self if s.up]

    def diff(self) -> ChainDiff:
        return diff(self)


class Lab:
    """A network of nodes described by a LabConfig: start it, act on it, look at it."""

    def __init__(
        self,
        config: LabConfig,
        data_dir: Path | None = None,
        progress: ProgressFn | None = None,
        node_command: list[str] | None = None,
        timeout: float = 5.0,
    ) -> None:
        self.config = config
        self.supervisor = Supervisor(config, data_dir, node_command, progress)
        self.clients = {
            n.name: NodeClient(n.name, n.base_url, timeout=timeout) for n in config.nodes
        }
        self.trackers = {n.name: ChainTracker() for n in config.nodes}
        self._pool = ThreadPoolExecutor(
            max_workers=min(32, max(4, len(config.nodes))), thread_name_prefix="lab"
        )
        self.started = False

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return self.config.names

    def start(self, timeout: float | None = None) -> None:
        """Check ports, start every managed node, wait until all answer (StartError if not)."""
        check_ports_free(self.config)
        urls = self.supervisor.start_all(timeout)
        for name, url in urls.items():
            self.clients[name].url = url
        self.started = True

    def stop(self) -> None:
        """Stop every node the lab started (attached nodes are left alone)."""
        self.supervisor.stop_all()
        self.started = False

    def close(self) -> None:
        self.stop()
        self._pool.shutdown(wait=False, cancel_futures=True)
        for client in self.clients.values():
            client.close()

    def __enter__(self) -> Lab:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def client(self, name: str) -> NodeClient:
        try:
            return self.clients[name]
        except KeyError:
            known = ", ".join(self.names)
            raise LabError(f"no node named '{name}' (nodes: {known})") from None

    def resolve(self, nodes: str | list[str] | None) -> list[str]:
        """None or 'all' -> every node; a name or list of names -> checked names."""
        if nodes is None or nodes == ALL:
            return list(self.names)
        names = [nodes] if isinstance(nodes, str) else list(nodes)
        for name in names:
            self.client(name)
        return names

    # -- one node's process ----------------------------------------------------------------
    def start_node(self, name: str) -> str:
        url = self.supervisor.start(name)
        self.clients[name].url = url
        return url

    def stop_node(self, name: str) -> None:
        self.supervisor.stop(name)

    def kill_node(self, name: str) -> None:
        self.supervisor.kill(name)

    def restart_node(self, name: str) -> str:
        url = self.supervisor.restart(name)
        self.clients[name].url = url
        return url

    def deaths(self) -> list[Death]:
        """Nodes that died without being asked to, each reported once."""
        return self.supervisor.check()

    # -- actions ---------------------------------------------------------------------------
    def connect(self, nodes: list[str] | None = None) -> dict[str, list[str]]:
        """Connect each given node (default: all) to every other given node, concurrently."""
        names = self.resolve(nodes)
        if len(names) < 2:
            raise LabError("connect needs at least two nodes")
        urls = {n: self.clients[n].url for n in names}
        return self._each(
            names, lambda n: self.clients[n].connect([u for m, u in urls.items() if m != n])
        )

    connect_all = connect

    def mine(self, node: str, count: int = 1) -> list[MineResult]:
        """Mine ``count`` blocks on one node, one after another."""
        client = self.client(node)
        return [client.mine() for _ in range(count)]

    def mine_each(
        self, nodes: str | list[str] | None = None, count: int = 1
    ) -> dict[str, list[MineResult]]:
        """Mine ``count`` blocks on each given node, the nodes concurrently."""
        return self._each(self.resolve(nodes), lambda n: self.mine(n, count))

    def add_transaction(self, node: str, sender: str, receiver: str, amount: Any) -> TxResult:
        return self.client(node).add_transaction(sender, receiver, amount)

    def replace_chain(self, nodes: str | list[str] | None = None) -> dict[str, ReplaceResult]:
        """replace_chain on one node, some, or all (a consensus round), concurrently."""
        return self._each(self.resolve(nodes), lambda n: self.clients[n].replace_chain())

    def consensus_round(self) -> dict[str, ReplaceResult]:
        return self.replace_chain(ALL)

    def validate(self, nodes: str | list[str] | None = None) -> dict[str, ValidResult]:
        return self._each(self.resolve(nodes), lambda n: self.clients[n].is_valid())

    # -- state -----------------------------------------------------------------------------
    def snapshot(self, nodes: str | list[str] | None = None) -> Snapshot:
        """Every node's state, fetched concurrently and incrementally; down nodes marked."""
        names = self.resolve(nodes)
        states = list(self._pool.map(self._node_state, names))
        return Snapshot({s.name: s for s in states})

    def diff(self, snapshot: Snapshot | None = None) -> ChainDiff:
        return diff(snapshot or self.snapshot())

    def balances(self, node: str) -> dict[str, Number]:
        return self.snapshot(node)[node].balances()

    def _node_state(self, name: str) -> NodeState:
        client, tracker = self.clients[name], self.trackers[name]
        managed = self.config.node(name).managed
        try:
            status = client.status()
            fetched = tracker.refresh(client, status)
            pool = tuple(client.mempool()) if status.mempool else ()
        except NodeError as exc:
            return NodeState(
                name,
                client.url,
                False,
                tuple(tracker.blocks),
                tuple(tracker.hashes),
                managed=managed,
                error=exc.detail,
            )
        with tracker.lock:
            chain, hashes = tuple(tracker.blocks), tuple(tracker.hashes)
        return NodeState(
            name,
            client.url,
            True,
            chain,
            hashes,
            pool,
            tuple(status.peers),
            status.address,
            managed,
            None,
            fetched,
        )

    def _each(self, names: list[str], call: Callable[[str], T]) -> dict[str, T]:
        """Run call(name) for every name concurrently; raise the first error after all finish."""
        futures = {n: self._pool.submit(call, n) for n in names}
        results: dict[str, T] = {}
        errors: list[Exception] = []
        for name, future in futures.items():
            try:
                results[name] = future.result()
            except Exception as exc:  # noqa: BLE001 - re-raised below; Ctrl-C passes through
                errors.append(exc)
        if errors:
            if len(errors) == 1:
                raise errors[0]
            raise LabError("; ".join(str(e) for e in errors))
        return results
