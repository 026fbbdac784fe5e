"""One consensus round on 8 fully connected nodes at chain length 300: full
against incremental sync. Prints the bytes peers served and the wall time.

    .venv/bin/python benchmarks/bench_sync.py [--nodes 8] [--length 300] [--rounds 5]

Target (issue 2): incremental moves at most 1% of full's bytes in at most 30% of its time.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

URL_RE = re.compile(r"serving on (http://\S+) ")


def start_nodes(n: int, sync: str, folder: Path) -> tuple[list[subprocess.Popen], list[str]]:
    procs, urls = [], []
    for i in range(n):
        log = folder / f"{sync}{i}.log"
        with open(log, "wb") as out:
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "becoin_core", "--port", "0", "--memory",
                 "--difficulty", "1", "--sync", sync, "--name", f"n{i}"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True))
    for i in range(n):
        log = folder / f"{sync}{i}.log"
        deadline = time.monotonic() + 20
        while not (m := URL_RE.search(log.read_text())):
            if time.monotonic() > deadline:
                raise SystemExit(f"node {i} did not start: {log.read_text()}")
            time.sleep(0.05)
        urls.append(m.group(1))
    return procs, urls


def one_round(urls: list[str], rounds: int, workers: int) -> tuple[int, float]:
    """Mine one block on the first node, then replace_chain on every other node,
    `workers` at a time (1: one after the other, as the blog's reader does)."""
    session = requests.Session()
    byte_counts, times = [], []
    with ThreadPoolExecutor(workers) as pool:
        for _ in range(rounds):
            session.get(urls[0] + "/mine_block", timeout=60)
            started = time.perf_counter()
            answers = list(pool.map(
                lambda u: requests.get(u + "/replace_chain", timeout=120).json(), urls[1:]))
            times.append(time.perf_counter() - started)
            byte_counts.append(sum(p.get("bytes", 0) for a in answers for p in a["peers"]))
            assert all("new_chain" in a for a in answers), "a node did not adopt the new block"
    return int(statistics.median(byte_counts)), statistics.median(times)


def measure(sync: str, n: int, length: int, rounds: int, folder: Path) -> dict[str, tuple]:
    procs, urls = start_nodes(n, sync, folder)
    try:
        s = requests.Session()
        for u in urls:
            s.post(u + "/connect_node", json={"nodes": [v for v in urls if v != u]}, timeout=30)
        for i in range(length - 1):
            s.post(urls[0] + "/add_transaction",
                   json={"sender": "PublicKeya", "receiver": "PublicKeyb", "amount": i + 1},
                   timeout=30)
            s.get(urls[0] + "/mine_block", timeout=60)
        for u in urls[1:]:
            s.get(u + "/replace_chain", timeout=120)
        assert all(s.get(u + "/status").json()["length"] == length for u in urls)
        return {"one after the other": one_round(urls, rounds, 1),
                "all at once": one_round(urls, rounds, len(urls))}
    finally:
        for p in procs:
            os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            p.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=8)
    parser.add_argument("--length", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = {mode: measure(mode, args.nodes, args.length, args.rounds, Path(tmp))
                   for mode in ("full", "incremental")}
    print(f"{args.nodes} nodes, chain length {args.length}, one consensus round: replace_chain "
          f"on the {args.nodes - 1} nodes that did not mine (median of {args.rounds})")
    for order in ("one after the other", "all at once"):
        (fb, ft), (ib, it) = results["full"][order], results["incremental"][order]
        print(f"  {order}:")
        print(f"    full        {fb:>10,} bytes  {ft * 1000:8.1f} ms")
        print(f"    incremental {ib:>10,} bytes  {it * 1000:8.1f} ms")
        print(f"    incremental/full: {100 * ib / fb:.2f}% of the bytes, "
              f"{100 * it / ft:.1f}% of the time  (targets: <= 1%, <= 30%)")


if __name__ == "__main__":
    main()
