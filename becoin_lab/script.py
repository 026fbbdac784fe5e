"""script.toml -> validated steps. Errors name the file, the step number, the key, the line.

[[step]]
do = "mine"
node = "node1"      # or "all"
count = 3
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from becoin_lab.config import LabConfig
from becoin_lab.errors import ScriptError
from becoin_lab.tomlpos import line_of, read_toml

_KEY = re.compile(r"[0-9a-f]{64}")


def _name(v: Any) -> bool:
    return isinstance(v, str) and bool(v)


def _names(v: Any) -> bool:
    return isinstance(v, list) and len(v) >= 2 and all(_name(x) for x in v)


def _count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 10_000


def _natural(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _seconds(v: Any) -> bool:
    return _number(v) and 0 <= v <= 3600


def _bool(v: Any) -> bool:
    return isinstance(v, bool)


def _every(v: Any) -> bool:
    return _number(v) and 0.05 <= v <= 3600


def _ms(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 60_000


def _share(v: Any) -> bool:
    return _number(v) and 0 <= v <= 1


def _rate(v: Any) -> bool:
    return _number(v) and 0 < v <= 1000


def _groups(v: Any) -> bool:
    return (
        isinstance(v, list)
        and len(v) >= 2
        and all(isinstance(g, list) and g and all(_name(x) for x in g) for g in v)
    )


def _texts(v: Any) -> bool:
    return isinstance(v, list) and len(set(v)) >= 2 and all(_name(x) for x in v)


def _some_names(v: Any) -> bool:
    return isinstance(v, list) and len(v) >= 1 and all(_name(x) for x in v)


def _refusal(v: Any) -> bool:
    return v is True or _name(v)


def _balances(v: Any) -> bool:
    return isinstance(v, dict) and bool(v) and all(_number(x) for x in v.values())


Check = tuple[Callable[[Any], bool], str]
NAME: Check = (_name, "a node name")
NODES: Check = (_names, "a list of at least two node names")
COUNT: Check = (_count, "an integer from 1 to 10000")
NATURAL: Check = (_natural, "an integer >= 0")
NUMBER: Check = (_number, "a number")
SECONDS: Check = (_seconds, "a number of seconds from 0 to 3600")
BOOL: Check = (_bool, "true or false")
TEXT: Check = (_name, "a non-empty string")
BALANCES: Check = (
    _balances, "a table of address or wallet = amount, e.g. { PublicKeyb = 1000 }"
)
WALLET: Check = (_name, "a wallet name (from [[wallets]] in lab.toml)")
REFUSAL: Check = (
    _refusal, "text the node's refusal must contain (e.g. \"replays\"), or true for any refusal"
)
EVERY: Check = (_every, "a number of seconds from 0.05 to 3600")
MS: Check = (_ms, "a whole number of milliseconds from 0 to 60000")
SHARE: Check = (_share, "a number from 0 to 1 (the share of peer calls lost)")
RATE: Check = (_rate, "transactions per second, above 0 and at most 1000")
GROUPS: Check = (_groups, 'a list of at least two lists of node names, e.g. [["node1"], ["node2"]]')
ADDRESSES: Check = (_texts, "a list of at least two different addresses")
SOME_NODES: Check = (_some_names, "a list of node names")

# The checks of `expect`, and of `wait` (which polls them until they hold).
CHECKS: dict[str, Check] = {
    "node": NAME,
    "consensus": BOOL,
    "length": NATURAL,
    "min_length": NATURAL,  # at least this many blocks: for waiting on a growing chain
    "mempool": NATURAL,
    "valid": BOOL,
    "balance": BALANCES,
    "up": BOOL,
    "peers": NATURAL,
    "groups": NATURAL,
    "fork_point": NATURAL,
    "lost": NATURAL,  # acknowledged transactions in neither the agreed chain nor a mempool
    "sides": NATURAL,  # sides of the partition as the nodes report it (1: none)
    "automine": BOOL,
    "forged": BOOL,  # the node's chain holds the last forgery's rewritten block
}

# do -> (required keys, optional keys)
STEPS: dict[str, tuple[dict[str, Check], dict[str, Check]]] = {
    "connect": ({}, {"nodes": NODES}),
    "mine": ({"node": NAME}, {"count": COUNT}),
    # exactly one of sender (the blog's: any address, unsigned) and wallet (signs as it)
    "add_transaction": (
        {"node": NAME, "receiver": TEXT, "amount": NUMBER},
        {"sender": TEXT, "wallet": WALLET, "expect_refused": REFUSAL},
    ),
    "resend": ({}, {"node": NAME, "expect_refused": REFUSAL}),  # the last signed tx, again
    "forge": ({"node": NAME}, {"victim": NAME}),
    "replace_chain": ({}, {"node": NAME}),
    "validate": ({}, {"node": NAME}),
    "expect": ({}, CHECKS),
    "wait": ({}, {**CHECKS, "timeout": SECONDS}),
    "sleep": ({"seconds": SECONDS}, {}),
    "show": ({}, {}),
    "start": ({"node": NAME}, {}),
    "stop": ({"node": NAME}, {}),
    "kill": ({"node": NAME}, {}),
    "restart": ({"node": NAME}, {}),
    "partition": ({"groups": GROUPS}, {}),
    "heal": ({}, {}),
    "latency": ({"node": NAME, "ms": MS}, {"loss": SHARE}),
    "automine": ({"node": NAME}, {"every": EVERY, "on": BOOL}),
    "traffic": ({}, {"rate": RATE, "on": BOOL, "addresses": ADDRESSES, "nodes": SOME_NODES}),
}
COMMON = {"do", "note"}
CHAIN_CHANGING = {
    "mine", "replace_chain", "start", "stop", "kill", "restart", "show", "wait", "partition",
    "heal", "forge",
}  # fmt: skip
EXPECT_KEYS = [k for k in CHECKS if k != "node"]
DEFAULT_WAIT = 30.0  # seconds a `wait` step polls when it names no timeout
# keys that name nodes and where "all" is allowed
ALL_ALLOWED = {
    "mine": True, "replace_chain": True, "validate": True, "expect": True, "wait": True,
    "automine": True,
}  # fmt: skip


@dataclass(frozen=True)
class Step:
    number: int  # 1-based, as people count
    do: str
    args: dict[str, Any]
    line: int | None = None
    note: str | None = None

    @property
    def node(self) -> str | None:
        node = self.args.get("node")
        return None if node in (None, "all") else node

    def label(self) -> str:
        a = self.args
        match self.do:
            case "connect":
                return "connect " + (" ".join(a["nodes"]) if "nodes" in a else "all")
            case "mine":
                return f"mine {a['node']}" + (f" x{a['count']}" if a.get("count", 1) > 1 else "")
            case "add_transaction":
                who = a.get("sender") or f"[{a.get('wallet')}]"
                refused = " (refused?)" if "expect_refused" in a else ""
                tx = f"{who} -> {a['receiver']} {a['amount']}"
                return f"add_transaction {a['node']} {tx}{refused}"
            case "resend":
                where = f" to {a['node']}" if "node" in a else ""
                refused = " (refused?)" if "expect_refused" in a else ""
                return f"resend last signed{where}{refused}"
            case "forge":
                return f"forge {a['node']}" + (f" from {a['victim']}" if "victim" in a else "")
            case "replace_chain" | "validate":
                return f"{self.do} {a.get('node', 'all')}"
            case "expect" | "wait":
                parts = [f"{k}={_show(v)}" for k, v in a.items() if k not in ("node", "timeout")]
                scope = f"{a['node']}: " if "node" in a and a["node"] != "all" else ""
                until = f" ({a.get('timeout', DEFAULT_WAIT):g}s)" if self.do == "wait" else ""
                return f"{self.do} {scope}{' '.join(parts)}{until}"
            case "partition":
                return "partition " + " | ".join(" ".join(g) for g in a["groups"])
            case "latency":
                loss = f" loss {a['loss']:g}" if a.get("loss") else ""
                return f"latency {a['node']} {a['ms']}ms{loss}"
            case "automine":
                if a.get("on", True):
                    return f"automine {a['node']} every {a['every']:g}s"
                return f"automine {a['node']} off"
            case "traffic":
                return f"traffic {a['rate']:g}/s" if a.get("on", True) else "traffic off"
            case "sleep":
                return f"sleep {a['seconds']:g}s"
            case _:
                return f"{self.do} {a.get('node', '')}".strip()


@dataclass
class Script:
    path: Path | None
    steps: list[Step]
    description: str = ""
    text: str | None = field(default=None, repr=False)
    config: Path | None = None  # the lab.toml the script asks for (used without --config)

    def check_nodes(self, names: list[str]) -> None:
        """ScriptError for a step naming a node the lab does not have."""
        for step in self.steps:
            for key in ("node", "nodes", "groups", "victim"):
                value = step.args.get(key)
                if key == "groups":  # partition's sides; expect's groups is a count
                    if step.do != "partition":
                        continue
                    value = [name for group in value for name in group]
                wanted = value if isinstance(value, list) else [value] if value else []
                for name in wanted:
                    if name == "all" and key == "node" and ALL_ALLOWED.get(step.do):
                        continue
                    if name not in names:
                        line = line_of(self.text, "step", step.number - 1, key) or step.line
                        known = ", ".join(names)
                        raise ScriptError(
                            self.path,
                            key,
                            f"no node named '{name}' in the lab (nodes: {known})",
                            line,
                            step.number,
                        )


    def check_lab(self, config: LabConfig) -> None:
        """ScriptError for a step that names a node, a wallet or a role the lab lacks."""
        self.check_nodes(config.names)
        wallets = config.wallet_names

        def fail(step: Step, key: str, message: str) -> ScriptError:
            line = line_of(self.text, "step", step.number - 1, key) or step.line
            return ScriptError(self.path, key, message, line, step.number)

        for step in self.steps:
            a = step.args
            wallet = a.get("wallet")
            if wallet is not None and wallet not in wallets:
                known = ", ".join(wallets) or "none: add [[wallets]] to lab.toml"
                raise fail(step, "wallet", f"no wallet named '{wallet}' (wallets: {known})")
            if step.do == "add_transaction" and config.node(a["node"]).managed:
                strict_rules = config.rules_of(a["node"]) == "strict"
                receiver = a["receiver"]
                if strict_rules and receiver not in wallets and not _KEY.fullmatch(receiver):
                    raise fail(step, "receiver", f"'{receiver}' is neither a wallet nor a public "
                               f"key (64 hex characters), and {a['node']} runs strict rules")
                if strict_rules and "sender" in a and "expect_refused" not in a:
                    raise fail(step, "sender", f"{a['node']} runs strict rules: an unsigned "
                               "transaction is refused; send as a wallet (wallet = ...)")
            if step.do == "forge":
                node = config.node(a["node"])
                if node.managed and node.role != "forger":
                    raise fail(step, "node", f"{node.name} is not a forger: give it "
                               "role = \"forger\" in lab.toml")
                if a.get("victim") == a["node"]:
                    raise fail(step, "victim", "a forger forges another node's chain")


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={v}" for k, v in value.items()) + "}"
    return str(value)


def load_script(path: str | Path) -> Script:
    path = Path(path)
    data, text = read_toml(path, ScriptError)
    return parse_script(data, path, text)


def parse_script(data: dict[str, Any], path: Path | None = None, text: str | None = None) -> Script:
    for key in data:
        if key not in ("step", "description", "config"):
            message = (
                "unknown top-level key (expected [[step]] tables, a description and "
                "config = the lab.toml to use)"
            )
            raise ScriptError(path, key, message, line_of(text, None, None, key))
    config = data.get("config")
    if config is not None and not _name(config):
        raise ScriptError(
            path, "config", "must be the path of a lab.toml", line_of(text, None, None, "config")
        )
    description = data.get("description", "")
    if not isinstance(description, str):
        raise ScriptError(
            path, "description", "must be a string", line_of(text, None, None, "description")
        )
    raw = data.get("step")
    if not raw:
        raise ScriptError(path, "step", "no steps: add [[step]] tables")
    if not isinstance(raw, list) or not all(isinstance(s, dict) for s in raw):
        raise ScriptError(path, "step", "must be an array of tables: [[step]]")
    steps = [_parse_step(path, text, i, s) for i, s in enumerate(raw)]
    config_path = None
    if config is not None:
        config_path = Path(config)
        if not config_path.is_absolute() and path is not None:
            config_path = path.parent / config_path
    return Script(path, steps, description, text, config_path)


def _parse_step(path: Path | None, text: str | None, i: int, raw: dict[str, Any]) -> Step:
    number = i + 1
    header = line_of(text, "step", i)

    def fail(key: str | None, message: str) -> ScriptError:
        line = line_of(text, "step", i, key) if key else header
        return ScriptError(path, key, message, line, number)

    do = raw.get("do")
    if do is None:
        raise fail(None, f"missing 'do' (one of: {', '.join(STEPS)})")
    if do not in STEPS:
        raise fail("do", f"unknown action {do!r} (one of: {', '.join(STEPS)})")
    required, optional = STEPS[do]
    for key in raw:
        if key not in COMMON and key not in required and key not in optional:
            allowed = ", ".join([*required, *optional]) or "none"
            raise fail(key, f"'{do}' takes no key '{key}' (its keys: {allowed})")
    if do == "add_transaction" and ("sender" in raw) == ("wallet" in raw):
        raise fail(None, "'add_transaction' needs 'sender' (unsigned, any address) or "
                   "'wallet' (signed as that wallet), exactly one of them")
    for key in required:
        if key not in raw:
            raise fail(None, f"'{do}' needs '{key}'")
    for key, value in raw.items():
        if key in COMMON:
            continue
        ok, what = {**required, **optional}[key]
        if not ok(value):
            raise fail(key, f"must be {what}, not {value!r}")
    if do in ("expect", "wait") and not any(k in raw for k in EXPECT_KEYS):
        raise fail(None, f"'{do}' needs at least one of: {', '.join(EXPECT_KEYS)}")
    if do in ("automine", "traffic") and raw.get("on", True):
        needed = "every" if do == "automine" else "rate"
        if needed not in raw:
            raise fail(None, f"'{do}' needs '{needed}' (or on = false to stop)")
    note = raw.get("note")
    if note is not None and not isinstance(note, str):
        raise fail("note", "must be a string")
    args = {k: v for k, v in raw.items() if k not in COMMON}
    return Step(number, do, args, header, note)
