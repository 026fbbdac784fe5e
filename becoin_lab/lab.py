"""Lab: the network's actions and its state.

The TUI's keys and the headless runner's steps call the same methods. Calls that touch
several nodes run concurrently. Nothing here imports Textual.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from becoin_core import strict
from becoin_core.ruleset import ruleset
from becoin_lab.balances import Number, balances
from becoin_lab.client import (
    Block,
    Faults,
    ForgeResult,
    MineResult,
    NodeClient,
    ReplaceResult,
    TxResult,
    ValidResult,
)
from becoin_lab.config import LabConfig, check_ports_free
from becoin_lab.diff import ChainDiff, diff
from becoin_lab.errors import LabError, NodeError
from becoin_lab.supervisor import Death, ProgressFn, Supervisor
from becoin_lab.tracker import ChainTracker
from becoin_lab.traffic import (
    DEFAULT_ADDRESSES,
    Acknowledged,
    Ledger,
    TrafficGenerator,
    TrafficStats,
)
from becoin_lab.wallets import WalletBook

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
    propagation: str | None = None  # "manual" or "broadcast", from /status
    automine: float | None = None  # seconds between automined blocks; None: off
    latency_ms: int = 0  # simulated delay on the node's peer traffic
    loss: float = 0.0  # share of its peer calls dropped
    blocked: tuple[str, ...] = ()  # nodes across a partition from it (names; host:port if unknown)
    rules: str = "classic"  # "classic" or "strict", from /status
    role: str = "honest"  # "honest" or "forger", from /status
    miner: str | None = None  # who its rewards pay (a public key under strict rules)

    @property
    def length(self) -> int:
        return len(self.chain)

    @property
    def tip(self) -> str:
        return self.hashes[-1] if self.hashes else ""

    def balances(self) -> dict[str, Number]:
        """Address -> balance on this node's chain, by its rules (classic: the blog's way)."""
        if self.rules == "strict":
            return dict(strict.balances(self.chain))
        return balances(self.chain)


@dataclass(frozen=True)
class WalletBalance:
    """One wallet's balance on every node (None: the node is down or not yet seen)."""

    name: str
    address: str
    nodes: dict[str, Number | None]

    @property
    def agree(self) -> bool:
        """Every node that answers says the same balance."""
        return len({v for v in self.nodes.values() if v is not None}) <= 1


@dataclass(frozen=True)
class Forged:
    """The last forgery: which forger, whose chain, and the hash (forger's rules) of every
    block it changed, so a node's chain can be checked for it."""

    forger: str
    victim: str
    result: ForgeResult
    hashes: dict[int, str]  # block index -> hash in the forged chain

    def held_by(self, state: NodeState) -> bool:
        """Whether the node's chain holds the rewritten block of this forgery."""
        index = self.result.rewritten
        want = self.hashes.get(index)
        return want is not None and len(state.hashes) >= index and state.hashes[index - 1] == want


