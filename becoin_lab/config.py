"""lab.toml -> a validated LabConfig. Errors name the file, the key and the line."""

from __future__ import annotations

import errno
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from becoin_lab.errors import ConfigError
from becoin_lab.tomlpos import line_of, read_toml

DEFAULT_HOST = "127.0.0.1"
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,31}$")

LAB_KEYS = {
    "difficulty": "leading zeros of the proof of work, for every node the lab starts",
    "data_dir": "folder for node data and logs (one subfolder per node), relative to lab.toml",
    "host": "address the started nodes listen on",
    "nodes": "shorthand: start this many nodes named <name_prefix>1..N",
    "base_port": "shorthand: port of the first node (0: every node picks a free port)",
    "name_prefix": "shorthand: node name prefix",
    "sync": "how nodes fetch peers' chains: incremental or full",
    "miner": "reward receiver for every node: an address, or a wallet's name (its public key); "
    "default: the node's own ('Receiver' under classic rules, a key of its own under strict)",
    "start_timeout": "seconds to wait for every node to answer",
    "stop_grace": "seconds between SIGTERM and SIGKILL when stopping a node",
    "node_command": "command that runs a node, as a list (default: becoin-node)",
    "propagation": "how blocks spread: manual (the blog's consensus rounds) or broadcast",
    "admin_token": "token for the admin routes of attached nodes (url =) started elsewhere",
    "rules": "chain rules of every node the lab starts: classic (the blog's) or strict",
}
NODE_KEYS = {"name", "port", "url", "host", "miner", "propagation", "admin_token", "rules", "role"}
WALLET_KEYS = {"name"}
PROPAGATION = ("manual", "broadcast")
RULES = ("classic", "strict")
ROLES = ("honest", "forger")
_KEY = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class NodeConfig:
    """One node of the lab. ``url`` set means attached: already running, the lab starts nothing."""

    name: str
    port: int = 0
    host: str = DEFAULT_HOST
    url: str | None = None
    miner: str | None = None
    line: int | None = None  # where the node is declared, for error messages
    propagation: str | None = None  # None: the lab's
    admin_token: str | None = None  # attached nodes only: their BECOIN_ADMIN_TOKEN
    rules: str | None = None  # None: the lab's
    role: str = "honest"  # "forger": started with --role forger (do = "forge")

    @property
    def managed(self) -> bool:
        return self.url is None

    @property
    def base_url(self) -> str:
        """The URL the lab talks to (for port 0, the real one is known only once started)."""
        return self.url or f"http://{self.host}:{self.port}"


@dataclass(frozen=True)
class WalletConfig:
    """A named wallet: the lab makes its Ed25519 key on first use and keeps it in data_dir."""

    name: str
    line: int | None = None


@dataclass
class LabConfig:
    nodes: list[NodeConfig]
    difficulty: int = 4
    data_dir: Path = field(default_factory=lambda: Path(".becoin-lab"))
    sync: str = "incremental"
    miner: str | None = None
    start_timeout: float = 20.0
    stop_grace: float = 3.0
    node_command: list[str] | None = None
    propagation: str = "manual"
    admin_token: str | None = None  # for attached nodes; started nodes get a per-run secret
    rules: str = "classic"
    wallets: list[WalletConfig] = field(default_factory=list)
    path: Path | None = None
    text: str | None = None

    def node(self, name: str) -> NodeConfig:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [n.name for n in self.nodes]

    @property
    def wallet_names(self) -> list[str]:
        return [w.name for w in self.wallets]

    def rules_of(self, name: str) -> str:
        """The rules a node runs (as lab.toml says: an attached node's are its own)."""
        return self.node(name).rules or self.rules

    def role_of(self, name: str) -> str:
        return self.node(name).role


def load_config(path: str | Path) -> LabConfig:
    """Read and validate a lab.toml. Raises ConfigError (file, key, line) on any problem."""
    path = Path(path)
    data, text = read_toml(path, ConfigError)
    return parse_config(data, path=path, text=text)


