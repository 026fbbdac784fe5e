"""The headless runner: `becoin-lab run SCRIPT`, its output, exit codes and JSON report."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
from pathlib import Path

import pytest
import requests
from labtools import BECOIN_LAB, ROOT, lab_toml, wait_until

from becoin_lab.config import load_config
from becoin_lab.runner import Runner
from becoin_lab.script import load_script, parse_script


def run_cli(tmp_path: Path, script: Path | str, *extra: str) -> subprocess.CompletedProcess:
    config = lab_toml(tmp_path)
    return subprocess.run(
        [*BECOIN_LAB, "run", str(script), "--config", str(config), *extra],
        capture_output=True,
        text=True,
        timeout=90,
        cwd=tmp_path,
    )


def write_script(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "script.toml"
    path.write_text(text)
    return path


EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*.toml") if not p.name.endswith(".lab.toml"))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_every_example_passes(tmp_path, example):
    report = tmp_path / "report.json"
    names = ["node1", "node2", "node3"]
    own = load_script(example).config
    if own is not None:  # it names its own lab (example.lab.toml)
        names = load_config(own).names
        proc = subprocess.run(
            [*BECOIN_LAB, "run", str(example), "--json", str(report)],
            capture_output=True, text=True, timeout=90, cwd=tmp_path,
        )  # fmt: skip
    else:
        proc = run_cli(tmp_path, example, "--json", str(report))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"^PASSED: \d+ steps, \d+ checks", proc.stdout, re.M)
    data = json.loads(report.read_text())
    assert data["ok"] is True and data["exit_code"] == 0 and data["consensus"] is True
    assert all(step["status"] == "ok" for step in data["steps"])
    assert [n["name"] for n in data["nodes"]] == names
    fresh = re.search(r"data in (\S+) \(fresh\)", proc.stdout).group(1)
    assert not Path(fresh).exists()  # a passing run leaves no node data behind


def test_output_has_one_line_per_step_and_a_table_after_chain_changes(tmp_path):
    proc = run_cli(tmp_path, ROOT / "examples" / "fork_race.toml")
    lines = proc.stdout.splitlines()
    step_lines = [line for line in lines if re.match(r"^\s*\d+\. ", line)]
    assert len(step_lines) == 12
    assert re.match(r"^\s*2\. mine node1\s+ok\s+\d+\.\d\ds  block 2 [0-9a-f]{8}$", step_lines[1])
    after_round = lines[lines.index(step_lines[10]) + 1 :][:5]
    assert after_round[0].split() == ["node", "length", "tip", "group"]
    assert [row.split()[:2] for row in after_round[1:4]] == [["node1", "4"], ["node2", "4"],
                                                            ["node3", "4"]]  # fmt: skip
    assert "consensus: yes, 3 of 3 nodes" in after_round[4]


def test_failed_expectation_exit_1_shows_expected_and_actual(tmp_path):
    script = write_script(
        tmp_path,
        """
[[step]]
do = "mine"
node = "node1"
[[step]]
do = "expect"
node = "node1"
length = 3
balance = { Receiver = 10 }
[[step]]
do = "expect"
consensus = true
[[step]]
do = "expect"
mempool = 0
""",
    )
    report = tmp_path / "r.json"
    proc = run_cli(tmp_path, script, "--json", str(report))
    assert proc.returncode == 1
    assert "x node1: length expected 3, got 2" in proc.stdout
    assert "x consensus expected true, got 3 chains" in proc.stdout
    assert "FAILED: 4 steps, 3 checks, 2 failed (step 2, 3)" in proc.stdout
    data = json.loads(report.read_text())
    assert [s["status"] for s in data["steps"]] == ["ok", "FAIL", "FAIL", "ok"]
    assert data["steps"][1]["failures"] == [
        {"node": "node1", "key": "length", "expected": 3, "actual": 2}
    ]
    kept = Path(data["data_dir"])
    assert (kept / "node1" / "node.log").exists()  # a failed run keeps the logs


def test_bad_script_exit_2_names_step_and_key(tmp_path):
    script = write_script(tmp_path, '[[step]]\ndo = "connect"\n[[step]]\ndo = "mine"\n'
                                    'node = "node1"\ncount = 0\n')  # fmt: skip
    proc = run_cli(tmp_path, script)
    assert proc.returncode == 2
    assert "script.toml, line 6, step 2, key 'count': must be an integer" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    proc = run_cli(tmp_path, tmp_path / "missing.toml")
    assert proc.returncode == 2 and "cannot read" in proc.stderr


def test_action_error_skips_the_rest(tmp_path):
    script = write_script(
        tmp_path,
        """
[[step]]
do = "kill"
node = "node2"
[[step]]
do = "mine"
node = "node2"
[[step]]
do = "expect"
length = 1
""",
    )
    proc = run_cli(tmp_path, script)
    assert proc.returncode == 1
    assert re.search(r"2\. mine node2\s+ERROR .*node2: mine_block failed: connection refused",
                     proc.stdout)  # fmt: skip
    assert re.search(r"3\. expect length=1\s+skip", proc.stdout)


def test_unexpected_death_is_reported_and_fails_the_run(lab):
    os.killpg(lab.supervisor.pid("node3"), signal.SIGKILL)
    wait_until(lambda: not lab.supervisor.is_running("node3"), 10, "node3 to die")
    script = parse_script({"step": [{"do": "mine", "node": "node1"},
                                    {"do": "expect", "node": "node1", "length": 2}]})  # fmt: skip
    out = io.StringIO()
    report = Runner(lab, script, out).run()
    text = out.getvalue()
    assert "!! node3 died unexpectedly (exit code -9)" in text
    assert "serving on" in text  # the tail of its log
    assert report.exit_code == 1 and report.to_json()["deaths"][0]["node"] == "node3"


def test_ctrl_c_stops_the_lab(tmp_path):
    script = write_script(tmp_path, '[[step]]\ndo = "sleep"\nseconds = 60\n')
    proc = subprocess.Popen(
        [*BECOIN_LAB, "run", str(script), "--config", str(lab_toml(tmp_path)),
         "--data-dir", str(tmp_path / "data"), "--json", str(tmp_path / "r.json")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
    )  # fmt: skip
    try:
        assert "nodes up" in proc.stdout.readline() + proc.stdout.readline()
        logs = [tmp_path / "data" / n / "node.log" for n in ("node1", "node2", "node3")]
        urls = [re.search(r"serving on (\S+)", log.read_text()).group(1) for log in logs]
        assert all(requests.get(u + "/status", timeout=5).ok for u in urls)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert "interrupted: stopping the lab" in err and "Traceback" not in err
    for url in urls:
        with pytest.raises(requests.ConnectionError):
            requests.get(url + "/status", timeout=2)
    assert json.loads((tmp_path / "r.json").read_text())["interrupted"] is True