@dataclass(frozen=True)
class Snapshot:
    """Every node's state at one moment, in lab.toml order."""

    nodes: dict[str, NodeState]
    taken_at: float = field(default_factory=time.time)
    began_at: float | None = None  # when fetching began (time.time()), if known

    def __iter__(self) -> Iterator[NodeState]:
        return iter(self.nodes.values())

    def __getitem__(self, name: str) -> NodeState:
        return self.nodes[name]

    def __len__(self) -> int:
        return len(self.nodes)

    @property
    def up(self) -> list[str]:
        return [s.name for s in self if s.up]

    @property
    def partition(self) -> list[list[str]]:
        """The sides of a partition, as the nodes report it: [] when no node blocks any
        other, else the nodes grouped by whom they can reach (a down node joins the first
        side that reaches it)."""
        if not any(s.blocked for s in self):
            return []
        names = list(self.nodes)
        sides: dict[tuple[str, ...], list[str]] = {}
        for s in self:
            if s.up:
                reach = tuple(n for n in names if n not in s.blocked)
                sides.setdefault(reach, []).append(s.name)
        for s in self:
            if not s.up:
                home = next((k for k in sides if s.name in k), None)
                sides.setdefault(home or (s.name,), []).append(s.name)
        return list(sides.values())

    def side(self, name: str) -> int | None:
        """Index of the node's side in ``partition``; None when there is no partition."""
        for i, side in enumerate(self.partition):
            if name in side:
                return i
        return None

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
        # The admin routes' secret, new every run: only this lab can fault its nodes.
        self.admin_token = secrets.token_urlsafe(24)
        self.supervisor = Supervisor(
            config, data_dir, node_command, progress, admin_token=self.admin_token
        )
        # Wallets live with the node data: a later run with the same data_dir reuses them.
        self.wallets = WalletBook(self.supervisor.data_dir / "wallets", config.wallet_names)
        self.supervisor.miner_key = self.wallets.address
        # (node, tx): the last signed transaction a node accepted, for resend (a replay)
        self.last_signed: tuple[str, dict[str, Any]] | None = None
        self.forgery: Forged | None = None  # the last forgery, see forge()
        env_token = os.environ.get("BECOIN_ADMIN_TOKEN") or None
        self.clients = {
            n.name: NodeClient(
                n.name,
                n.base_url,
                timeout=timeout,
                admin_token=self.admin_token
                if n.managed
                else n.admin_token or config.admin_token or env_token,
            )
            for n in config.nodes
        }
        self.ledger = Ledger()  # every transaction a node acknowledged to this lab
        self.traffic_generator: TrafficGenerator | None = None
        self.partition_groups: list[list[str]] = []  # as the lab last set it; [] healed
        self.latencies: dict[str, tuple[int, float]] = {}  # node -> (ms, loss) the lab set
        self._self_netlocs: dict[str, str] = {}  # node -> host:port it calls itself
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
        if self.traffic_generator is not None:
            self.traffic_generator.stop()
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
        self._reapply_faults(name)
        return url

    def stop_node(self, name: str) -> None:
        self.supervisor.stop(name)

    def kill_node(self, name: str) -> None:
        self.supervisor.kill(name)

    def restart_node(self, name: str) -> str:
        url = self.supervisor.restart(name)
        self.clients[name].url = url
        self._reapply_faults(name)
        return url

    def _reapply_faults(self, name: str) -> None:
        """A node forgets its faults when its process ends, but a partition or a slow link
        is the network's, not the process's: put them back. Automine stays off."""
        if self.partition_groups:
            self.clients[name].partition(self._blocked_for(name, self.partition_groups))
        if name in self.latencies:
            self.clients[name].latency(*self.latencies[name])

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

    def add_transaction(
        self,
        node: str,
        sender: str | None = None,
        receiver: str = "",
        amount: Any = 0,
        *,
        wallet: str | None = None,
    ) -> TxResult:
        """POST /add_transaction; an acknowledged one goes to the ledger (see ``lost``).

        With ``wallet`` (a name from lab.toml) the lab sends as that wallet: under strict
        rules signed, with the sequence the node expects next (its chain, then its
        mempool); under classic rules unsigned, from the wallet's public key. ``receiver``
        may name a wallet (its public key is sent) or be an address. A refusal raises
        NodeError (status 400, the node's message)."""
        client = self.client(node)
        receiver = self.wallets.address(receiver)
        if wallet is None:
            if sender is None:
                raise LabError("add_transaction needs a sender or a wallet")
            sender = self.wallets.address(sender)  # a wallet's name: its key, unsigned
            result = client.add_transaction(sender, receiver, amount)
            self.ledger.record(node, {"sender": sender, "receiver": receiver, "amount": amount})
            return result
        if sender is not None and self.wallets.address(sender) != self.wallets.public_key(wallet):
            raise LabError("add_transaction: give a wallet or a sender, not both")
        me = self.wallets.get(wallet)
        state = self.snapshot(node)[node]
        if not state.up:
            raise NodeError(node, "add_transaction", state.error or "down")
        if state.rules != "strict":
            return self.add_transaction(node, me.public_key, receiver, amount)
        if not strict.KEY_RE.fullmatch(receiver):
            known = ", ".join(self.wallets.names) or "none"
            raise LabError(
                f"receiver '{receiver}' is neither a wallet (wallets: {known}) nor a public "
                "key (64 hex characters): strict rules pay public keys"
            )
        with self.wallets.sequence_locks[wallet]:
            pending = strict.Ledger.from_chain(state.chain)
            pending.admit(list(state.mempool), verify=False)
            tx = me.sign(receiver, amount, pending.next_sequence(me.public_key))
            result = client.post_transaction(tx)
            self.last_signed = (node, tx)
        self.ledger.record(node, tx)
        return result

    def resend(self, node: str | None = None) -> TxResult:
        """POST the last signed transaction a node accepted again, byte for byte (a replay),
        to ``node`` (default: the node that accepted it)."""
        if self.last_signed is None:
            raise LabError(
                "resend: no signed transaction accepted yet (add_transaction with a wallet)"
            )
        first, tx = self.last_signed
        target = node or first
        result = self.client(target).post_transaction(tx)
        self.ledger.record(target, tx)
        return result

    def forge(self, forger: str, victim: str | None = None) -> Forged:
        """The forger (role = "forger") rewrites ``victim``'s chain (default: the first
        honest node) without redoing its work and offers it to its peers, which sync
        from it: classic nodes adopt it, strict ones refuse it."""
        client = self.client(forger)
        node_cfg = self.config.node(forger)
        if node_cfg.managed and node_cfg.role != "forger":
            raise LabError(f"{forger} is honest: give it role = \"forger\" in lab.toml to forge")
        if victim is None:
            honest = [n.name for n in self.config.nodes if n.role == "honest" and n.name != forger]
            if not honest:
                raise LabError("forge: no honest node to forge from")
            victim = honest[0]
        self.client(victim)
        if victim == forger:
            raise LabError(f"forge: {forger} cannot forge its own chain")
        result = client.forge(_netloc(self.clients[victim].url))
        state = self.snapshot(forger)[forger]
        hashes = {i: state.hashes[i - 1] for i in result.changed if 0 < i <= len(state.hashes)}
        self.forgery = Forged(forger, victim, result, hashes)
        return self.forgery

    def wallet_keys(self) -> dict[str, str]:
        """Wallet name -> public key (its address), in lab.toml order."""
        return self.wallets.keys()

    def wallet_balances(self, snapshot: Snapshot | None = None) -> list[WalletBalance]:
        """Each wallet's balance on each node, by that node's rules."""
        if not len(self.wallets):
            return []
        snap = snapshot or self.snapshot()
        per_node = {s.name: s.balances() if s.up else None for s in snap}
        return [
            WalletBalance(
                name,
                key,
                {n: (b.get(key, 0) if b is not None else None) for n, b in per_node.items()},
            )
            for name, key in self.wallets.keys().items()
        ]

    def link_hash(self, node: str, block: Block) -> str:
        """A block's hash as ``node`` links blocks (by its rules, as last seen)."""
        tracker = self.trackers[node]
        if not tracker.blocks:  # not seen yet: as lab.toml says
            return ruleset(self.config.rules_of(node)).link_hash(block)
        return tracker.link_hash(block)

    def replace_chain(self, nodes: str | list[str] | None = None) -> dict[str, ReplaceResult]:
        """replace_chain on one node, some, or all (a consensus round), concurrently."""
        return self._each(self.resolve(nodes), lambda n: self.clients[n].replace_chain())

    def consensus_round(self) -> dict[str, ReplaceResult]:
        return self.replace_chain(ALL)

    def validate(self, nodes: str | list[str] | None = None) -> dict[str, ValidResult]:
        return self._each(self.resolve(nodes), lambda n: self.clients[n].is_valid())

    # -- faults (admin routes, behind the per-run token) ----------------------------------
    def partition(self, groups: list[list[str]]) -> dict[str, Faults]:
        """Cut the network into ``groups``: every node refuses peer traffic, both ways, with
        every node outside its group. Every node must be in exactly one group (a group of
        one isolates a node). Stopped nodes get their side when they start again."""
        seen: dict[str, int] = {}
        for i, group in enumerate(groups):
            if not group:
                raise LabError(f"partition: group {i + 1} is empty")
            for name in group:
                self.client(name)
                if name in seen:
                    raise LabError(
                        f"partition: {name} is in group {seen[name] + 1} and group {i + 1}"
                    )
                seen[name] = i
        left = [n for n in self.names if n not in seen]
        if left:
            raise LabError(
                f"partition: {', '.join(left)} in no group: put every node in one "
                "(a group of one isolates a node)"
            )
        if len(groups) < 2:
            raise LabError("partition needs at least two groups (heal joins the network again)")
        plan = [list(g) for g in groups]
        self._learn_netlocs()
        result = self._each_live(
            self.names, lambda n: self.clients[n].partition(self._blocked_for(n, plan))
        )
        self.partition_groups = plan
        return result

    def heal(self) -> dict[str, Faults]:
        """End a partition: every node takes peer traffic from every node again."""
        self.partition_groups = []
        return self._each_live(self.names, lambda n: self.clients[n].partition([]))

    def latency(self, node: str, ms: int, loss: float = 0.0) -> Faults:
        """Delay the node's peer calls, both ways, by ``ms``; drop a ``loss`` share (0-1).
        ms = 0 and loss = 0 make its links fast again."""
        client = self.client(node)
        if ms or loss:
            self.latencies[node] = (int(ms), float(loss))
        else:
            self.latencies.pop(node, None)
        if not self._live(node):
            return Faults([], int(ms), float(loss))
        return client.latency(int(ms), float(loss))

    def automine(
        self, nodes: str | list[str] | None, every: float | None = None, on: bool = True
    ) -> dict[str, float | None]:
        """Each given node (or "all") mines a block every ``every`` seconds, or stops."""
        if on and not every:
            raise LabError("automine on needs every = seconds between blocks")
        setting = float(every) if on and every else None
        return self._each(self.resolve(nodes), lambda n: self.clients[n].automine(setting))

    def faults(self, node: str) -> Faults:
        return self.client(node).faults()

    # -- traffic and the ledger ----------------------------------------------------------
    def traffic(
        self,
        rate: float = 5.0,
        on: bool = True,
        addresses: list[str] | None = None,
        nodes: str | list[str] | None = None,
        seed: int | None = None,
    ) -> TrafficStats:
        """Start (or retune) or stop the traffic generator: random transactions between
        ``addresses`` at ``rate`` per second, each to a random node that is up."""
        gen = self.traffic_generator
        if not on:
            if gen is not None:
                gen.stop()
                return gen.snapshot()
            return TrafficStats()
        names = self.resolve(nodes)
        strict_nodes = [n for n in names if self.config.rules_of(n) == "strict"]
        if strict_nodes:
            # Random unsigned payments would all be refused there: say so instead.
            raise LabError(
                f"traffic sends unsigned transactions, which strict nodes refuse "
                f"({', '.join(strict_nodes)}): aim it at classic nodes (nodes = [...]), "
                "or send signed ones with add_transaction and wallet = ..."
            )
        if gen is not None and gen.running:
            gen.stop()
        gen = TrafficGenerator(
            self.add_transaction,
            names,
            self.ledger,
            rate,
            addresses or DEFAULT_ADDRESSES,
            is_up=self._live,
            seed=seed,
        )
        self.traffic_generator = gen
        gen.start()
        return gen.snapshot()

    def traffic_stats(self) -> TrafficStats:
        gen = self.traffic_generator
        return gen.snapshot() if gen is not None else TrafficStats()

    def lost(self, snapshot: Snapshot | None = None) -> list[Acknowledged]:
        """Acknowledged transactions neither in the agreed chain (the longest group's, when
        the nodes disagree) nor in any up node's mempool. Only transactions acknowledged
        before the snapshot began count: later ones could not be in it yet."""
        snap = snapshot or self.snapshot()
        d = snap.diff()
        chain = snap[d.groups[0][0]].chain if d.groups else ()
        return self.ledger.missing(chain, [s.mempool for s in snap if s.up], snap.began_at)

    # -- state -----------------------------------------------------------------------------
    def snapshot(self, nodes: str | list[str] | None = None) -> Snapshot:
        """Every node's state, fetched concurrently and incrementally; down nodes marked."""
        names = self.resolve(nodes)
        began = time.time()
        states = list(self._pool.map(self._node_state, names))
        return Snapshot({s.name: s for s in states}, began_at=began)

    def diff(self, snapshot: Snapshot | None = None) -> ChainDiff:
        return diff(snapshot or self.snapshot())

    def balances(self, node: str) -> dict[str, Number]:
        return self.snapshot(node)[node].balances()

    def _node_state(self, name: str) -> NodeState:
        client, tracker = self.clients[name], self.trackers[name]
        managed = self.config.node(name).managed
        try:
            status = client.status()
            if isinstance(status.raw.get("url"), str):
                self._self_netlocs[name] = _netloc(status.raw["url"])
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
                rules=tracker.rules,
            )
        with tracker.lock:
            chain, hashes = tuple(tracker.blocks), tuple(tracker.hashes)
        faults = status.faults
        owners = self._netloc_owners()
        across = {owners.get(b, b) for b in faults.get("blocked", [])}
        blocked = [n for n in self.names if n in across] + sorted(across - set(self.names))
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
            propagation=status.propagation,
            automine=status.automine,
            latency_ms=int(faults.get("latency_ms") or 0),
            loss=float(faults.get("loss") or 0.0),
            blocked=tuple(blocked),
            rules=status.rules,
            role=status.role,
            miner=status.miner,
        )

    # -- netlocs: how nodes know each other ------------------------------------------------
    def netlocs(self, name: str) -> list[str]:
        """The host:port a node is known by: the lab's URL for it, and the address it gives
        itself (what it sends as X-BeCoin-Peer), when they differ."""
        found = [_netloc(self.clients[name].url)]
        own = self._self_netlocs.get(name)
        if own and own not in found:
            found.append(own)
        return found

    def _netloc_owners(self) -> dict[str, str]:
        return {loc: name for name in self.names for loc in self.netlocs(name)}

    def _learn_netlocs(self) -> None:
        """Ask every live node for the address it gives itself (once per node)."""
        unknown = [n for n in self.names if n not in self._self_netlocs and self._live(n)]

        def learn(name: str) -> None:
            url = self.clients[name].status().raw.get("url")
            if isinstance(url, str):
                self._self_netlocs[name] = _netloc(url)

        self._each(unknown, learn)

    def _blocked_for(self, name: str, groups: list[list[str]]) -> list[str]:
        mine = next(g for g in groups if name in g)
        return [loc for other in self.names if other not in mine for loc in self.netlocs(other)]

    def _live(self, name: str) -> bool:
        """False for a node the lab started and then stopped; True otherwise (an attached
        node is assumed up: a call to it says when it is not)."""
        sup = self.supervisor
        return name not in sup.nodes or sup.is_running(name)

    def _each_live(self, names: list[str], call: Callable[[str], T]) -> dict[str, T]:
        """_each over the nodes that run; a stopped node the lab started is skipped."""
        return self._each([n for n in names if self._live(n)], call)

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


def _netloc(url: str) -> str:
    parts = urlsplit(url if "://" in url else "http://" + url)
    return parts.netloc
