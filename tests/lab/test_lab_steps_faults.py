"""The fault and autopilot script steps: parsing (bad keys named), `wait` until a state holds
or fails with the last state seen, `lost`, `sides` and `automine` checks, and a script naming
its own lab.toml."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from labtools import BECOIN_LAB, ROOT, lab_toml

from becoin_lab.errors import ScriptError
from becoin_lab.runner import FAIL, OK, Runner
from becoin_lab.script import load_script, parse_script


def run(lab, steps: list[dict]) -> tuple[list[str], str]:
    out = io.StringIO()
    report = Runner(lab, parse_script({"step": steps}), out).run()
    return [r.status for r in report.results], out.getvalue()


def script_error(tmp_path: Path, text: str) -> ScriptError:
    path = tmp_path / "s.toml"
    path.write_text(text)
    with pytest.raises(ScriptError) as info:
        load_script(path)
    return info.value


@pytest.mark.parametrize("text, key, message", [
    ('do = "latency"\nnode = "node1"\nms = 10\nloss = 2', "loss", "from 0 to 1"),
    ('do = "latency"\nnode = "node1"\nms = 1.5', "ms", "whole number of milliseconds"),
    ('do = "partition"\ngroups = ["node1", "node2"]', "groups", "two lists of node names"),
    ('do = "partition"\ngroups = [["node1"]]', "groups", "two lists of node names"),
    ('do = "automine"\nnode = "all"', None, "'automine' needs 'every'"),
    ('do = "automine"\nnode = "all"\nevery = 0', "every", "from 0.05 to 3600"),
    ('do = "traffic"\non = true', None, "'traffic' needs 'rate'"),
    ('do = "traffic"\nrate = 5\naddresses = ["a"]', "addresses", "two different addresses"),
    ('do = "heal"\nnode = "node1"', "node", "'heal' takes no key 'node'"),
    ('do = "wait"\ntimeout = 5', None, "'wait' needs at least one of"),
    ('do = "wait"\nconsensus = true\nmsg = 1', "msg", "'wait' takes no key 'msg'"),
    ('do = "expect"\nlost = -1', "lost", "an integer >= 0"),
])  # fmt: skip
def test_bad_fault_steps_name_step_and_key(tmp_path, text, key, message):
    error = script_error(tmp_path, '[[step]]\ndo = "show"\n[[step]]\n' + text + "\n")
    assert error.step == 2 and error.key == key and message in str(error)
    assert error.line is not None and error.line >= 3


def test_partition_groups_must_name_lab_nodes(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('[[step]]\ndo = "partition"\ngroups = [["node1"], ["node2", "nodeX"]]\n')
    with pytest.raises(ScriptError, match="step 1, key 'groups': no node named 'nodeX'"):
        load_script(path).check_nodes(["node1", "node2", "node3"])


def test_bad_step_exits_2_from_the_cli(tmp_path):
    script = tmp_path / "s.toml"
    script.write_text('[[step]]\ndo = "latency"\nnode = "node1"\nms = -5\n')
    proc = subprocess.run([*BECOIN_LAB, "run", str(script), "-c", str(lab_toml(tmp_path))],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 2 and proc.stdout == ""
    assert "s.toml, line 4, step 1, key 'ms': must be a whole number" in proc.stderr


def test_wait_until_automine_reaches_a_length_then_times_out_with_last_state(lab):
    statuses, out = run(lab, [
        {"do": "automine", "node": "node1", "every": 0.1},
        {"do": "wait", "node": "node1", "min_length": 4, "automine": True, "timeout": 10},
        {"do": "automine", "node": "all", "on": False},
        {"do": "wait", "consensus": True, "timeout": 0.6},
        {"do": "expect", "automine": False, "sides": 1},
    ])  # fmt: skip
    assert statuses == [OK, OK, OK, FAIL, OK]
    assert "reached after" in out
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.lstrip().startswith("4. wait"))
    assert "not reached within 0.6s; last state seen:" in lines[at]
    assert lines[at + 1].startswith("     x consensus expected true, got 3 chains")
    assert lines[at + 2].split() == ["node", "length", "tip", "group"]
    assert "consensus: no, 3 chains" in out
    assert "FAILED: 5 steps, 3 checks, 1 failed (step 4)" in out


def test_failed_wait_lists_its_state_in_the_json_report(lab):
    steps = [{"do": "wait", "node": "node2", "length": 3, "timeout": 0.2}]
    report = Runner(lab, parse_script({"step": steps}), io.StringIO()).run()
    step = report.to_json()["steps"][0]
    assert step["status"] == FAIL and step["failures"][0]["key"] == "length"
    assert any("node2" in line for line in step["state"])


def test_fault_steps_and_lost_check_through_the_runner(lab):
    statuses, out = run(lab, [
        {"do": "connect"},
        {"do": "partition", "groups": [["node1", "node2"], ["node3"]]},
        {"do": "expect", "sides": 2},
        {"do": "latency", "node": "node1", "ms": 50, "loss": 0.5},
        {"do": "traffic", "rate": 50, "addresses": ["x", "y"], "nodes": ["node1", "node3"]},
        {"do": "sleep", "seconds": 0.3},
        {"do": "traffic", "on": False},
        {"do": "add_transaction", "node": "node2", "sender": "a", "receiver": "b", "amount": 2},
        {"do": "expect", "lost": 0},
        {"do": "heal"},
        {"do": "latency", "node": "node1", "ms": 0},
        {"do": "expect", "sides": 1, "mempool": 0},
    ])  # fmt: skip
    assert statuses[:-1] == [OK] * 11
    assert "partition: node1 node2 | node3" in out
    assert "[latency 50ms, loss 50%]" in out
    assert statuses[-1] == FAIL and "x node2: mempool expected 0, got 1" in out
    assert {a.node for a in lab.ledger.acknowledged()} == {"node1", "node2", "node3"}


def test_a_script_names_its_own_lab_toml(tmp_path):
    (tmp_path / "mine.lab.toml").write_text(lab_toml(tmp_path, ("solo",)).read_text())
    script = tmp_path / "s.toml"
    script.write_text('config = "mine.lab.toml"\n[[step]]\ndo = "expect"\nnode = "solo"\n'
                      'length = 1\n')  # fmt: skip
    assert load_script(script).config == tmp_path / "mine.lab.toml"
    proc = subprocess.run([*BECOIN_LAB, "run", str(script)], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 nodes (1 started here)" in proc.stdout
