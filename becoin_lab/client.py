"""NodeClient: one node's HTTP API as typed Python calls.

Every failure raises NodeError (or NodeDown when the node cannot be reached) naming the node,
the action and what happened.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from becoin_lab.errors import NodeDown, NodeError

ADMIN_HEADER = "X-BeCoin-Admin"
Block = dict[str, Any]
_BLOCK_NUMBER = re.compile(r"block (\d+)")


@dataclass(frozen=True)
class NodeStatus:
    name: str
    url: str
    length: int
    tip: str
    mempool: int
    peers: list[str]
    address: str = ""
    difficulty: int | None = None
    miner: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    propagation: str | None = None  # "manual" or "broadcast" (None: a node without the key)
    automine: float | None = None  # seconds between automined blocks; None: off
    faults: dict[str, Any] = field(default_factory=dict)  # blocked, latency_ms, loss
    rules: str = "classic"  # "classic" or "strict" (a node without the key: classic)
    role: str = "honest"  # "honest" or "forger"


@dataclass(frozen=True)
class Faults:
    """A node's simulated network faults, as GET /admin/faults answers."""

    blocked: list[str]
    latency_ms: int = 0
    loss: float = 0.0


@dataclass(frozen=True)
class ChainPage:
    """A whole chain (start == 1) or the blocks after index start - 1 (``since``)."""

    blocks: list[Block]
    length: int
    start: int


@dataclass(frozen=True)
class MineResult:
    message: str
    block: Block

    @property
    def index(self) -> int:
        return int(self.block["index"])


@dataclass(frozen=True)
class TxResult:
    message: str
    block_index: int | None


@dataclass(frozen=True)
class ForgeResult:
    """What POST /admin/forge answered: the block rewritten, every block changed."""

    message: str
    rewritten: int
    changed: list[int]
    length: int


@dataclass(frozen=True)
class ReplaceResult:
    replaced: bool
    message: str
    chain: list[Block]
    peers: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ValidResult:
    valid: bool
    message: str


