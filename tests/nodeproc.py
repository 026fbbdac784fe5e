"""Real node processes for tests: start, find their port, stop, never leak."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

URL_RE = re.compile(r"(?:serving on|Running on) (http://127\.0\.0\.1:\d+)")
BLOG_NODE = Path(__file__).with_name("blog_node.py")


def wait_until(check: Callable[[], object], timeout: float = 10.0, what: str = "condition"):
    """Poll `check` until it answers something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except Exception as exc:  # noqa: BLE001 - keep polling, report the last error
            last = exc
        else:
            if last:
                return last
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")


@dataclass
class NodeProc:
    proc: subprocess.Popen
    log: Path
    url: str = ""

    @property
    def netloc(self) -> str:
        return self.url.removeprefix("http://")

    def get(self, path: str, **kw) -> requests.Response:
        return requests.get(self.url + path, timeout=kw.pop("timeout", 30), **kw)

    def post(self, path: str, **kw) -> requests.Response:
        return requests.post(self.url + path, timeout=kw.pop("timeout", 30), **kw)

    def signal(self, signum: int) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signum)

    def stop(self, timeout: float = 10.0) -> int:
        self.signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            return self.proc.wait(timeout)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        self.proc.wait(10)


def start_process(cmd: list[str], log: Path, cwd: Path, timeout: float = 20.0,
                  env: dict[str, str] | None = None) -> NodeProc:
    out = open(log, "wb")  # noqa: SIM115 - the child owns it
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                            cwd=cwd, start_new_session=True,
                            env={**os.environ, **env} if env else None)
    out.close()
    node = NodeProc(proc, log)

    def ready() -> str | None:
        if proc.poll() is not None:
            raise AssertionError(f"{cmd} exited {proc.returncode}: {log.read_text()}")
        m = URL_RE.search(log.read_text(errors="replace"))
        return m.group(1) if m else None

    try:
        node.url = wait_until(ready, timeout, f"{cmd[:3]} to serve")
    except BaseException:
        node.kill()
        raise
    return node


def node_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "becoin_core", "--port", "0", *args]


def blog_command() -> list[str]:
    return [sys.executable, str(BLOG_NODE), "0"]
