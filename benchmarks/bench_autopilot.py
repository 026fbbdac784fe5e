"""A 10-node network under autopilot: no transaction lost, and how fast it agrees at the end.

    .venv/bin/python benchmarks/bench_autopilot.py [--seconds 60] [--nodes 10] [--every 3]
        [--rate 20] [--difficulty 3]

Ten nodes, full mesh, broadcast propagation (a node announces each block it mines or adopts;
its peers sync from it: no consensus rounds while it runs). Every node automines a block
every --every seconds, the nodes' timers staggered evenly over that period, so the network
makes a block every every/nodes seconds; the lab's traffic generator posts --rate random
transactions a second, each to a random node. After --seconds everything stops and we
measure:

- transactions: acknowledged by a node (HTTP 201) against those found in the agreed chain or
  in some node's mempool at the end. Target: none lost.
- after the stop: whether the nodes agreed by themselves, and how long after the last
  automined block (from its timestamp; the nodes' clock is this machine's). When two nodes
  mined the last height at once, the tie never resolves by itself (equal lengths: nobody
  adopts); the benchmark says so and runs one consensus round.
- last block -> consensus: then the lab mines --repeat more blocks, one at a time on
  different nodes, each timed from the mine call until every node's tip is that block
  (polled every 20 ms), by broadcast alone.
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from becoin_lab.config import parse_config
from becoin_lab.lab import Lab

POLL = 0.02


def tips(lab: Lab, pool: ThreadPoolExecutor) -> dict[str, tuple[int, str]]:
    statuses = pool.map(lambda n: lab.clients[n].status(), lab.names)
    return {n: (s.length, s.tip) for n, s in zip(lab.names, statuses, strict=True)}


def wait_consensus(
    lab: Lab, pool: ThreadPoolExecutor, quiet: float, timeout: float
) -> tuple[float | None, float, dict[str, tuple[int, str]]]:
    """Poll tips until all agree. Returns (wall time consensus was first seen, or None;
    monotonic time of the last tip change; the tips)."""
    began = time.monotonic()
    seen = tips(lab, pool)
    last_change = began
    while True:
        now = time.monotonic()
        if len(set(seen.values())) == 1:
            return time.time(), last_change, seen
        if now - last_change > quiet or now - began > timeout:
            return None, last_change, seen
        time.sleep(POLL)
        current = tips(lab, pool)
        if current != seen:
            last_change = time.monotonic()
            seen = current


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="autopilot time (60)")
    parser.add_argument("--nodes", type=int, default=10)
    parser.add_argument("--every", type=float, default=3.0, help="seconds between one node's "
                        "automined blocks (3)")  # fmt: skip
    parser.add_argument("--rate", type=float, default=20.0, help="transactions a second (20)")
    parser.add_argument("--difficulty", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=5, help="timed last blocks (5)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-autopilot-") as tmp:
        config = parse_config({
            "lab": {"nodes": args.nodes, "base_port": 0, "difficulty": args.difficulty,
                    "propagation": "broadcast", "stop_grace": 2},
        }, path=Path(tmp) / "lab.toml")  # fmt: skip
        lab = Lab(config, data_dir=Path(tmp) / "data")
        pool = ThreadPoolExecutor(max_workers=args.nodes)
        try:
            began = time.monotonic()
            lab.start()
            lab.connect()
            print(f"{args.nodes} nodes up and connected (full mesh, broadcast) in "
                  f"{time.monotonic() - began:.2f}s")  # fmt: skip
            lab.mine("node1")
            if wait_consensus(lab, pool, quiet=5, timeout=10)[0] is None:
                raise SystemExit("the first block did not spread")

            stagger = args.every / args.nodes
            for name in lab.names:  # evenly spread timers: one block per `stagger` seconds
                lab.automine(name, every=args.every)
                time.sleep(stagger)
            lab.traffic(rate=args.rate, seed=1)
            print(f"autopilot: every node mines every {args.every:g}s (staggered: a block "
                  f"every {stagger:.2f}s network-wide), {args.rate:g} transactions/s, for "
                  f"{args.seconds:g}s")  # fmt: skip
            run_began = time.monotonic()
            most_chains = 1
            while time.monotonic() - run_began < args.seconds:
                time.sleep(min(1.0, args.seconds))
                most_chains = max(most_chains, len(set(tips(lab, pool).values())))
            traffic = lab.traffic(on=False)
            lab.automine("all", on=False)
            stopped, stopped_wall = time.monotonic(), time.time()

            agreed_at, _, final = wait_consensus(lab, pool, quiet=3.0, timeout=30)
            if agreed_at is not None:
                # The last automined block's own timestamp (the nodes' clock is ours).
                name = lab.names[0]
                tip_block = lab.clients[name].get_chain(since=final[name][0] - 1).blocks[-1]
                mined_at = datetime.datetime.fromisoformat(tip_block["timestamp"]).timestamp()
                natural = f"one chain {(agreed_at - mined_at) * 1000:.0f} ms after the last block"
                if agreed_at - stopped_wall < 0.1:  # the first poll: it was over before we looked
                    natural = (f"already one chain at the first poll after the stop (<= "
                               f"{(agreed_at - mined_at) * 1000:.0f} ms after the last block)")
            else:
                lengths = sorted({length for length, _ in final.values()}, reverse=True)
                natural = (f"a tie at the top ({len(set(final.values()))} chains, lengths "
                           f"{lengths}) 3 s after the last block: settled by one consensus round")
                lab.replace_chain()
            # The measured last blocks: one more block, timed from its mining until every
            # node holds it, by broadcast alone (a few times, for a median).
            timings = []
            for i in range(args.repeat):
                miner = lab.names[i % len(lab.names)]
                mined = time.time()
                lab.mine(miner)
                agreed_at, _, final = wait_consensus(lab, pool, quiet=10, timeout=30)
                if agreed_at is None:
                    raise SystemExit(f"no consensus after a block from {miner}")
                timings.append((agreed_at - mined) * 1000)
            settle = (f"median {statistics.median(timings):.0f} ms, max {max(timings):.0f} ms "
                      f"over {len(timings)} blocks (mine call to all {args.nodes} tips equal)")

            snap = lab.snapshot()
            d = snap.diff()
            lost = lab.lost(snap)
            chain = snap[d.groups[0][0]].chain
            in_chain = sum(len(b["transactions"]) - 1 for b in chain[1:])
            in_pools = sum(len(s.mempool) for s in snap)
            acked = len(lab.ledger)
            print()
            print(f"ran {stopped - run_began:.1f}s; chain length {len(chain)}, at most "
                  f"{most_chains} different tips at one sample (forks)")  # fmt: skip
            print(f"transactions posted     {traffic.posted} ({traffic.failed} refused or "
                  f"unanswered, retried elsewhere)")  # fmt: skip
            print(f"  acknowledged (201)    {acked}")
            print(f"  in the agreed chain   {in_chain}")
            print(f"  in mempools           {in_pools}")
            print(f"  lost                  {len(lost)}" + ("  (target 0: met)" if not lost
                                                            else "  (target 0: MISSED)"))
            print(f"after the stop          {natural}")
            print(f"last block -> consensus {settle}")
            print(f"consensus on {len(snap.up)} of {args.nodes} nodes: {d.consensus}")
            for x in lost[:10]:
                print(f"  lost: {x.tx} acknowledged by {x.node}")
        finally:
            pool.shutdown()
            lab.close()


if __name__ == "__main__":
    main()
