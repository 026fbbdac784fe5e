"""Start, stop, kill and restart node subprocesses; never leave an orphan.

Children get stdin from /dev/null, write to a log file per node (a pipe nobody reads would
deadlock them), run in a session of their own and are stopped with os.killpg (SIGTERM, a grace
period, SIGKILL). SIGTERM/SIGHUP handlers and an atexit hook stop every node; nodes started
with --watch-parent exit on their own when the lab process is SIGKILLed.
"""

from __future__ import annotations

import atexit
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import requests

from becoin_lab.config import LabConfig, NodeConfig
from becoin_lab.errors import LabError, StartError

_SERVING = re.compile(rb"serving on (https?://[^\s\"']+)")
ProgressFn = Callable[[int, int, str], None]


@dataclass
class NodeProcess:
    """One managed node: its config, process, log and the URL it serves on."""

    config: NodeConfig
    data_dir: Path
    proc: subprocess.Popen | None = None
    url: str | None = None
    port: int = 0
    log_offset: int = 0
    stopping: bool = False  # set when the lab stops/kills it on purpose
    reported: bool = False  # an unexpected death already reported by check()
    log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def log_path(self) -> Path:
        return self.data_dir / "node.log"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@dataclass(frozen=True)
class Death:
    """A node that exited without the lab asking it to."""

    name: str
    returncode: int | None
    log_tail: str


def default_node_command() -> list[str]:
    """`becoin-node` beside this Python (the venv), on PATH, or `python -m becoin_core`."""
    override = os.environ.get("BECOIN_LAB_NODE")
    if override:
        return shlex.split(override)
    beside = Path(sys.executable).parent / "becoin-node"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("becoin-node")
    if found:
        return [found]
    return [sys.executable, "-m", "becoin_core"]


class Supervisor:
    """The node processes of one lab. Thread-safe; every method may be called from workers."""

    def __init__(
        self,
        config: LabConfig,
        data_dir: Path | None = None,
        node_command: list[str] | None = None,
        progress: ProgressFn | None = None,
        admin_token: str | None = None,
        miner_key: Callable[[str], str] | None = None,
    ) -> None:
        self.config = config
        self.admin_token = admin_token  # handed to every node as BECOIN_ADMIN_TOKEN
        # A miner that names a wallet -> its public key (set by Lab, which owns the wallets).
        self.miner_key = miner_key
        self.data_dir = Path(data_dir or config.data_dir)
        self.command = node_command or config.node_command or default_node_command()
        self.progress = progress
        self._lock = threading.RLock()
        self.nodes: dict[str, NodeProcess] = {
            n.name: NodeProcess(n, self.data_dir / n.name, port=n.port)
            for n in config.nodes
            if n.managed
        }
        _register(self)

    # -- queries ---------------------------------------------------------------------------
    def url(self, name: str) -> str:
        node = self._node(name)
        return node.url or node.config.base_url

    def pid(self, name: str) -> int | None:
        proc = self._node(name).proc
        return proc.pid if proc is not None else None

    def is_running(self, name: str) -> bool:
        return self._node(name).running

    def log_tail(self, name: str, lines: int = 20) -> str:
        return _tail(self._node(name).log_path, lines)

    def check(self) -> list[Death]:
        """Nodes that died since the last check without being asked to (each reported once)."""
        deaths = []
        with self._lock:
            for node in self.nodes.values():
                if node.proc is None or node.stopping or node.reported:
                    continue
                code = node.proc.poll()
                if code is not None:
                    node.reported = True
                    deaths.append(Death(node.name, code, _tail(node.log_path)))
        return deaths

    # -- lifecycle -------------------------------------------------------------------------
    def start_all(self, timeout: float | None = None) -> dict[str, str]:
        """Start every managed node in parallel and wait until each answers /status."""
        names = [n for n, node in self.nodes.items() if not node.running]
        return self._start(names, timeout)

    def start(self, name: str, timeout: float | None = None) -> str:
        """Start one node (not already running); returns its URL."""
        if self._node(name).running:
            raise LabError(f"{name}: already running")
        return self._start([name], timeout)[name]

    def restart(self, name: str, timeout: float | None = None) -> str:
        self.stop(name)
        return self.start(name, timeout)

    def stop(self, name: str, grace: float | None = None) -> int | None:
        """SIGTERM the node's process group, SIGKILL after the grace period. Returns exit code."""
        node = self._node(name)
        node.stopping = True
        return _stop_process(node, self.config.stop_grace if grace is None else grace)

    def kill(self, name: str) -> int | None:
        """SIGKILL the node (a crash, for experiments)."""
        node = self._node(name)
        node.stopping = True
        return _stop_process(node, 0.0)

    def stop_all(self, grace: float | None = None) -> None:
        """Stop every node at once: TERM all, wait up to the grace period, KILL the rest."""
        grace = self.config.stop_grace if grace is None else grace
        live = [n for n in self.nodes.values() if n.proc is not None]
        for node in live:
            node.stopping = True
            _signal(node, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for node in live:
            _stop_process(node, max(0.0, deadline - time.monotonic()))

    close = stop_all

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()

    # -- internals -------------------------------------------------------------------------
    def _node(self, name: str) -> NodeProcess:
        try:
            return self.nodes[name]
        except KeyError:
            raise LabError(f"{name}: not a node this lab starts") from None

    def _spawn(self, node: NodeProcess) -> None:
        node.data_dir.mkdir(parents=True, exist_ok=True)
        if node.log is not None:
            node.log.close()
        node.log = open(node.log_path, "ab")  # noqa: SIM115 - kept open for the child's life
        node.log.write(f"--- becoin-lab starting {node.name} at {time.ctime()} ---\n".encode())
        node.log.flush()
        node.log_offset = node.log.tell()
        cfg = node.config
        args = [
            *self.command,
            "--host", cfg.host,
            "--port", str(node.port),
            "--name", cfg.name,
            "--data-dir", str(node.data_dir),
            "--difficulty", str(self.config.difficulty),
            "--sync", self.config.sync,
            "--watch-parent",
        ]  # fmt: skip
        miner = cfg.miner or self.config.miner
        if miner and self.miner_key is not None:
            miner = self.miner_key(miner)
        if miner:
            args += ["--miner", miner]
        rules = cfg.rules or self.config.rules
        if rules != "classic":  # the node's default: keep the command minimal
            args += ["--rules", rules]
        if cfg.role != "honest":
            args += ["--role", cfg.role]
        propagation = cfg.propagation or self.config.propagation
        if propagation != "manual":  # manual is every node's default: keep the command minimal
            args += ["--propagation", propagation]
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env.pop("BECOIN_ADMIN_TOKEN", None)  # only the lab's own secret, never an inherited one
        if self.admin_token:
            env["BECOIN_ADMIN_TOKEN"] = self.admin_token
        node.stopping = False
        node.reported = False
        node.url = None
        node.proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=node.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            env=env,
        )

    def _start(self, names: list[str], timeout: float | None) -> dict[str, str]:
        timeout = self.config.start_timeout if timeout is None else timeout
        with self._lock:
            started = []
            try:
                for name in names:
                    self._spawn(self._node(name))
                    started.append(name)
            except OSError as exc:
                for name in started:
                    self.stop(name, 0.5)
                raise StartError(f"cannot run {shlex.join(self.command)}: {exc}") from None
        failures = self._wait_ready(names, timeout)
        if failures:
            for name in names:
                self.stop(name, 1.0)
            summary = ", ".join(sorted(failures))
            raise StartError(f"{len(failures)} node(s) did not come up: {summary}", failures)
        return {name: self.url(name) for name in names}

    def _wait_ready(self, names: list[str], timeout: float) -> dict[str, str]:
        """Poll every starting node until it answers; returns name -> reason for failures."""
        deadline = time.monotonic() + timeout
        pending = set(names)
        failures: dict[str, str] = {}
        up = 0
        session = requests.Session()
        delay = 0.01
        try:
            while pending:
                for name in sorted(pending):
                    node = self.nodes[name]
                    reason = self._probe(node, session)
                    if reason is None:
                        pending.discard(name)
                        up += 1
                        if self.progress:
                            self.progress(up, len(names), name)
                    elif reason:
                        pending.discard(name)
                        failures[name] = reason
                if pending and time.monotonic() > deadline:
                    for name in pending:
                        failures[name] = (
                            f"no answer within {timeout:g}s\n{_tail(self.nodes[name].log_path)}"
                        )
                    break
                if pending:
                    time.sleep(delay)
                    delay = min(delay * 1.5, 0.1)
        finally:
            session.close()
        return failures

    def _probe(self, node: NodeProcess, session: requests.Session) -> str | None:
        """None when up, '' when not yet, a reason when it failed for good."""
        assert node.proc is not None
        code = node.proc.poll()
        if code is not None:
            return f"exited with code {code}\n{_tail(node.log_path)}"
        if node.url is None:
            try:
                with open(node.log_path, "rb") as log:
                    log.seek(node.log_offset)
                    found = _SERVING.search(log.read())
            except OSError:
                found = None
            if not found:
                return ""
            node.url = found.group(1).decode().rstrip("/.,")
            node.port = int(node.url.rsplit(":", 1)[1].split("/")[0])
        try:
            reply = session.get(f"{node.url}/status", timeout=1.0)
        except requests.RequestException:
            return ""
        if reply.status_code != 200:
            return ""
        return None


