"""A 20-node lab, scripted, against just starting 20 becoin-node processes.

    .venv/bin/python benchmarks/bench_lab_start.py [--nodes 20] [--difficulty 4] [--repeat 3]

"bare": spawn N `becoin-node` processes (free ports, a data dir each), wait until every one
answers /status.  "lab": Lab.start() on an N-node lab.toml, then the script: connect every node
to every other, mine one block, one consensus round (replace_chain on all), expect consensus
at length 2.  Stopping is not timed in either.  Target: lab <= 1.5 x bare.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from becoin_lab.config import parse_config
from becoin_lab.lab import Lab
from becoin_lab.runner import Runner
from becoin_lab.script import parse_script
from becoin_lab.supervisor import default_node_command

SCRIPT = {
    "step": [
        {"do": "connect"},
        {"do": "mine", "node": "node1"},
        {"do": "replace_chain"},
        {"do": "expect", "consensus": True, "length": 2},
    ]
}


def bare(nodes: int, difficulty: int) -> float:
    command = default_node_command()
    with tempfile.TemporaryDirectory(prefix="bench-bare-") as tmp:
        began = time.perf_counter()
        procs = []
        for i in range(nodes):
            log = open(Path(tmp) / f"n{i}.log", "wb")  # noqa: SIM115
            args = [*command, "--port", "0", "--name", f"n{i}", "--data-dir", f"{tmp}/n{i}",
                    "--difficulty", str(difficulty), "--watch-parent"]  # fmt: skip
            procs.append(
                subprocess.Popen(
                    args,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
            log.close()
        pending = set(range(nodes))
        session = requests.Session()
        while pending:
            for i in list(pending):
                found = re.search(r"serving on (\S+)", (Path(tmp) / f"n{i}.log").read_text())
                if not found:
                    continue
                try:
                    if session.get(found.group(1) + "/status", timeout=1).ok:
                        pending.discard(i)
                except requests.RequestException:
                    pass
            if procs and any(p.poll() is not None for p in procs):
                raise SystemExit("a bare node died")
            time.sleep(0.01)
        elapsed = time.perf_counter() - began
        for p in procs:
            os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            p.wait(10)
        return elapsed


def lab(nodes: int, difficulty: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory(prefix="bench-lab-") as tmp:
        cfg = parse_config({"lab": {"nodes": nodes, "base_port": 0, "difficulty": difficulty,
                                    "data_dir": tmp}})  # fmt: skip
        the_lab = Lab(cfg)
        try:
            began = time.perf_counter()
            the_lab.start()
            started = time.perf_counter() - began
            report = Runner(the_lab, parse_script(SCRIPT), io.StringIO()).run()
            elapsed = time.perf_counter() - began
            if not report.ok:
                raise SystemExit("the scripted run failed")
            return started, elapsed
        finally:
            the_lab.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=20)
    parser.add_argument("--difficulty", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    bares, starts, labs = [], [], []
    for _ in range(args.repeat):
        bares.append(bare(args.nodes, args.difficulty))
        started, total = lab(args.nodes, args.difficulty)
        starts.append(started)
        labs.append(total)
    b, s, t = (statistics.median(x) for x in (bares, starts, labs))
    print(f"{args.nodes} nodes, difficulty {args.difficulty}, median of {args.repeat} "
          f"on {os.cpu_count()} CPUs")  # fmt: skip
    print(f"  bare start (spawn + every node answers):    {b:6.2f}s")
    print(f"  lab start only:                              {s:6.2f}s")
    print(f"  lab start + connect, mine, round, expect:    {t:6.2f}s  ({t / b:.2f} x bare)")
    verdict = "OK" if t <= 1.5 * b else "OVER TARGET"
    print(f"  target lab <= 1.5 x bare: {verdict}")
    sys.exit(0 if t <= 1.5 * b else 1)


if __name__ == "__main__":
    main()