def parse_config(
    data: dict[str, Any], path: Path | None = None, text: str | None = None
) -> LabConfig:
    """Validate already-parsed TOML data (also used by tests and benchmarks)."""
    check = _Checker(path, text)
    for key in data:
        if key not in ("lab", "nodes", "wallets"):
            check.fail(
                key, "unknown top-level key (expected [lab], [[nodes]] and [[wallets]])", None, None
            )
    lab = data.get("lab", {})
    if not isinstance(lab, dict):
        check.fail("lab", "must be a table: [lab]", None, None)
    for key in lab:
        if key not in LAB_KEYS:
            known = ", ".join(sorted(LAB_KEYS))
            check.fail(f"lab.{key}", f"unknown key (known: {known})", "lab", None, key)
    base = path.parent if path is not None else Path.cwd()
    cfg = LabConfig(nodes=[], path=path, text=text)
    cfg.difficulty = check.integer(lab, "difficulty", 4, 1, 10)
    data_dir = Path(check.string(lab, "data_dir", ".becoin-lab"))
    cfg.data_dir = data_dir if data_dir.is_absolute() else base / data_dir
    host = check.string(lab, "host", DEFAULT_HOST)
    cfg.sync = check.string(lab, "sync", "incremental")
    if cfg.sync not in ("incremental", "full"):
        check.fail("lab.sync", "must be 'incremental' or 'full'", "lab", None, "sync")
    cfg.miner = check.string(lab, "miner", None)
    cfg.start_timeout = check.number(lab, "start_timeout", 20.0)
    cfg.stop_grace = check.number(lab, "stop_grace", 3.0)
    command = lab.get("node_command")
    if command is not None and (
        not isinstance(command, list) or not command or not all(isinstance(c, str) for c in command)
    ):
        check.fail(
            "lab.node_command", "must be a non-empty list of strings", "lab", None, "node_command"
        )
    cfg.node_command = command
    cfg.propagation = check.string(lab, "propagation", "manual")
    if cfg.propagation not in PROPAGATION:
        check.fail("lab.propagation", "must be 'manual' or 'broadcast'", "lab", None, "propagation")
    cfg.admin_token = check.string(lab, "admin_token", None)
    cfg.rules = check.string(lab, "rules", "classic")
    if cfg.rules not in RULES:
        check.fail("lab.rules", "must be 'classic' or 'strict'", "lab", None, "rules")

    if "nodes" in lab:
        if "nodes" in data:
            check.fail(
                "lab.nodes",
                "use either lab.nodes = N or [[nodes]] tables, not both",
                "lab",
                None,
                "nodes",
            )
        count = check.integer(lab, "nodes", 3, 1, 500)
        base_port = check.integer(lab, "base_port", 5001, 0, 65535)
        prefix = check.string(lab, "name_prefix", "node")
        if base_port and base_port + count - 1 > 65535:
            check.fail(
                "lab.base_port",
                f"{count} nodes from port {base_port} go past 65535",
                "lab",
                None,
                "base_port",
            )
        line = line_of(text, "lab", None, "nodes")
        cfg.nodes = [
            NodeConfig(f"{prefix}{i + 1}", base_port + i if base_port else 0, host, line=line)
            for i in range(count)
        ]
    else:
        for key in ("base_port", "name_prefix"):
            if key in lab:
                check.fail(
                    f"lab.{key}",
                    "only meaningful with the shorthand lab.nodes = N",
                    "lab",
                    None,
                    key,
                )
        nodes = data.get("nodes")
        if nodes is None:
            check.fail("nodes", "no nodes: add [[nodes]] tables or lab.nodes = N", None, None)
        if not isinstance(nodes, list) or not all(isinstance(n, dict) for n in nodes):
            check.fail("nodes", "must be an array of tables: [[nodes]]", None, None)
        cfg.nodes = [_parse_node(check, i, node, host) for i, node in enumerate(nodes)]
    _check_unique(check, cfg)
    cfg.wallets = _parse_wallets(check, data.get("wallets"), cfg)
    _check_miners(check, cfg)
    return cfg