class NodeClient:
    """Typed calls to one node. Safe to share between threads (one pooled requests.Session)."""

    def __init__(
        self,
        name: str,
        url: str,
        timeout: float = 5.0,
        slow_timeout: float = 120.0,
        session: requests.Session | None = None,
        admin_token: str | None = None,
    ) -> None:
        self.name = name
        self.url = url.rstrip("/")
        self.admin_token = admin_token  # sent as X-BeCoin-Admin on /admin calls
        self.timeout = timeout
        self.slow_timeout = slow_timeout  # mining and consensus may take a while
        self.session = session or _pooled_session()

    def __repr__(self) -> str:
        return f"NodeClient({self.name!r}, {self.url!r})"

    def close(self) -> None:
        self.session.close()

    # -- the blog's routes -----------------------------------------------------------------
    def get_chain(self, since: int | None = None) -> ChainPage:
        params = {"since": since} if since is not None else None
        data = self._call("GET", "/get_chain", "get_chain", params=params)
        blocks = _expect(data, "chain", list, self.name, "get_chain")
        length = int(_expect(data, "length", int, self.name, "get_chain"))
        start = data.get("start") if since is not None else 1
        return ChainPage(blocks, length, int(start) if isinstance(start, int) else 1)

    def mine(self) -> MineResult:
        data = self._call("GET", "/mine_block", "mine_block", slow=True)
        block = {
            k: data[k]
            for k in ("index", "timestamp", "nonce", "previous_hash", "transactions")
            if k in data
        }
        if "index" not in block:
            raise NodeError(self.name, "mine_block", f"answer has no block: {data!r:.200}")
        return MineResult(str(data.get("message", "")), block)

    def add_transaction(self, sender: str, receiver: str, amount: Any) -> TxResult:
        return self.post_transaction({"sender": sender, "receiver": receiver, "amount": amount})

    def post_transaction(self, body: dict[str, Any]) -> TxResult:
        """POST /add_transaction with this exact body (a signed one under strict rules)."""
        data = self._call("POST", "/add_transaction", "add_transaction", json=body)
        message = str(data.get("message", ""))
        found = _BLOCK_NUMBER.search(message)
        return TxResult(message, int(found.group(1)) if found else None)

    def connect(self, urls: list[str]) -> list[str]:
        """POST /connect_node; returns the node's peers (total_nodes)."""
        data = self._call("POST", "/connect_node", "connect_node", json={"nodes": list(urls)})
        return [str(p) for p in data.get("total_nodes", [])]

    def replace_chain(self) -> ReplaceResult:
        data = self._call("GET", "/replace_chain", "replace_chain", slow=True)
        replaced = "new_chain" in data
        chain = data.get("new_chain" if replaced else "actual_chain") or []
        peers = data.get("peers") or {}
        if isinstance(peers, list):
            peers = {str(i): p for i, p in enumerate(peers)}
        return ReplaceResult(replaced, str(data.get("message", "")), chain, peers)

    def is_valid(self) -> ValidResult:
        data = self._call("GET", "/is_valid", "is_valid", slow=True)
        message = str(data.get("message", ""))
        valid = data.get("valid")
        if not isinstance(valid, bool):
            valid = "not valid" not in message.lower()
        return ValidResult(valid, message)

    # -- extras ----------------------------------------------------------------------------
    def status(self) -> NodeStatus:
        data = self._call("GET", "/status", "status")
        try:
            return NodeStatus(
                name=str(data.get("name", self.name)),
                url=str(data.get("url", self.url)),
                length=int(data["length"]),
                tip=str(data["tip"]),
                mempool=int(data.get("mempool", 0)),
                peers=[str(p) for p in data.get("peers", [])],
                address=str(data.get("address", "")),
                difficulty=data.get("difficulty"),
                miner=data.get("miner"),
                raw=data,
                propagation=data.get("propagation"),
                automine=data.get("automine"),
                faults=dict(data.get("faults") or {}),
                rules=str(data.get("rules") or "classic"),
                role=str(data.get("role") or "honest"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise NodeError(
                self.name, "status", f"unexpected answer ({exc}): {data!r:.200}"
            ) from None

    def mempool(self) -> list[dict[str, Any]]:
        data = self._call("GET", "/mempool", "mempool")
        return list(_expect(data, "transactions", list, self.name, "mempool"))

    # -- admin routes (need the node's BECOIN_ADMIN_TOKEN) ---------------------------------
    def faults(self) -> Faults:
        return _faults(self._admin("GET", "/admin/faults", "faults"))

    def partition(self, blocked: list[str]) -> Faults:
        """Refuse peer traffic with these host:port, both ways; an empty list heals."""
        body = {"blocked": list(blocked)}
        return _faults(self._admin("POST", "/admin/partition", "partition", json=body))

    def latency(self, ms: int, loss: float = 0.0) -> Faults:
        """Delay peer calls to and from the node by ``ms``; drop a ``loss`` share of them."""
        body = {"ms": int(ms), "loss": loss}
        return _faults(self._admin("POST", "/admin/latency", "latency", json=body))

    def automine(self, every: float | None) -> float | None:
        """Mine a block every ``every`` seconds; None stops. Returns the node's setting."""
        data = self._admin("POST", "/admin/automine", "automine", json={"every": every})
        return data.get("automine")

    def forge(self, victim: str) -> ForgeResult:
        """Ask a forger (--role forger) to rewrite the chain of ``victim`` (host:port) and
        offer the result to its peers."""
        data = self._admin("POST", "/admin/forge", "forge", json={"victim": victim})
        try:
            return ForgeResult(
                str(data.get("message", "")),
                int(data["rewritten"]),
                [int(i) for i in data.get("changed", [])],
                int(data["length"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise NodeError(
                self.name, "forge", f"unexpected answer ({exc}): {data!r:.200}"
            ) from None

    def _admin(self, method: str, path: str, action: str, **kw: Any) -> dict:
        if not self.admin_token:
            raise NodeError(
                self.name,
                action,
                "no admin token for this node: the lab did not start it, so give the "
                "BECOIN_ADMIN_TOKEN it runs with as admin_token in lab.toml (in [lab] or "
                "in its [[nodes]] table), or in the lab's BECOIN_ADMIN_TOKEN variable",
            )
        headers = {ADMIN_HEADER: self.admin_token}
        return self._call(method, path, action, headers=headers, **kw)

    # -- plumbing --------------------------------------------------------------------------
    def _call(self, method: str, path: str, action: str, slow: bool = False, **kw: Any) -> dict:
        timeout = (min(self.timeout, 3.0), self.slow_timeout if slow else self.timeout)
        url = self.url + path
        try:
            reply = self.session.request(method, url, timeout=timeout, **kw)
        except requests.ConnectionError as exc:
            reason = "connection refused" if "refused" in str(exc).lower() else "unreachable"
            if isinstance(exc, requests.ConnectTimeout):
                reason = "connect timed out"
            raise NodeDown(self.name, action, f"{reason} at {self.url}") from None
        except requests.Timeout:
            raise NodeDown(self.name, action, f"no answer within {timeout[1]:g}s") from None
        except requests.RequestException as exc:
            raise NodeError(self.name, action, str(exc)) from None
        try:
            data = reply.json()
        except ValueError:
            data = None
        if reply.status_code >= 400:
            message = data.get("message") if isinstance(data, dict) else None
            text = message or reply.text.strip()[:200] or reply.reason
            raise NodeError(
                self.name, action, f"HTTP {reply.status_code}: {text}", reply.status_code
            )
        if not isinstance(data, dict):
            raise NodeError(self.name, action, f"answer is not a JSON object: {reply.text[:200]!r}")
        return data


def _faults(data: dict) -> Faults:
    return Faults(
        [str(b) for b in data.get("blocked", [])],
        int(data.get("latency_ms", 0)),
        float(data.get("loss", 0.0)),
    )


def _expect(data: dict, key: str, kind: type, node: str, action: str) -> Any:
    value = data.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise NodeError(node, action, f"answer lacks '{key}' ({kind.__name__}): {data!r:.200}")
    return value


def _pooled_session() -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=16)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.trust_env = False  # never send lab traffic through an HTTP proxy
    return session
