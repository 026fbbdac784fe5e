"""Pilot tests of the fault, autopilot and forger keys: each effect checked through the nodes'
own API (or the lab's processes), not through what the app draws."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from textual.widgets import Input, Select
from uitools import NAMES, STRICT_NAMES, api, log_text, make_app, settled, until

from becoin_lab.lab import Lab
from becoin_lab.screens import LatencyScreen, PartitionScreen, TransactionScreen


def said(app, words: str) -> bool:
    """Whether the log holds ``words``, however the pane wrapped its lines."""
    flat = " ".join(" ".join(line.text.split()) for line in app.log_pane.lines)
    return " ".join(words.split()) in flat


def header(app, name: str) -> str:
    return str(app.panel(name).query_one("#header").render())


async def press(pilot, key: str, logged: int = 1) -> None:
    """Press a key; wait until it logged ``logged`` lines and no action runs."""
    app = pilot.app
    before = len(app.log_pane.lines)
    await pilot.press(key)
    await until(pilot, lambda: len(app.log_pane.lines) >= before + logged, what=f"{key} logged")
    await until(pilot, lambda: settled(app), what=f"{key} finished")


async def test_stop_start_kill_restart(lab: Lab, tmp_path: Path):
    app = make_app(lab, tmp_path)
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: settled(app, {n: 1 for n in NAMES}), what="first polls")
        await press(pilot, "m")
        before = api(lab, "node1", "/get_chain")["chain"]
        assert len(before) == 2

        await press(pilot, "k")  # stop: the process ends, the panel shows it down
        assert not lab.supervisor.is_running("node1")
        with pytest.raises(requests.ConnectionError):
            api(lab, "node1", "/status")
        await until(pilot, lambda: not app.states["node1"].up, what="node1 shown down")
        assert app.panel("node1").has_class("-down") and "DOWN" in header(app, "node1")
        assert "node1  stop (SIGTERM) done" in log_text(app)
        assert "process exited" not in log_text(app)  # asked for: not reported as a death

        await press(pilot, "s")  # start: back, with the chain it had on disk
        assert api(lab, "node1", "/get_chain")["chain"] == before
        await until(pilot, lambda: app.states["node1"].up, what="node1 up again")
        assert not app.panel("node1").has_class("-down")

        await pilot.press("2")
        app.action_kill_node()  # palette only: SIGKILL
        await until(pilot, lambda: "node2  kill (SIGKILL) done" in log_text(app))
        assert not lab.supervisor.is_running("node2")
        await until(pilot, lambda: not app.states["node2"].up, what="node2 shown down")
        app.action_restart_node()
        await until(pilot, lambda: "node2  restart" in log_text(app), what="restart logged")
        assert api(lab, "node2", "/get_chain")["length"] == 1
        await until(pilot, lambda: app.states["node2"].up, what="node2 up again")

        await press(pilot, "s")  # already running: an error in the log, the app goes on
        assert "already running" in log_text(app) and app.is_running


async def test_partition_heal_automine_latency_traffic(lab: Lab, tmp_path: Path):
    app = make_app(lab, tmp_path)
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: settled(app, {n: 1 for n in NAMES}), what="first polls")
        await press(pilot, "c")
        await press(pilot, "m")  # node1: 2 blocks, the others 1

        await press(pilot, "p")  # node1 alone | node2, node3
        assert lab.partition_groups == [["node1"], ["node2", "node3"]]
        replaced = lab.client("node2").replace_chain()  # node1's longer chain is out of reach
        assert not replaced.replaced and api(lab, "node2", "/get_chain")["length"] == 1
        outcomes = {lab._netloc_owners()[o["peer"]]: o for o in replaced.peers.values()}
        assert outcomes["node1"]["outcome"] == "failed"
        assert "partitioned" in outcomes["node1"]["detail"]
        assert outcomes["node3"]["outcome"] != "failed"
        back = lab.client("node1").replace_chain().peers.values()  # and neither way
        assert [o["outcome"] for o in back] == ["failed", "failed"]
        await until(pilot, lambda: app.sides == [["node1"], ["node2", "node3"]])
        await until(pilot, lambda: "side A" in header(app, "node1"), what="side A shown")
        await until(pilot, lambda: "side B" in header(app, "node3"), what="side B shown")
        assert "cut A: node1 | B: node2, node3" in str(app.banner.render())

        await press(pilot, "h")  # healed: one round and node1's chain wins everywhere
        assert lab.partition_groups == []
        await press(pilot, "r", logged=3)
        assert {api(lab, n, "/get_chain")["length"] for n in NAMES} == {2}
        await until(pilot, lambda: not app.sides and "side" not in header(app, "node1"))

        # a partition from the form: groups typed
        app.action_partition()
        await until(pilot, lambda: isinstance(app.screen, PartitionScreen))
        app.screen.query_one("#groups", Input).value = "node1 node2 | node3"
        await pilot.press("enter")
        await until(pilot, lambda: lab.partition_groups == [["node1", "node2"], ["node3"]])
        await until(pilot, lambda: "side B" in header(app, "node3"), what="form's sides shown")
        await press(pilot, "h")

        await press(pilot, "a")  # automine on node1, every 2 s
        assert api(lab, "node1", "/status")["automine"] == 2.0
        await until(pilot, lambda: "auto 2s" in header(app, "node1"), what="automine shown")
        await press(pilot, "a")
        assert api(lab, "node1", "/status")["automine"] is None
        await until(pilot, lambda: "auto" not in header(app, "node1"))

        await pilot.press("3", "l")  # latency on node3 from the form
        await until(pilot, lambda: isinstance(app.screen, LatencyScreen))
        app.screen.query_one("#ms", Input).value = "250"
        app.screen.query_one("#loss", Input).value = "0.5"
        await pilot.press("enter", "enter")
        await until(pilot, lambda: lab.faults("node3").latency_ms == 250)
        assert lab.faults("node3").loss == 0.5
        await until(pilot, lambda: "lag 250ms loss 50%" in header(app, "node3"))

        await press(pilot, "g")  # traffic on: transactions arrive, the banner says so
        assert lab.traffic_stats().running
        await until(pilot, lambda: "traffic 2/s" in str(app.banner.render()))
        await press(pilot, "g")
        assert not lab.traffic_stats().running
        await until(pilot, lambda: "traffic" not in str(app.banner.render()))


async def test_signed_transaction_forge_refused_under_strict(strict_lab: Lab, tmp_path: Path):
    lab = strict_lab
    app = make_app(lab, tmp_path)
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: settled(app, {n: 1 for n in STRICT_NAMES}), what="first polls")
        assert app.wallet_keys.keys() == {"alice", "bob", "mallory"}
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for title in ("Stop the node", "Start the node", "Kill the node (SIGKILL)",
                      "Restart the node", "Partition: isolate the selected node",
                      "Partition into groups…", "Heal the partition", "Latency and loss…",
                      "Toggle automining", "Toggle traffic", "Forge with forger",
                      "Show balances"):  # fmt: skip
            assert title in titles
        await press(pilot, "c")
        await press(pilot, "m")  # node1 mines for alice: 10

        await pilot.press("t")  # the form signs as alice by default (strict rules)
        await until(pilot, lambda: isinstance(app.screen, TransactionScreen))
        form = app.screen
        assert form.query_one("#wallet", Select).value == "alice"
        assert form.query_one("#sender", Input).disabled
        await pilot.press(*"bob", "enter", "5", "enter")
        await until(pilot, lambda: said(app, "(signed by alice)"), what="signed tx logged")
        (tx,) = api(lab, "node1", "/mempool")["transactions"]
        keys = lab.wallet_keys()
        assert (tx["sender"], tx["receiver"], tx["amount"]) == (keys["alice"], keys["bob"], 5)
        assert tx["signature"] and tx["sequence"] == 1
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, TransactionScreen))

        await press(pilot, "m")
        await press(pilot, "m")
        await press(pilot, "r", logged=3)
        honest = api(lab, "node1", "/get_chain")["chain"]
        assert len(honest) == 4
        await until(pilot, lambda: settled(app, {n: 4 for n in STRICT_NAMES}))
        panel = app.panel("node1")
        assert "alice 25" in str(panel.query_one("#extra").render())

        assert app.check_action("forge", ()) is None  # f is disabled on an honest node
        await press(pilot, "f", logged=0)
        assert lab.forgery is None
        await pilot.press("3")
        assert app.check_action("forge", ()) is True
        await press(pilot, "f")
        assert lab.forgery is not None and lab.forgery.result.changed == [3, 4, 5]
        assert said(app, "rewrote block 3 of node1's chain")
        await until(pilot, lambda: app.panel("forger")._marks[2:] == ["!", "!", "!"])

        await press(pilot, "r", logged=3)  # strict: the honest nodes refuse it, keep theirs
        assert api(lab, "node1", "/get_chain")["chain"] == honest
        assert api(lab, "node2", "/get_chain")["length"] == 4
        assert "node1  GET /replace_chain 200" in log_text(app)
        assert said(app, "refused forger's chain: block 3")
        await until(pilot, lambda: "forged chain refused: only forger holds it" in str(
            app.banner.render()))  # fmt: skip
        assert "!" not in app.panel("node1")._marks