def _parse_wallets(check: _Checker, raw: Any, cfg: LabConfig) -> list[WalletConfig]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(w, dict) for w in raw):
        check.fail("wallets", "must be an array of tables: [[wallets]]", None, None)
    wallets: list[WalletConfig] = []
    seen: dict[str, int] = {}
    for i, wallet in enumerate(raw):
        where = f"wallets[{i}]"
        for key in wallet:
            if key not in WALLET_KEYS:
                check.fail(f"{where}.{key}", "unknown key (known: name)", "wallets", i, key)
        name = check.string(wallet, "name", None, "wallets", i, where)
        if name is None:
            check.fail(f"{where}.name", "missing: every wallet needs a name", "wallets", i, None)
        if not _NAME.match(name):
            check.fail(f"{where}.name", f"'{name}' is not a usable name (letters, digits, _ . -)",
                       "wallets", i, "name")
        if name in seen:
            check.fail(f"{where}.name", f"duplicate wallet '{name}' (also wallets[{seen[name]}])",
                       "wallets", i, "name")
        if name in cfg.names:
            check.fail(f"{where}.name", f"'{name}' is also a node's name: a wallet needs a name "
                       "of its own", "wallets", i, "name")
        if name.lower() == "all":
            check.fail(f"{where}.name", "'all' is reserved (it means every node)", "wallets", i,
                       "name")
        seen[name] = i
        wallets.append(WalletConfig(name, line_of(check.text, "wallets", i, None)))
    return wallets


def _check_miners(check: _Checker, cfg: LabConfig) -> None:
    """Strict rewards go to a public key: a miner must name a wallet or be one."""
    wallets = set(cfg.wallet_names)

    def usable(miner: str) -> bool:
        return miner in wallets or _KEY.match(miner) is not None

    for i, node in enumerate(cfg.nodes):
        if not node.managed or node.miner is None:
            continue
        if (node.rules or cfg.rules) == "strict" and not usable(node.miner):
            check.fail(f"nodes[{i}].miner", f"'{node.miner}' is neither a wallet nor a public key "
                       "(64 hex characters): strict rewards go to a public key (leave miner out "
                       "and the node mines for a key of its own)", "nodes", i, "miner")
    if cfg.miner is not None and not usable(cfg.miner):
        strict_nodes = [n.name for n in cfg.nodes
                        if n.managed and n.miner is None and (n.rules or cfg.rules) == "strict"]
        if strict_nodes:
            check.fail("lab.miner", f"'{cfg.miner}' is neither a wallet nor a public key (64 hex "
                       f"characters), and {', '.join(strict_nodes)} run strict rules: strict "
                       "rewards go to a public key", "lab", None, "miner")


def _parse_node(check: _Checker, i: int, node: dict[str, Any], host: str) -> NodeConfig:
    where = f"nodes[{i}]"
    for key in node:
        if key not in NODE_KEYS:
            known = ", ".join(sorted(NODE_KEYS))
            check.fail(f"{where}.{key}", f"unknown key (known: {known})", "nodes", i, key)
    name = check.string(node, "name", None, "nodes", i, where)
    if name is None:
        check.fail(f"{where}.name", "missing: every node needs a name", "nodes", i, None)
    if not _NAME.match(name):
        check.fail(
            f"{where}.name",
            f"'{name}' is not a usable name (letters, digits, _ . -)",
            "nodes",
            i,
            "name",
        )
    url = check.string(node, "url", None, "nodes", i, where)
    miner = check.string(node, "miner", None, "nodes", i, where)
    propagation = check.string(node, "propagation", None, "nodes", i, where)
    if propagation is not None and propagation not in PROPAGATION:
        check.fail(f"{where}.propagation", "must be 'manual' or 'broadcast'", "nodes", i,
                   "propagation")
    token = check.string(node, "admin_token", None, "nodes", i, where)
    rules = check.string(node, "rules", None, "nodes", i, where)
    if rules is not None and rules not in RULES:
        check.fail(f"{where}.rules", "must be 'classic' or 'strict'", "nodes", i, "rules")
    role = check.string(node, "role", "honest", "nodes", i, where)
    if role not in ROLES:
        check.fail(f"{where}.role", "must be 'honest' or 'forger'", "nodes", i, "role")
    line = line_of(check.text, "nodes", i, None)
    if url is None and token is not None:
        check.fail(f"{where}.admin_token", "only for an attached node (url =): the nodes the "
                   "lab starts get a fresh secret every run", "nodes", i, "admin_token")
    if url is not None:
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname or parsed.port is None:
            check.fail(f"{where}.url", f"'{url}' is not like http://host:port", "nodes", i, "url")
        if "port" in node or "host" in node:
            check.fail(
                f"{where}.url", "an attached node (url) takes no port or host", "nodes", i, "url"
            )
        if propagation is not None:
            check.fail(f"{where}.propagation", "an attached node's propagation is set where it "
                       "runs (becoin-node --propagation)", "nodes", i, "propagation")
        for key in ("rules", "role"):
            if key in node:
                check.fail(f"{where}.{key}", f"an attached node's {key} is set where it runs "
                           f"(becoin-node --{key})", "nodes", i, key)
        return NodeConfig(
            name, parsed.port or 0, parsed.hostname or "", url.rstrip("/"), miner, line,
            admin_token=token,
        )
    if "port" not in node:
        check.fail(
            f"{where}.port", "missing: give a port (0 picks a free one) or a url", "nodes", i, None
        )
    port = check.integer(node, "port", 0, 0, 65535, "nodes", i, where)
    node_host = check.string(node, "host", host, "nodes", i, where)
    return NodeConfig(name, port, node_host, None, miner, line, propagation=propagation,
                      rules=rules, role=role)


