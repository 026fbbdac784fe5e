"""Snapshots of the lab's screens at 80x24 and 160x45, against real nodes.

Nodes run with --fixed-clock and a name-derived address (tests/ui/fixed_node.py) and the app
hides ports (redact_urls), so every run draws the same screen.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input
from uitools import make_app, settled, until

from becoin_lab.lab import Lab

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 45), id="160x45")]


async def steps(pilot, *keys: str, lengths: dict[str, int] | None = None, first=True) -> None:
    """Wait for every node, press each key and wait until the app is idle again."""
    app = pilot.app
    if first:
        await until(pilot, lambda: settled(app, {n: 1 for n in app.names}), what="first polls")
    for key in keys:
        before = len(app.log_pane.lines)
        await pilot.press(key)
        if key in "cmrvpkshfb":  # keys that log
            await until(pilot, lambda b=before: len(app.log_pane.lines) > b, what=f"{key} logged")
        await until(pilot, lambda: settled(app), what=f"{key} done")
    if lengths:
        await until(pilot, lambda: settled(app, lengths), what=f"lengths {lengths}")


def no_blink(app) -> None:
    for widget in app.screen.query(Input):
        widget.cursor_blink = False


@pytest.mark.parametrize("size", SIZES)
def test_start_screen(snap_compare, lab: Lab, tmp_path: Path, size):
    async def run_before(pilot):
        await steps(pilot)

    assert snap_compare(make_app(lab, tmp_path), run_before=run_before, terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_after_connect(snap_compare, lab: Lab, tmp_path: Path, size):
    async def run_before(pilot):
        await steps(pilot, "c")
        await until(pilot, lambda: all(len(s.peers) == 2 for s in pilot.app.states.values()))

    assert snap_compare(make_app(lab, tmp_path), run_before=run_before, terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_diverged_after_mining(snap_compare, lab: Lab, tmp_path: Path, size):
    """node1 and node2 each mine block 2: a fork at block 2, node3 behind."""

    async def run_before(pilot):
        await steps(pilot, "m", "2", "m", lengths={"node1": 2, "node2": 2, "node3": 1})

    assert snap_compare(make_app(lab, tmp_path), run_before=run_before, terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_after_consensus_round(snap_compare, lab: Lab, tmp_path: Path, size):
    async def run_before(pilot):
        await steps(pilot, "c", "m", "m", "r", lengths={"node1": 3, "node2": 3, "node3": 3})
        await until(pilot, lambda: pilot.app.network.complete, what="agreement")

    assert snap_compare(make_app(lab, tmp_path), run_before=run_before, terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_transaction_form(snap_compare, lab: Lab, tmp_path: Path, size):
    """The form after a send with a bad amount: nothing sent, the problem named."""

    async def run_before(pilot):
        await steps(pilot)
        await pilot.press("t")
        await pilot.pause(0.1)
        no_blink(pilot.app)
        await pilot.press(*"Alice", "enter", *"Bob", "enter", *"five", "enter")
        await pilot.pause()

    assert snap_compare(make_app(lab, tmp_path), run_before=run_before, terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare, lab: Lab, tmp_path: Path, size):
    async def run_before(pilot):
        await steps(pilot, "question_mark")
        await pilot.pause(0.1)

    assert snap_compare(make_app(lab, tmp_path), run_before=run_before, terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_node_down(snap_compare, lab: Lab, tmp_path: Path, size):
    async def run_before(pilot):
        await steps(pilot, "m", lengths={"node1": 2})
        lab.kill_node("node3")
        await until(pilot, lambda: not pilot.app.states["node3"].up, what="node3 shown down")
        await steps(pilot, "3", first=False)

    assert snap_compare(make_app(lab, tmp_path), run_before=run_before, terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_partitioned(snap_compare, lab: Lab, tmp_path: Path, size):
    """node1 cut off (p), mines block 2; a consensus round cannot carry it across the cut."""

    async def run_before(pilot):
        await steps(pilot, "c", "p", "m", "r", lengths={"node1": 2, "node2": 1, "node3": 1})
        await until(pilot, lambda: pilot.app.sides == [["node1"], ["node2", "node3"]])
        await until(pilot, lambda: all(p.side for p in pilot.app.panels), what="sides shown")

    assert snap_compare(make_app(lab, tmp_path), run_before=run_before, terminal_size=size)


async def strict_history(pilot, lab: Lab) -> None:
    """node1 mines for alice, alice pays bob 5 (signed), two more blocks; node2 and the
    forger take the chain: every node at height 4, alice 25, bob 5."""
    await steps(pilot, "c", "m", lengths={"node1": 2})
    lab.add_transaction("node1", receiver="bob", amount=5, wallet="alice")
    await steps(pilot, "m", "m", "r", first=False, lengths={"node1": 4, "node2": 4, "forger": 4})


def test_balances(snap_compare, strict_lab: Lab, tmp_path: Path):
    """Strict rules, wallets in every panel; node1 mined on alone: its balances differ (≠)."""

    async def run_before(pilot):
        await strict_history(pilot, strict_lab)
        await steps(pilot, "m", "b", first=False, lengths={"node1": 5})
        await until(pilot, lambda: len(pilot.app.log_pane.lines) >= 14, what="balances logged")

    app = make_app(strict_lab, tmp_path)
    assert snap_compare(app, run_before=run_before, terminal_size=(160, 45))


def test_forged_chain_refused(snap_compare, strict_lab: Lab, tmp_path: Path):
    """The forger rewrites block 3 (marked !); after a round the honest nodes keep theirs."""

    async def run_before(pilot):
        app = pilot.app
        await strict_history(pilot, strict_lab)
        await steps(pilot, "3", "f", first=False, lengths={"forger": 5})
        await until(pilot, lambda: app.panel("forger")._marks[2:] == ["!", "!", "!"])
        await steps(pilot, "r", first=False)
        await until(pilot, lambda: "refused: only forger" in str(app.banner.render()))

    app = make_app(strict_lab, tmp_path)
    assert snap_compare(app, run_before=run_before, terminal_size=(160, 45))
