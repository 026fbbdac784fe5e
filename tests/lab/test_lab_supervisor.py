"""The supervisor with real node processes: start, stop, kill, restart, and no orphans."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import requests
from labtools import ROOT, lab_toml, pid_gone, wait_until

from becoin_lab.config import load_config
from becoin_lab.errors import StartError
from becoin_lab.supervisor import Supervisor


@pytest.fixture
def sup(tmp_path):
    supervisor = Supervisor(load_config(lab_toml(tmp_path, names=("a", "b"))))
    try:
        yield supervisor
    finally:
        supervisor.stop_all(grace=1)


def answers(url: str) -> bool:
    try:
        return requests.get(url + "/status", timeout=2).ok
    except requests.RequestException:
        return False


def test_start_all_in_parallel_then_stop(sup, tmp_path):
    urls = sup.start_all()
    assert set(urls) == {"a", "b"}
    for name, url in urls.items():
        status = requests.get(url + "/status", timeout=5).json()
        assert status["name"] == name
        assert status["difficulty"] == 1
    assert (tmp_path / "labdata" / "a" / "node.log").read_text().count("serving on") == 1
    pids = [sup.pid("a"), sup.pid("b")]
    sup.stop_all()
    assert all(pid_gone(p) for p in pids)
    assert not sup.is_running("a") and not answers(urls["a"])
    assert sup.check() == []  # stopping on purpose is not a death


def test_kill_is_noticed_only_when_unexpected(sup):
    sup.start_all()
    sup.kill("a")
    assert not sup.is_running("a") and sup.check() == []
    pid = sup.pid("b")
    os.killpg(pid, signal.SIGKILL)  # something else kills b: a crash
    deaths = wait_until(sup.check, 10, "the crash to be noticed")
    assert [d.name for d in deaths] == ["b"]
    assert deaths[0].returncode == -signal.SIGKILL
    assert "serving on" in deaths[0].log_tail
    assert sup.check() == []  # reported once


def test_restart_keeps_port_and_data(sup):
    url = sup.start_all()["a"]
    requests.get(url + "/mine_block", timeout=10).raise_for_status()
    old_pid = sup.pid("a")
    new_url = sup.restart("a")
    assert new_url == url  # port 0 was resolved once and is reused
    assert sup.pid("a") != old_pid and pid_gone(old_pid)
    assert requests.get(url + "/get_chain", timeout=5).json()["length"] == 2  # SQLite kept it
    sup.stop("a")
    assert not answers(url)
    assert sup.start("a") == url and answers(url)


def test_a_node_that_cannot_start_is_reported_with_its_log(tmp_path):
    cfg = load_config(lab_toml(tmp_path, names=("a",)))
    crash = [sys.executable, "-c", "import sys; print('boom: no such chain'); sys.exit(3)"]
    with pytest.raises(StartError) as info:
        Supervisor(cfg, node_command=crash).start_all(timeout=10)
    assert "a" in info.value.failures
    assert "exited with code 3" in info.value.failures["a"]
    assert "boom: no such chain" in info.value.failures["a"]


def test_a_node_that_never_answers_times_out(tmp_path):
    cfg = load_config(lab_toml(tmp_path, names=("a",)))
    mute = [sys.executable, "-c", "import time; time.sleep(60)"]
    sup = Supervisor(cfg, node_command=mute)
    with pytest.raises(StartError) as info:
        sup.start_all(timeout=0.5)
    assert "no answer within 0.5s" in info.value.failures["a"]
    assert not sup.is_running("a")  # the failed start cleaned up after itself


LAB_PROCESS = textwrap.dedent("""
    import json, sys, time
    from becoin_lab.config import load_config
    from becoin_lab.lab import Lab
    lab = Lab(load_config(sys.argv[1]))
    lab.start()
    print(json.dumps([lab.supervisor.pid(n) for n in lab.names]), flush=True)
    time.sleep(120)
""")


def start_lab_process(tmp_path: Path) -> tuple[subprocess.Popen, list[int]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", LAB_PROCESS, str(lab_toml(tmp_path, names=("a", "b")))],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
    )
    line = proc.stdout.readline()
    assert line, "the lab process printed no pids"
    return proc, json.loads(line)


@pytest.mark.parametrize(
    "sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=lambda s: s.name
)
def test_no_orphans_when_the_lab_process_dies(tmp_path, sig):
    proc, pids = start_lab_process(tmp_path)
    try:
        assert len(pids) == 2 and not any(pid_gone(p) for p in pids)
        proc.send_signal(sig)
        proc.wait(10)
        # SIGKILL: nothing runs in the lab; the nodes notice their parent is gone (--watch-parent)
        wait_until(lambda: all(pid_gone(p) for p in pids), 10, f"nodes to exit after {sig!r}")
    finally:
        proc.kill()
        proc.wait()
        for pid in pids:
            if not pid_gone(pid):
                os.kill(pid, signal.SIGKILL)
