"""Across real network boundaries: three nodes, each in a network namespace of its own (its
own interfaces, addresses and port space, as on three machines), joined by veth pairs on a
bridge. The lab runs outside them all, attaches to the nodes by address (url = in lab.toml)
and plays the blog's walkthrough across them, then cuts and heals a partition.

Needs root and `ip netns`; skipped with the reason where the machine does not allow it.
"""

from __future__ import annotations

import io
import os
import random
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from labtools import ROOT, wait_until

from becoin_lab.client import NodeClient
from becoin_lab.config import load_config
from becoin_lab.errors import LabError
from becoin_lab.lab import Lab
from becoin_lab.runner import Runner
from becoin_lab.script import load_script
from becoin_lab.supervisor import default_node_command

NODE = default_node_command()
PORT = 5001  # the same port in every namespace: they are separate machines
TOKEN = "classroom-secret"


def _ip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)


def _netns_unavailable() -> str | None:
    if shutil.which("ip") is None:
        return "the `ip` command (iproute2) is not installed"
    if os.geteuid() != 0:
        return "network namespaces need root (ip netns add)"
    probe = f"bcprobe{os.getpid()}"
    made = _ip("netns", "add", probe)
    if made.returncode != 0:
        return f"`ip netns add` is not allowed here: {made.stderr.strip()}"
    _ip("netns", "del", probe)
    return None


class Namespaces:
    """N namespaces on one bridge, 10.A.B.11.. inside, the bridge (the lab's side) at .1."""

    def __init__(self, tmp_path: Path, count: int) -> None:
        self.tag = f"{os.getpid() % 10000:04d}{random.randrange(100):02d}"
        self.subnet = f"10.{random.randrange(100, 250)}.{random.randrange(256)}"
        self.bridge = f"bcb{self.tag}"
        self.names = [f"bcns{self.tag}{i}" for i in range(count)]
        self.addresses = [f"{self.subnet}.{11 + i}" for i in range(count)]
        self.procs: list[subprocess.Popen] = []
        self.tmp_path = tmp_path
        self.made: list[str] = []

    def up(self) -> None:
        self._run("link", "add", self.bridge, "type", "bridge")
        self._run("addr", "add", f"{self.subnet}.1/24", "dev", self.bridge)
        self._run("link", "set", self.bridge, "up")
        for i, (ns, address) in enumerate(zip(self.names, self.addresses, strict=True)):
            self._run("netns", "add", ns)
            self.made.append(ns)
            outside, inside = f"bcv{self.tag}{i}", f"bci{self.tag}{i}"
            self._run("link", "add", outside, "type", "veth", "peer", "name", inside)
            self._run("link", "set", inside, "netns", ns)
            self._run("link", "set", outside, "master", self.bridge)
            self._run("link", "set", outside, "up")
            self._run("-n", ns, "link", "set", "lo", "up")
            self._run("-n", ns, "addr", "add", f"{address}/24", "dev", inside)
            self._run("-n", ns, "link", "set", inside, "up")

    def start_node(self, i: int, name: str) -> str:
        log = open(self.tmp_path / f"{name}.log", "wb")  # noqa: SIM115 - the child's for life
        proc = subprocess.Popen(
            ["ip", "netns", "exec", self.names[i], *NODE, "--host", self.addresses[i],
             "--port", str(PORT), "--name", name, "--difficulty", "1",
             "--data-dir", str(self.tmp_path / name)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, env=dict(os.environ, BECOIN_ADMIN_TOKEN=TOKEN),
        )  # fmt: skip
        self.procs.append(proc)
        return f"http://{self.addresses[i]}:{PORT}"

    def down(self) -> None:
        for proc in self.procs:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=10)
        for i, ns in enumerate(self.made):
            _ip("link", "del", f"bcv{self.tag}{i}")  # one end of a veth pair takes both
            _ip("netns", "del", ns)
        _ip("link", "del", self.bridge)

    def _run(self, *args: str) -> None:
        done = _ip(*args)
        if done.returncode != 0:
            raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


@pytest.fixture
def namespaces(tmp_path: Path) -> Iterator[Namespaces]:
    reason = _netns_unavailable()
    if reason:
        pytest.skip(f"no network namespaces: {reason}")
    spaces = Namespaces(tmp_path, 3)
    try:
        try:
            spaces.up()
        except RuntimeError as exc:
            pytest.skip(f"cannot build the namespaces' network: {exc}")
        yield spaces
    finally:
        spaces.down()


def test_blog_walkthrough_across_network_namespaces(namespaces, tmp_path):
    urls = {f"node{i + 1}": namespaces.start_node(i, f"node{i + 1}") for i in range(3)}
    for name, url in urls.items():
        client = NodeClient(name, url, timeout=1)
        wait_until(lambda c=client: c.status(), 20, f"{name} to answer at {url}")
        client.close()
    assert len(set(urls.values())) == 3 and all(f":{PORT}" in u for u in urls.values())

    config = tmp_path / "lab.toml"
    config.write_text(
        f'[lab]\ndifficulty = 1\nadmin_token = "{TOKEN}"\n'
        + "".join(f'\n[[nodes]]\nname = "{n}"\nurl = "{u}"\n' for n, u in urls.items())
    )
    lab = Lab(load_config(config))
    try:
        lab.start()  # attaches: starts nothing
        assert lab.supervisor.nodes == {}
        out = io.StringIO()
        report = Runner(lab, load_script(ROOT / "examples" / "blog_walkthrough.toml"), out).run()
        assert report.ok, out.getvalue()
        peers = lab.snapshot()["node1"].peers
        assert sorted(peers) == sorted(u.removeprefix("http://") for u in list(urls.values())[1:])

        # the admin token from lab.toml reaches them too: a partition across the namespaces
        lab.partition([["node1"], ["node2", "node3"]])
        lab.mine("node2")
        began = time.monotonic()
        assert not lab.replace_chain("node1")["node1"].replaced
        assert time.monotonic() - began < 5
        assert lab.snapshot().partition == [["node1"], ["node2", "node3"]]
        lab.heal()
        assert lab.replace_chain("node1")["node1"].replaced
        lab.replace_chain("node3")
        assert lab.snapshot().diff().consensus
        with pytest.raises(LabError, match="not a node this lab starts"):
            lab.kill_node("node1")  # a node on another machine is not the lab's to kill
    finally:
        lab.close()