def _signal(node: NodeProcess, sig: int) -> None:
    if node.proc is None or node.proc.poll() is not None:
        return
    try:
        os.killpg(node.proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _stop_process(node: NodeProcess, grace: float) -> int | None:
    proc = node.proc
    code = None
    if proc is not None:
        if grace > 0:
            _signal(node, signal.SIGTERM)
            try:
                code = proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        if proc.poll() is None:
            _signal(node, signal.SIGKILL)
        try:
            code = proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        # The group may still hold children of the node; make sure they go too.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    if node.log is not None:
        node.log.close()
        node.log = None
    return code


def _tail(path: Path, lines: int = 20) -> str:
    try:
        with open(path, "rb") as log:
            log.seek(0, os.SEEK_END)
            size = log.tell()
            log.seek(max(0, size - 8192))
            data = log.read().decode("utf-8", "replace")
    except OSError:
        return "(no log)"
    return "\n".join(data.splitlines()[-lines:])


# -- process-wide safety net: atexit and SIGTERM/SIGHUP stop every supervisor's nodes -------
_SUPERVISORS: weakref.WeakSet[Supervisor] = weakref.WeakSet()
_INSTALLED = False


def _stop_everything() -> None:
    for sup in list(_SUPERVISORS):
        try:
            sup.stop_all(grace=1.0)
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


def _on_signal(signum: int, frame: object) -> None:
    _stop_everything()
    raise SystemExit(128 + signum)


def _register(sup: Supervisor) -> None:
    global _INSTALLED
    _SUPERVISORS.add(sup)
    if _INSTALLED:
        return
    _INSTALLED = True
    atexit.register(_stop_everything)
    if threading.current_thread() is threading.main_thread():
        install_signal_handlers()


def install_signal_handlers() -> None:
    """Stop all nodes on SIGTERM and SIGHUP (main thread only; keeps custom handlers)."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) in (signal.SIG_DFL, None):
            signal.signal(sig, _on_signal)
