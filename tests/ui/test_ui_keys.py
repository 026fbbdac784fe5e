"""Pilot tests against real nodes: each key, its effect checked through the nodes' own API."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from textual.widgets import Input, Static
from uitools import NAMES, api, log_text, make_app, settled, until

from becoin_lab.lab import Lab
from becoin_lab.screens import BlockScreen, HelpScreen, TransactionScreen


async def ready(pilot) -> None:
    await until(pilot, lambda: settled(pilot.app, {n: 1 for n in NAMES}), what="first polls")


async def press(pilot, key: str) -> None:
    app = pilot.app
    before = len(app.log_pane.lines)
    await pilot.press(key)
    await until(pilot, lambda: len(app.log_pane.lines) > before, what=f"{key} logged")
    await until(pilot, lambda: settled(app), what=f"{key} finished")


async def test_connect_mine_consensus_validate(lab: Lab, tmp_path: Path):
    app = make_app(lab, tmp_path)
    async with app.run_test(size=(160, 45)) as pilot:
        await ready(pilot)

        await press(pilot, "c")  # every node knows the two others
        for name in NAMES:
            assert len(api(lab, name, "/status")["peers"]) == 2
        await until(pilot, lambda: all(len(s.peers) == 2 for s in app.states.values()))

        app.action_mine()  # node1 is selected at start; the indicator shows at once
        assert app.panel("node1").mining and app.panel("node1").has_class("-mining")
        assert "mining" in str(app.panel("node1").query_one("#header").render())
        await until(pilot, lambda: not app.panel("node1").mining, what="mining done")
        await until(pilot, lambda: settled(app, {"node1": 2}), what="block 2 shown")
        assert api(lab, "node1", "/get_chain")["length"] == 2
        assert api(lab, "node2", "/get_chain")["length"] == 1
        await until(pilot, lambda: "diverged at block 2: node1 | node2, node3" in str(
            app.banner.render()))  # fmt: skip

        await pilot.press("right")
        assert app.selected_node == "node2"
        await press(pilot, "m")
        await press(pilot, "m")  # node2: 3 blocks, node1 forked at block 2
        assert api(lab, "node2", "/get_chain")["length"] == 3
        await until(pilot, lambda: app.network and app.network.fork_point == 2)
        marks = app.panel("node1")._marks
        assert marks == ["=", "X"], marks

        await press(pilot, "r")  # longest chain wins everywhere
        tips = {api(lab, n, "/status")["tip"] for n in NAMES}
        assert len(tips) == 1
        assert {api(lab, n, "/get_chain")["length"] for n in NAMES} == {3}
        await until(pilot, lambda: "3/3 nodes agree at height 3" in str(app.banner.render()))
        assert app.panel("node1")._marks == ["=", "=", "="]

        await press(pilot, "v")
        await until(pilot, lambda: log_text(app).count("GET /is_valid") == 3)
        for name in NAMES:
            assert api(lab, name, "/is_valid")["message"] in log_text(app)


async def test_transaction_form_posts_to_selected_node(lab: Lab, tmp_path: Path):
    app = make_app(lab, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("3")
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, TransactionScreen))
        form = app.screen
        assert form.node == "node3"

        await pilot.press("enter", "enter", "enter")  # empty fields: checked, nothing sent
        answer = form.query_one("#answer", Static)
        assert "not sent" in str(answer.render())
        assert app.focused is form.query_one("#sender", Input)  # the first field to fix
        await pilot.press(*"Alice", "enter", *"Bob", "enter", *"-2", "enter")
        assert "must be more than 0" in str(answer.render())
        assert api(lab, "node3", "/mempool")["transactions"] == []

        amount = form.query_one("#amount", Input)
        amount.value = "5"
        await pilot.click("#send")
        await until(pilot, lambda: "will be added to block 2" in str(answer.render()))
        pool = api(lab, "node3", "/mempool")["transactions"]
        assert pool == [{"sender": "Alice", "receiver": "Bob", "amount": 5}]
        assert api(lab, "node1", "/mempool")["transactions"] == []
        assert "POST /add_transaction 201" in log_text(app)

        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, TransactionScreen))
        await until(pilot, lambda: len(app.states["node3"].mempool) == 1)
        await press(pilot, "m")  # the transaction goes into node3's block 2
        block = api(lab, "node3", "/get_chain")["chain"][1]
        assert {"sender": "Alice", "receiver": "Bob", "amount": 5} in block["transactions"]

        await pilot.press("enter")  # the highlighted (tip) block, shown whole
        await until(pilot, lambda: isinstance(app.screen, BlockScreen))
        assert app.screen.block == block
        await pilot.press("escape")


async def test_selection_help_screenshot_and_quit(lab: Lab, tmp_path: Path):
    app = make_app(lab, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        assert app.selected_node == "node1"
        for key, expected in [("right", "node2"), ("right", "node3"), ("right", "node1"),
                              ("left", "node3"), ("tab", "node1"), ("shift+tab", "node3"),
                              ("2", "node2"), ("1", "node1"), ("9", "node1")]:  # fmt: skip
            await pilot.press(key)
            assert app.selected_node == expected, key
            assert app.panel(expected).has_class("-selected")
        await pilot.click("#panel-node2")
        await pilot.pause()
        assert app.selected_node == "node2"

        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, HelpScreen))

        await pilot.press("ctrl+s")
        await until(pilot, lambda: list(tmp_path.glob("*.svg")))
        assert "<svg" in next(tmp_path.glob("*.svg")).read_text()

        await pilot.press("q")
        await until(pilot, lambda: app._exit_renderables is not None or not app.is_running)
    assert app.return_code == 0


async def test_node_killed_from_outside_shows_down_and_lab_goes_on(lab: Lab, tmp_path: Path):
    app = make_app(lab, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        os.kill(lab.supervisor.pid("node3"), signal.SIGKILL)
        await until(pilot, lambda: not app.states["node3"].up, what="node3 down")
        assert app.panel("node3").has_class("-down")
        await until(pilot, lambda: "node3  process exited" in log_text(app), what="death logged")
        await until(pilot, lambda: "node3 down" in str(app.banner.render()))

        await press(pilot, "c")  # the two live nodes still connect
        assert len(api(lab, "node1", "/status")["peers"]) == 1
        await press(pilot, "m")
        await press(pilot, "r")
        assert "node3  replace_chain skipped down" in log_text(app)
        assert {api(lab, n, "/get_chain")["length"] for n in ("node1", "node2")} == {2}
        await until(pilot, lambda: "2/3 nodes agree at height 2 (node3 down)" in str(
            app.banner.render()))  # fmt: skip

        lab.start_node("node3")  # back up: the panel follows
        await until(pilot, lambda: app.states["node3"].up, what="node3 up again")
        assert not app.panel("node3").has_class("-down")
        assert app.is_running


async def test_command_palette_lists_every_action(lab: Lab, tmp_path: Path):
    app = make_app(lab, tmp_path)
    async with app.run_test(size=(160, 45)) as pilot:
        await ready(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for title in ("Connect all nodes", "Mine a block", "Post a transaction",
                      "Consensus round", "Validate chains", "Keys and endpoints",
                      "Save SVG screenshot", "Select node2"):  # fmt: skip
            assert title in titles
        command = next(c for c in app.get_system_commands(app.screen) if c.title == "Mine a block")
        command.callback()
        await until(pilot, lambda: api(lab, "node1", "/status")["length"] == 2)
