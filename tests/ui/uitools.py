"""Helpers for the UI tests: deterministic labs on free ports, waits with deadlines."""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Callable
from pathlib import Path

import requests
from nodeproc import wait_until  # noqa: F401 - one wait-until for every suite

from becoin_lab.app import LabApp
from becoin_lab.config import load_config
from becoin_lab.lab import Lab

HERE = Path(__file__).resolve().parent
FIXED_NODE = [sys.executable, str(HERE / "fixed_node.py")]
NAMES = ("node1", "node2", "node3")
STRICT_NAMES = ("node1", "node2", "forger")
WALLETS = ("alice", "bob", "mallory")


def lab_toml(tmp_path: Path, names: tuple[str, ...] = NAMES, difficulty: int = 1) -> Path:
    """A lab.toml whose nodes pick free ports themselves (port = 0)."""
    lines = ["[lab]", f"difficulty = {difficulty}", 'data_dir = "labdata"', "stop_grace = 2"]
    for name in names:
        lines += ["", "[[nodes]]", f'name = "{name}"', "port = 0"]
    path = tmp_path / "lab.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def make_lab(tmp_path: Path, names: tuple[str, ...] = NAMES, difficulty: int = 1) -> Lab:
    return Lab(load_config(lab_toml(tmp_path, names, difficulty)), node_command=FIXED_NODE)


def strict_lab_toml(tmp_path: Path, difficulty: int = 1) -> Path:
    """Strict rules, wallets alice, bob and mallory, two honest nodes and a forger; each node
    mines for a wallet (node1: alice, node2: bob, forger: mallory). The wallets' keys are
    fixed (see fixed_wallets), so hashes, signatures and balances repeat from run to run."""
    lines = ["[lab]", 'rules = "strict"', f"difficulty = {difficulty}", 'data_dir = "labdata"',
             "stop_grace = 2"]  # fmt: skip
    for name, miner in zip(STRICT_NAMES, WALLETS, strict=True):
        lines += ["", "[[nodes]]", f'name = "{name}"', "port = 0", f'miner = "{miner}"']
        if name == "forger":
            lines.append('role = "forger"')
    for wallet in WALLETS:
        lines += ["", "[[wallets]]", f'name = "{wallet}"']
    fixed_wallets(tmp_path / "labdata" / "wallets")
    path = tmp_path / "lab.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def fixed_wallets(folder: Path) -> None:
    """Each wallet's private key derived from its name (the lab reuses key files it finds)."""
    folder.mkdir(parents=True, exist_ok=True)
    for wallet in WALLETS:
        key = folder / f"{wallet}.key"
        key.write_text(hashlib.sha256(f"becoin-lab test wallet {wallet}".encode()).hexdigest())
        key.chmod(0o600)


def make_strict_lab(tmp_path: Path) -> Lab:
    return Lab(load_config(strict_lab_toml(tmp_path)), node_command=FIXED_NODE)


def make_app(lab: Lab, tmp_path: Path) -> LabApp:
    """The app as snapshot tests see it: ports hidden, fast polls, screenshots in tmp."""
    return LabApp(lab, redact_urls=True, poll_interval=0.1, screenshot_dir=tmp_path)


async def until(pilot, check: Callable[[], object], timeout: float = 15.0, what: str = "") -> None:
    """Let the app run until ``check()`` is truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except Exception as exc:  # noqa: BLE001 - keep waiting, report the last error
            last = exc
        else:
            if last:
                await pilot.pause()
                return
        await pilot.pause(0.02)
    app = pilot.app
    seen = [(n, s.up, s.length, s.error) for n, s in app.states.items()]
    raise AssertionError(
        f"timed out after {timeout}s waiting for {what or check}; last {last!r}; "
        f"states {seen}; workers {list(app.workers)}"
    )




def settled(app: LabApp, lengths: dict[str, int] | None = None) -> bool:
    """Every node shown, with the given chain lengths, and no action running."""
    if len(app.states) < len(app.lab.names):
        return False
    for name, length in (lengths or {}).items():
        state = app.states.get(name)
        if state is None or not state.up or state.length != length:
            return False
        if len(app.panel(name).table.rows) != length:
            return False
    busy = [w for w in app.workers if w.group not in ("poll", "deaths") and not w.is_finished]
    return not busy and not any(p.mining for p in app.panels)


def api(lab: Lab, name: str, path: str) -> dict:
    """Ask the node itself, over HTTP, bypassing the lab and the app."""
    reply = requests.get(lab.clients[name].url + path, timeout=10)
    reply.raise_for_status()
    return reply.json()


def log_text(app) -> str:
    return "\n".join(line.text for line in app.log_pane.lines)