def _check_unique(check: _Checker, cfg: LabConfig) -> None:
    names: dict[str, int] = {}
    ports: dict[tuple[str, int], int] = {}
    for i, node in enumerate(cfg.nodes):
        if node.name in names:
            check.fail(
                f"nodes[{i}].name",
                f"duplicate name '{node.name}' (also nodes[{names[node.name]}])",
                "nodes",
                i,
                "name",
            )
        names[node.name] = i
        if node.port:
            where = (node.host, node.port)
            if where in ports:
                key = "url" if node.url else "port"
                check.fail(
                    f"nodes[{i}].{key}",
                    f"duplicate port {node.port} (also nodes[{ports[where]}])",
                    "nodes",
                    i,
                    key,
                )
            ports[where] = i


def check_ports_free(cfg: LabConfig, names: list[str] | None = None) -> None:
    """Raise ConfigError naming the node and line when a managed node's port is taken."""
    for i, node in enumerate(cfg.nodes):
        if not node.managed or not node.port or (names is not None and node.name not in names):
            continue
        if not port_is_free(node.host, node.port):
            line = line_of(cfg.text, "nodes", i, "port") or node.line
            raise ConfigError(
                cfg.path,
                f"nodes[{i}].port",
                f"port {node.port} ({node.name}) is already in use on {node.host}",
                line,
            )


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


class _Checker:
    """Type checks that raise ConfigError with file, key and line."""

    def __init__(self, path: Path | None, text: str | None) -> None:
        self.path = path
        self.text = text

    def fail(
        self, key: str, message: str, table: str | None, index: int | None, name: str | None = None
    ) -> None:
        line = line_of(self.text, table, index, name if name else None) if table else None
        if table is None and self.text is not None:
            line = line_of(self.text, None, None, key)
        raise ConfigError(self.path, key, message, line)

    def _get(
        self,
        table: dict,
        key: str,
        default: Any,
        kind: tuple[type, ...],
        what: str,
        tname: str,
        index: int | None,
        where: str,
    ) -> Any:
        if key not in table:
            return default
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, kind):
            self.fail(
                f"{where}.{key}",
                f"must be {what}, not {type(value).__name__} {value!r}",
                tname,
                index,
                key,
            )
        return value

    def string(
        self,
        table: dict,
        key: str,
        default: str | None,
        tname: str = "lab",
        index: int | None = None,
        where: str = "lab",
    ) -> Any:
        return self._get(table, key, default, (str,), "a string", tname, index, where)

    def number(
        self,
        table: dict,
        key: str,
        default: float,
        tname: str = "lab",
        index: int | None = None,
        where: str = "lab",
    ) -> float:
        value = self._get(table, key, default, (int, float), "a number", tname, index, where)
        if value <= 0:
            self.fail(f"{where}.{key}", "must be positive", tname, index, key)
        return float(value)

    def integer(
        self,
        table: dict,
        key: str,
        default: int,
        low: int,
        high: int,
        tname: str = "lab",
        index: int | None = None,
        where: str = "lab",
    ) -> int:
        value = self._get(table, key, default, (int,), "an integer", tname, index, where)
        if not low <= value <= high:
            self.fail(
                f"{where}.{key}",
                f"must be between {low} and {high}, not {value}",
                tname,
                index,
                key,
            )
        return value
