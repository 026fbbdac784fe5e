"""`becoin-lab` in a real terminal (a pty): every way out stops every node it started."""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from uitools import lab_toml, wait_until


def children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] not in ("Z", "X"):
            found.add(int(entry.name))
    return found


def _cmdline(entry: Path) -> str:
    try:
        return (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


@pytest.mark.parametrize("how", ["q", "ctrl+c", "SIGTERM", "SIGHUP", "q-while-starting"])
def test_every_way_out_stops_the_nodes(tmp_path: Path, how: str):
    config = lab_toml(tmp_path)
    master, slave = pty.openpty()
    env = dict(os.environ, TERM="xterm-256color", COLUMNS="100", LINES="30")
    proc = subprocess.Popen([sys.executable, "-m", "becoin_lab", "--config", str(config)],
                            stdin=slave, stdout=slave, stderr=slave, cwd=tmp_path, env=env,
                            start_new_session=True)  # fmt: skip
    os.close(slave)
    os.set_blocking(master, False)
    nodes: set[int] = set()
    try:

        def drain() -> None:
            try:
                while os.read(master, 65536):
                    pass
            except (BlockingIOError, OSError):
                pass

        def three_nodes() -> bool:
            drain()
            nodes.update(children(proc.pid))
            return len(nodes) >= 3 and all(
                (tmp_path / "labdata" / n / "node.log").exists()
                and b"serving on" in (tmp_path / "labdata" / n / "node.log").read_bytes()
                for n in ("node1", "node2", "node3")
            )

        if how == "q-while-starting":  # quit while the lab is still bringing its nodes up

            def spawning() -> bool:
                drain()
                nodes.update(children(proc.pid))
                return bool(nodes)

            wait_until(spawning, 30, "the first node to be spawned")
        else:
            wait_until(three_nodes, 30, "three nodes up")
        if how.startswith("q"):
            os.write(master, b"q")
        elif how == "ctrl+c":
            os.write(master, b"\x03")
        else:
            proc.send_signal(getattr(signal, how))

        def exited() -> bool:
            drain()
            return proc.poll() is not None

        wait_until(exited, 20, "becoin-lab to exit")
        nodes.update(children(proc.pid))
        wait_until(lambda: not any(alive(p) for p in nodes), 10, "every node to stop")
        mine = [p for p in Path("/proc").iterdir() if p.name.isdigit() and "--data-dir " +
                str(tmp_path) in _cmdline(p)]  # fmt: skip
        assert not mine, f"nodes of this lab still run: {[p.name for p in mine]}"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        for pid in nodes:
            if alive(pid):
                os.killpg(pid, signal.SIGKILL)
        os.close(master)
