"""The TUI with 10 nodes of 2,000 blocks each: time from a node's new data arriving at the
app to the change being on screen, measured through run_test().

    .venv/bin/python benchmarks/bench_tui.py [--nodes 10] [--length 2000] [--rounds 40]

Snapshots are fed straight to the app (LabApp.apply_state, which is what each panel's poll
worker delivers), so the figure is the UI's own cost: diff, banner, in-place row updates,
layout and the screen refresh. A change is "on screen" at the end of the last compositor
refresh before the app goes idle again (the frame written to the terminal); the last change
is also checked against an exported screenshot (not timed).
Target (issue 4): a change shows within 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from becoin_core.chain import block_hash
from becoin_lab.app import LabApp
from becoin_lab.config import parse_config
from becoin_lab.lab import Lab, NodeState


def make_chain(length: int, salt: str = "", start: list | None = None) -> list[dict]:
    chain = list(start or [])
    while len(chain) < length:
        i = len(chain) + 1
        prev = block_hash(chain[-1]) if chain else "0"
        chain.append(
            {
                "index": i,
                "timestamp": f"2026-01-01 {salt}{i}",
                "nonce": i * 7,
                "previous_hash": prev,
                "transactions": [{"sender": salt or "lab", "receiver": "R", "amount": 10}],
            }
        )
    return chain


def state(name: str, chain: list[dict], hashes: list[str] | None = None) -> NodeState:
    hashes = hashes or [block_hash(b) for b in chain]
    return NodeState(
        name,
        f"http://127.0.0.1:{7000 + int(name[4:])}",
        True,
        tuple(chain),
        tuple(hashes),
        (),
        (),
        "",
    )


async def bench(nodes: int, length: int, rounds: int) -> dict[str, list[float]]:
    config = parse_config({"lab": {"nodes": nodes, "base_port": 7001, "difficulty": 1}})
    lab = Lab(config)
    lab.started = True  # nothing to start: the snapshots are fed in
    app = LabApp(lab, poll=False)
    base = make_chain(length)
    hashes = [block_hash(b) for b in base]
    names = lab.names
    timings: dict[str, list[float]] = {
        "first load (all nodes)": [],
        "new block on one node": [],
        "fork (3 blocks replaced)": [],
        "consensus (every node)": [],
    }
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        frames: list[float] = []
        screen = app.screen
        refresh = screen._compositor_refresh

        def timed_refresh() -> None:
            refresh()
            frames.append(time.perf_counter())

        screen._compositor_refresh = timed_refresh  # type: ignore[method-assign]

        async def on_screen(t0: float) -> float:
            """Seconds from t0 to the last frame drawn before the app is idle again."""
            await pilot.pause()
            drawn = [f for f in frames if f > t0]
            return (drawn[-1] if drawn else time.perf_counter()) - t0

        t0 = time.perf_counter()
        for name in names:
            app.apply_state(state(name, base, hashes))
        timings["first load (all nodes)"].append(await on_screen(t0))
        assert all(len(p.table.rows) == length for p in app.panels)

        chains = {n: list(base) for n in names}
        for r in range(rounds):
            name = names[r % len(names)]
            chains[name] = make_chain(len(chains[name]) + 1, start=chains[name])
            new = state(name, chains[name])
            t0 = time.perf_counter()
            app.apply_state(new)
            timings["new block on one node"].append(await on_screen(t0))
            assert len(app.panel(name).table.rows) == len(chains[name])

            forked = make_chain(len(chains[name]), salt=f"f{r}-", start=chains[name][:-3])
            chains[name] = forked
            t0 = time.perf_counter()
            app.apply_state(state(name, forked))
            timings["fork (3 blocks replaced)"].append(await on_screen(t0))
            assert app.network is not None and not app.network.consensus

            if r % 10 == 9:  # everybody adopts the longest chain
                best = max(chains.values(), key=len)
                best_hashes = [block_hash(b) for b in best]
                t0 = time.perf_counter()
                for n in names:
                    app.apply_state(state(n, best, best_hashes))
                    chains[n] = list(best)
                timings["consensus (every node)"].append(await on_screen(t0))
                assert app.network.complete

        # Untimed check that the last change really is what the screen shows.
        shot = app.export_screenshot()
        tip = best_hashes[-1][:6]
        assert tip in shot, "the new tip is not on screen"
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=10)
    parser.add_argument("--length", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    timings = asyncio.run(bench(args.nodes, args.length, args.rounds))
    print(f"becoin-lab TUI: {args.nodes} nodes x {args.length} blocks, terminal 200x50")
    changes: list[float] = []
    for what, values in timings.items():
        ms = sorted(v * 1000 for v in values)
        if what != "first load (all nodes)":
            changes += ms
        p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
        print(
            f"  {what:<28} median {statistics.median(ms):7.1f} ms   p95 {p95:7.1f} ms"
            f"   max {ms[-1]:7.1f} ms   ({len(ms)} runs)"
        )
    changes.sort()
    median = statistics.median(changes)
    p95 = changes[min(len(changes) - 1, int(len(changes) * 0.95))]
    verdict = "ok" if p95 <= 100 else "OVER"
    print(
        f"data arriving -> change on screen: median {median:.1f} ms, p95 {p95:.1f} ms "
        f"(target 100 ms: {verdict})"
    )


if __name__ == "__main__":
    main()
