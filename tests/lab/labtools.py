"""Helpers for the lab tests: lab.toml files on free ports, waits with deadlines, pid checks."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

from nodeproc import wait_until  # noqa: F401 - one wait-until for every suite

ROOT = Path(__file__).resolve().parents[2]
BECOIN_LAB = [sys.executable, "-m", "becoin_lab"]


def pid_gone(pid: int) -> bool:
    """True when the process no longer runs (a zombie waiting for its reaper counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def lab_toml(
    tmp_path: Path,
    names: tuple[str, ...] = ("node1", "node2", "node3"),
    difficulty: int = 1,
    ports: dict[str, int] | None = None,
    extra: str = "",
) -> Path:
    """Write a lab.toml whose nodes pick free ports themselves (port = 0) unless given."""
    ports = ports or {}
    lines = ["[lab]", f"difficulty = {difficulty}", 'data_dir = "labdata"', "stop_grace = 2", extra]
    for name in names:
        lines += ["", "[[nodes]]", f'name = "{name}"', f"port = {ports.get(name, 0)}"]
    path = tmp_path / "lab.toml"
    path.write_text("\n".join(lines) + "\n")
    return path
